// End-to-end: the real `pagoda serve` on a loopback port, driven by the
// official `openai` npm client. PAGODA_BIN is the pagoda binary and
// PAGODA_MODEL the model ("" = the built-in demo model); see run.sh.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { startServer as startPagoda, stopServer } from './harness.mjs';

const BIN = process.env.PAGODA_BIN;
const MODEL = process.env.PAGODA_MODEL || '';
const NAME = 'e2e-model';
const modelArgs = MODEL ? [MODEL] : [];

// `pagoda serve` on the test model with `extraArgs`.
function startServer(extraArgs = [], model = modelArgs) {
  return startPagoda(BIN, [...model, '--served-model-name', NAME, '--threads', '1', ...extraArgs]);
}

// What `pagoda generate` prints for one greedy prompt.
function generate(prompt, maxTokens) {
  const args = ['generate', ...(MODEL ? ['-m', MODEL] : []), '-p', prompt, '--max-tokens', String(maxTokens),
    '--temperature', '0', '--threads', '1'];
  return execFileSync(BIN, args, { encoding: 'utf8' });
}

// The first sample of `name` whose line holds `label` (e.g. finished_reason="abort").
async function metric(server, name, label = '') {
  const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
  const line = text.split('\n').find((l) => (l.startsWith(name + '{') || l.startsWith(name + ' ')) && l.includes(label));
  return line === undefined ? NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
}

// Polls /metrics until nothing runs and no KV block is in use (aborts and
// finished requests free their blocks at the next step boundary, a moment
// after the client has its answer); returns the last values seen.
async function waitIdle(server) {
  let usage = NaN;
  let running = NaN;
  for (let i = 0; i < 200; i++) {
    usage = await metric(server, 'pagoda:kv_cache_usage_perc');
    running = await metric(server, 'pagoda:num_requests_running');
    if (usage === 0 && running === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { usage, running };
}

// The text of every choice of a completion, in index order, streamed or not.
async function completionTexts(c, params) {
  if (!params.stream) {
    const r = await c.completions.create(params);
    return [...r.choices].sort((a, b) => a.index - b.index).map((ch) => ch.text);
  }
  const texts = [];
  for await (const chunk of await c.completions.create(params)) {
    for (const ch of chunk.choices) texts[ch.index] = (texts[ch.index] ?? '') + (ch.text ?? '');
  }
  return texts;
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

// An OpenAI-style error body ({"error": {"message", "type", "param",
// "code"}}) as the client raises it: an instance of `cls` with `status`,
// and `param` when one is given.
function isApiError(what, cls, status, param) {
  return (e) => {
    assert.ok(e instanceof cls, `${what}: got ${e?.constructor?.name}: ${e?.message}`);
    assert.equal(e.status, status, what);
    assert.equal(typeof e.error?.message, 'string', what);
    assert.ok(e.error.message.length > 0, what);
    assert.equal(typeof e.error.type, 'string', what);
    assert.ok('param' in e.error && 'code' in e.error, what);
    if (param !== undefined) assert.equal(e.param, param, what);
    return true;
  };
}

async function stillServes(c, what) {
  const ok = await c.completions.create({ model: NAME, prompt: 'still', max_tokens: 2 });
  assert.equal(ok.choices.length, 1, `a good request after: ${what}`);
}

test('every bad request gets its status and error body, and the server keeps serving', async () => {
  const long = 'word '.repeat(5000);  // far past stories260K's 512-token context
  const cmpl = (extra) => () => client.completions.create({ model: NAME, prompt: 'x', max_tokens: 2, ...extra });
  const chat = (extra) => () => client.chat.completions.create(
    { model: NAME, messages: [{ role: 'user', content: 'x' }], max_tokens: 2, ...extra });
  // The client JSON-encodes objects; a string body with a content type goes
  // out verbatim, which is how it sends broken JSON and other media types.
  const raw = (route, body, type) => () => client.post(route, { body, headers: { 'Content-Type': type } });
  const { BadRequestError, NotFoundError } = OpenAI;
  const cases = [
    ['prompt longer than --max-model-len', cmpl({ prompt: long }), BadRequestError, 400],
    ['chat prompt longer than --max-model-len', chat({ messages: [{ role: 'user', content: long }] }),
      BadRequestError, 400],
    ['max_tokens beyond the context', cmpl({ max_tokens: 100000 }), BadRequestError, 400],
    ['chat max_completion_tokens beyond the context', chat({ max_tokens: undefined, max_completion_tokens: 100000 }),
      BadRequestError, 400],
    ['temperature of the wrong type', cmpl({ temperature: 'hot' }), BadRequestError, 400, 'temperature'],
    ['max_tokens of the wrong type', cmpl({ max_tokens: 'many' }), BadRequestError, 400, 'max_tokens'],
    ['n of the wrong type', cmpl({ n: 'two' }), BadRequestError, 400, 'n'],
    ['stop of the wrong type', cmpl({ stop: 5 }), BadRequestError, 400, 'stop'],
    ['seed of the wrong type', chat({ seed: 'abc' }), BadRequestError, 400, 'seed'],
    ['prompt of the wrong type', cmpl({ prompt: 12.5 }), BadRequestError, 400, 'prompt'],
    ['message content of the wrong type', chat({ messages: [{ role: 'user', content: 3 }] }),
      BadRequestError, 400, 'messages'],
    ['n = 0', cmpl({ n: 0 }), BadRequestError, 400, 'n'],
    ['n = -1 (chat)', chat({ n: -1 }), BadRequestError, 400, 'n'],
    ['top_p = 0', cmpl({ top_p: 0 }), BadRequestError, 400, 'top_p'],
    ['top_p = 2', cmpl({ top_p: 2 }), BadRequestError, 400, 'top_p'],
    ['top_p = -0.5 (chat)', chat({ top_p: -0.5 }), BadRequestError, 400, 'top_p'],
    ['malformed JSON', raw('/completions', '{"model": "e2e-model", "prompt": "x",', 'application/json'),
      BadRequestError, 400],
    ['malformed JSON (chat)', raw('/chat/completions', '{"messages": [', 'application/json'), BadRequestError, 400],
    ['a JSON body that is not an object', raw('/completions', '[1, 2]', 'application/json'), BadRequestError, 400],
    ['wrong content type', raw('/completions', JSON.stringify({ model: NAME, prompt: 'x' }), 'text/plain'),
      BadRequestError, 400],
    ['unknown model', cmpl({ model: 'no-such-model' }), NotFoundError, 404, 'model'],
    ['unknown model (chat)', chat({ model: 'no-such-model' }), NotFoundError, 404, 'model'],
    ['unknown route', () => client.embeddings.create({ model: NAME, input: 'x' }), NotFoundError, 404],
    ['unknown route (GET)', () => client.get('/nothing'), NotFoundError, 404],
  ];
  for (const [what, send, cls, status, param] of cases) {
    await assert.rejects(send(), isApiError(what, cls, status, param), what);
    await stillServes(client, what);
  }
});

test('API key (401 missing or wrong) and the body size limit (413)', async () => {
  const secured = await startServer(['--api-key', 'sk-e2e', '--max-body-bytes', '65536']);
  try {
    const right = new OpenAI({ baseURL: secured.baseURL, apiKey: 'sk-e2e', maxRetries: 0 });
    const wrong = new OpenAI({ baseURL: secured.baseURL, apiKey: 'sk-wrong', maxRetries: 0 });
    const { AuthenticationError, APIError } = OpenAI;
    const cases = [
      ['wrong key', () => wrong.models.list(), AuthenticationError, 401],
      ['wrong key (completion)', () => wrong.completions.create({ model: NAME, prompt: 'x', max_tokens: 2 }),
        AuthenticationError, 401],
      // A null header is the client's way to leave it out.
      ['missing key', () => right.completions.create({ model: NAME, prompt: 'x', max_tokens: 2 },
        { headers: { Authorization: null } }), AuthenticationError, 401],
      // The declared Content-Length is over the limit: refused before the body is read.
      ['body over --max-body-bytes', () => right.completions.create({ model: NAME, prompt: 'a'.repeat(100000) }),
        APIError, 413],
    ];
    for (const [what, send, cls, status] of cases) {
      await assert.rejects(send(), isApiError(what, cls, status), what);
      await stillServes(right, what);
    }
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
  const aborted = 'finished_reason="abort"';
  const abortsBefore = await metric(server, 'pagoda:request_success_total', aborted);
  // A killed client asks for far more tokens than it reads, so its request
  // is surely still running when it hangs up. It leaves by `break`, which
  // makes the client abort its fetch (closing the connection) without
  // waiting on the body again: aborting through a signal instead sometimes
  // left the iterator's next body read pending forever after the socket had
  // closed (undici's fetch; nodejs/undici#4089 reports the same).
  const runs = Array.from({ length: 64 }, async (_, i) => {
    const kill = i % 3 === 0;
    const stream = await client.completions.create({
      model: NAME, prompt: prompts[i % 8], max_tokens: kill ? 400 : 48, temperature: 0, ignore_eos: true,
      stream: true,
    });
    let text = '';
    let chunks = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.text ?? '';
      if (kill && ++chunks === 3) break;
    }
    return kill ? null : text;
  });
  const results = await Promise.all(runs);
  results.forEach((text, i) => {
    if (text !== null) assert.equal(text, solo[i % 8], `client ${i}`);
  });
  const { usage, running } = await waitIdle(server);
  assert.equal(running, 0);
  assert.equal(usage, 0);
  // Hang-ups are seen as aborts; on a loaded machine a killed request can
  // still run to its end before its hang-up is read, so not every kill has
  // to count as an abort — but most must, and none beyond the kills.
  const kills = results.filter((t) => t === null).length;
  const aborts = await metric(server, 'pagoda:request_success_total', aborted) - abortsBefore;
  assert.ok(aborts >= kills / 2 && aborts <= kills, `${aborts} aborts for ${kills} killed clients`);
});

test('preemption: a KV cache for two requests serves 32 at once with the outputs of a large cache', async () => {
  // The engine insists that one full-length sequence fits the cache, so
  // --max-model-len 128 is what lets it shrink to 16 usable blocks of 16
  // tokens. Each request grows from ~10 prompt tokens by 100 to 7 blocks:
  // two fit at full length, the rest are preempted and recomputed, again
  // and again. Greedy and seeded requests, streamed and not, some with
  // n = 2 (children sharing prompt blocks).
  const requests = Array.from({ length: 32 }, (_, i) => ({
    model: NAME, prompt: `Story ${i}: once there was a`, max_tokens: 100, ignore_eos: true,
    stream: i % 4 >= 2,
    ...(i % 2 === 0 ? { temperature: 0 } : { temperature: 0.9, top_p: 0.95, seed: 1000 + i }),
    ...(i % 8 === 7 ? { n: 2 } : {}),
  }));
  const before = await metric(server, 'pagoda:num_preemptions_total');
  const expected = await Promise.all(requests.map((r) => completionTexts(client, r)));
  assert.equal(await metric(server, 'pagoda:num_preemptions_total'), before, 'the large cache preempts nothing');
  // With prefix caching a resumed request may find its own freed blocks
  // still cached; without it every preemption recomputes from scratch.
  for (const flags of [[], ['--no-enable-prefix-caching']]) {
    const small = await startServer(['--max-model-len', '128', '--num-kv-blocks', '17', ...flags]);
    try {
      const c = new OpenAI({ baseURL: small.baseURL, apiKey: 'unused', maxRetries: 0 });
      const got = await Promise.all(requests.map((r) => completionTexts(c, r)));
      got.forEach((texts, i) => assert.deepEqual(texts, expected[i], `request ${i} ${flags}`));
      const preemptions = await metric(small, 'pagoda:num_preemptions_total');
      assert.ok(preemptions >= 8, `only ${preemptions} preemptions ${flags}`);
      const { usage, running } = await waitIdle(small);
      assert.equal(running, 0);
      assert.equal(usage, 0, 'every KV block is back');
      assert.equal(await metric(small, 'pagoda:num_requests_waiting'), 0);
    } finally {
      await stopServer(small);
    }
  }
});

test('prefix caching: a request sharing a 1,000-token prefix computes only its new tokens, with the uncached output',
  async () => {
    // stories260K's context is 512, so this uses a random-weight model from
    // `pagoda mkmodel` with 4,096 positions, served at --max-model-len 2048.
    // Prompts are token ids, so the shared prefix is exactly 1,000 tokens
    // whatever the tokenizer does with text (ids 2..501: no BOS or EOS).
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagoda-e2e-'));
    const model = path.join(dir, 'long-context.gguf');
    execFileSync(BIN, ['mkmodel', '-o', model, '--max-position-embeddings', '4096', '--seed', '11']);
    const args = ['--max-model-len', '2048', '--block-size', '16'];
    const cached = await startServer(args, [model]);
    const uncached = await startServer([...args, '--no-enable-prefix-caching'], [model]);
    try {
      const ids = (n, a, b) => Array.from({ length: n }, (_, i) => 2 + ((i * a + b) % 500));
      const prefix = ids(1000, 7919, 13);
      const tailA = ids(24, 31, 5);
      const tailB = ids(24, 17, 250);
      assert.notEqual(tailA[0], tailB[0]);
      const c = new OpenAI({ baseURL: cached.baseURL, apiKey: 'unused', maxRetries: 0 });
      const u = new OpenAI({ baseURL: uncached.baseURL, apiKey: 'unused', maxRetries: 0 });
      const greedy = { model: NAME, max_tokens: 16, ignore_eos: true, temperature: 0 };
      const seeded = { model: NAME, max_tokens: 16, ignore_eos: true, temperature: 1.0, seed: 7 };

      const first = await c.completions.create({ ...greedy, prompt: [...prefix, ...tailA] });
      assert.equal(first.usage.prompt_tokens, 1024);
      assert.equal(first.usage.prompt_tokens_details.cached_tokens, 0);

      const second = { ...greedy, prompt: [...prefix, ...tailB] };
      const queries = await metric(cached, 'pagoda:prefix_cache_queries_total');
      const hits = await metric(cached, 'pagoda:prefix_cache_hits_total');
      const hit = await c.completions.create(second);
      // Every full block of the shared prefix (62 x 16 = 992 tokens) comes
      // from the cache; the 8 prefix tokens of the partial block and the 24
      // new ones are computed.
      const sharedFullBlocks = Math.floor(prefix.length / 16) * 16;
      const cachedTokens = hit.usage.prompt_tokens_details.cached_tokens;
      assert.equal(cachedTokens, sharedFullBlocks);
      assert.equal(await metric(cached, 'pagoda:prefix_cache_queries_total') - queries, 1024);
      assert.equal(await metric(cached, 'pagoda:prefix_cache_hits_total') - hits, cachedTokens);

      // The same request computed whole: on a server without prefix caching,
      // and on this one under another cache_salt (no hits across salts).
      const cold = await u.completions.create(second);
      assert.equal(cold.usage.prompt_tokens_details.cached_tokens, 0);
      assert.equal(hit.choices[0].text, cold.choices[0].text);
      const salted = await c.completions.create({ ...second, cache_salt: 'another-tenant' });
      assert.equal(salted.usage.prompt_tokens_details.cached_tokens, 0);
      assert.equal(salted.choices[0].text, cold.choices[0].text);

      // Seeded sampling, streamed with usage, reads the cache and draws the
      // same tokens. Its 1,012 tokens all lie on the second request's path:
      // 63 full blocks are hits.
      const third = { ...seeded, prompt: [...prefix, ...tailB.slice(0, 12)] };
      let text = '';
      let usage = null;
      for await (const chunk of await c.completions.create(
        { ...third, stream: true, stream_options: { include_usage: true } })) {
        text += chunk.choices[0]?.text ?? '';
        if (chunk.usage) usage = chunk.usage;
      }
      assert.equal(usage.prompt_tokens_details.cached_tokens, 63 * 16);
      assert.equal(text, (await u.completions.create(third)).choices[0].text);
      const { usage: kv } = await waitIdle(cached);
      assert.equal(kv, 0);
    } finally {
      await stopServer(cached);
      await stopServer(uncached);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
