// End-to-end: the real `pagoda serve` on a loopback port, driven by the
// official `openai` npm client. PAGODA_BIN is the pagoda binary and
// PAGODA_MODEL the model ("" = the built-in demo model); see run.sh.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import net from 'node:net';
import OpenAI from 'openai';

const BIN = process.env.PAGODA_BIN;
const MODEL = process.env.PAGODA_MODEL || '';
const NAME = 'e2e-model';
const modelArgs = MODEL ? [MODEL] : [];

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Starts `pagoda serve` and resolves once it prints its listening address.
async function startServer(extraArgs = []) {
  const port = await freePort();
  const args = ['serve', ...modelArgs, '--host', '127.0.0.1', '--port', String(port),
    '--served-model-name', NAME, '--threads', '1', ...extraArgs];
  const proc = spawn(BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${log}`)), 60000);
    proc.stderr.on('data', (d) => {
      log += d.toString();
      if (log.includes('listening on')) { clearTimeout(timer); resolve(); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}:\n${log}`)); });
    proc.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
  return { proc, port, baseURL: `http://127.0.0.1:${port}/v1` };
}

function stopServer(server) {
  return new Promise((resolve) => {
    if (!server || server.proc.exitCode !== null) return resolve();
    server.proc.once('exit', resolve);
    server.proc.kill('SIGTERM');
  });
}

// What `pagoda generate` prints for one greedy prompt.
function generate(prompt, maxTokens) {
  const args = ['generate', ...(MODEL ? ['-m', MODEL] : []), '-p', prompt, '--max-tokens', String(maxTokens),
    '--temperature', '0', '--threads', '1'];
  return execFileSync(BIN, args, { encoding: 'utf8' });
}

async function metric(server, name) {
  const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name + '{') || l.startsWith(name + ' '));
  return line === undefined ? NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
}

let server;
let client;

before(async () => {
  server = await startServer();
  client = new OpenAI({ baseURL: server.baseURL, apiKey: 'unused', maxRetries: 0 });
});

after(async () => { await stopServer(server); });

test('models lists the served name', async () => {
  const models = await client.models.list();
  assert.deepEqual(models.data.map((m) => m.id), [NAME]);
});

test('greedy completion equals pagoda generate', async () => {
  const expected = generate('Once upon a time', 40);
  const r = await client.completions.create({ model: NAME, prompt: 'Once upon a time', max_tokens: 40, temperature: 0 });
  assert.equal(r.choices[0].text, expected);
  assert.equal(r.object, 'text_completion');
  assert.ok(r.usage.prompt_tokens > 0);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
});

test('greedy chat equals pagoda generate', async () => {
  const expected = generate('Once upon a time', 30);
  const r = await client.chat.completions.create({
    model: NAME, messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 30, temperature: 0,
  });
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(r.choices[0].message.content, expected);
});

test('streaming chat with include_usage', async () => {
  const params = { model: NAME, messages: [{ role: 'user', content: 'The little dog' }], max_tokens: 24, temperature: 0 };
  const whole = await client.chat.completions.create(params);
  const stream = await client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } });
  let text = '';
  let usage = null;
  let finish = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      text += c.delta?.content ?? '';
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.equal(text, whole.choices[0].message.content);
  assert.equal(finish, whole.choices[0].finish_reason);
  assert.deepEqual(usage.completion_tokens, whole.usage.completion_tokens);
  assert.ok('cached_tokens' in usage.prompt_tokens_details);
});

test('streaming completion equals the whole one', async () => {
  const params = { model: NAME, prompt: 'Tim and Sam', max_tokens: 20, temperature: 0 };
  const whole = await client.completions.create(params);
  const stream = await client.completions.create({ ...params, stream: true });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
  assert.equal(text, whole.choices[0].text);
});

test('n > 1, seeds, logprobs and stop strings', async () => {
  const sampled = await client.completions.create({
    model: NAME, prompt: 'One day', max_tokens: 12, temperature: 1.0, n: 3, seed: 42,
  });
  assert.equal(sampled.choices.length, 3);
  const again = await client.completions.create({
    model: NAME, prompt: 'One day', max_tokens: 12, temperature: 1.0, n: 3, seed: 42,
  });
  assert.deepEqual(again.choices.map((c) => c.text), sampled.choices.map((c) => c.text));

  const lp = await client.chat.completions.create({
    model: NAME, messages: [{ role: 'user', content: 'Hello' }], max_tokens: 5, temperature: 0,
    logprobs: true, top_logprobs: 3,
  });
  const content = lp.choices[0].logprobs.content;
  assert.equal(content.length, lp.usage.completion_tokens);
  for (const entry of content) {
    assert.ok(entry.logprob <= 0);
    assert.equal(entry.top_logprobs.length, 3);
  }
  const legacy = await client.completions.create({ model: NAME, prompt: 'Hello', max_tokens: 4, temperature: 0, logprobs: 2 });
  assert.equal(legacy.choices[0].logprobs.tokens.length, 4);

  const free = await client.completions.create({ model: NAME, prompt: 'Once upon a time', max_tokens: 40, temperature: 0 });
  const words = free.choices[0].text.trim().split(' ');
  const stopWord = ' ' + words[Math.min(3, words.length - 1)];
  const stopped = await client.completions.create({
    model: NAME, prompt: 'Once upon a time', max_tokens: 40, temperature: 0, stop: [stopWord],
  });
  assert.equal(stopped.choices[0].finish_reason, 'stop');
  assert.ok(!stopped.choices[0].text.includes(stopWord));
  assert.ok(free.choices[0].text.startsWith(stopped.choices[0].text));
});

test('errors come back as the client raises them', async () => {
  await assert.rejects(
    client.completions.create({ model: NAME, prompt: 'x', n: 0 }),
    (e) => e instanceof OpenAI.BadRequestError && e.status === 400 && e.param === 'n');
  await assert.rejects(
    client.completions.create({ model: NAME, prompt: 'x', top_p: 2 }),
    (e) => e instanceof OpenAI.BadRequestError);
  await assert.rejects(
    client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof OpenAI.NotFoundError && e.status === 404);
  const tooLong = 'word '.repeat(5000);
  await assert.rejects(
    client.completions.create({ model: NAME, prompt: tooLong, max_tokens: 1 }),
    (e) => e instanceof OpenAI.BadRequestError);
  // The server is still serving.
  const ok = await client.completions.create({ model: NAME, prompt: 'still', max_tokens: 2 });
  assert.equal(ok.choices.length, 1);
});

test('API key', async () => {
  const secured = await startServer(['--api-key', 'sk-e2e']);
  try {
    const wrong = new OpenAI({ baseURL: secured.baseURL, apiKey: 'sk-wrong', maxRetries: 0 });
    await assert.rejects(wrong.models.list(), (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
    const right = new OpenAI({ baseURL: secured.baseURL, apiKey: 'sk-e2e', maxRetries: 0 });
    assert.equal((await right.models.list()).data[0].id, NAME);
  } finally {
    await stopServer(secured);
  }
});

test('64 concurrent streams match solo outputs; killed clients free their blocks', async () => {
  const prompts = Array.from({ length: 8 }, (_, i) => `Story ${i}: once there was a`);
  const solo = [];
  for (const p of prompts) {
    solo.push((await client.completions.create({ model: NAME, prompt: p, max_tokens: 48, temperature: 0, ignore_eos: true })).choices[0].text);
  }
  const runs = Array.from({ length: 64 }, async (_, i) => {
    const kill = i % 3 === 0;
    const controller = new AbortController();
    const stream = await client.completions.create(
      { model: NAME, prompt: prompts[i % 8], max_tokens: 48, temperature: 0, ignore_eos: true, stream: true },
      { signal: controller.signal });
    let text = '';
    let chunks = 0;
    try {
      for await (const chunk of stream) {
        text += chunk.choices[0]?.text ?? '';
        if (kill && ++chunks === 3) controller.abort();
      }
    } catch (e) {
      if (!kill) throw e;
      return null;
    }
    return kill ? null : text;
  });
  const results = await Promise.all(runs);
  results.forEach((text, i) => {
    if (text !== null) assert.equal(text, solo[i % 8], `client ${i}`);
  });
  let usage = NaN;
  let running = NaN;
  for (let i = 0; i < 200; i++) {
    usage = await metric(server, 'pagoda:kv_cache_usage_perc');
    running = await metric(server, 'pagoda:num_requests_running');
    if (usage === 0 && running === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(running, 0);
  assert.equal(usage, 0);
});
