// End-to-end structured output and tool calling: `pagoda serve` on a
// random-weight model (the worst case: at temperature 1 it wants anything)
// driven by the official `openai` npm client. 200 constrained generations
// across schemas, regexes, choices and grammars, through every API spelling
// (response_format, structured_outputs, guided_*), on completions and chat,
// are checked by an independent validator (validate_structured.py: Python's
// jsonschema and re); bad constraints are 400s naming the problem; forced
// tool calls come back as parseable tool_calls, streamed or whole; "auto"
// parses Hermes-style calls out of the text.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { startServer as startPagoda, stopServer } from './harness.mjs';

const BIN = process.env.PAGODA_BIN;
const HERE = path.dirname(fileURLToPath(import.meta.url));
const NAME = 'structured-model';

function startServer(model, extraArgs = []) {
  return startPagoda(BIN, [model, '--served-model-name', NAME, '--threads', '1', ...extraArgs]);
}

let server;
let client;
let tmp;

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pagoda-structured-'));
  const model = path.join(tmp, 'random.gguf');
  // A byte-level BPE vocabulary of 1,024 tokens: most tokens are single bytes,
  // so strings, numbers and repetitions are as long as sampling makes them.
  execFileSync(BIN, ['mkmodel', '-o', model, '--vocab-size', '1024', '--seed', '5']);
  server = await startServer(model);
  client = new OpenAI({ baseURL: server.baseURL, apiKey: 'unused', maxRetries: 0 });
});

after(async () => {
  await stopServer(server);
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

// Bounded schemas: every string, number, array and recursion has a limit
// the grammar enforces, so a generation can always end within max_tokens.
const SCHEMAS = [
  { type: 'object', properties: { name: { type: 'string', maxLength: 12 }, age: { type: 'integer', minimum: 0, maximum: 150 } },
    required: ['name', 'age'] },
  { type: 'object', properties: { id: { type: 'integer', minimum: 1, maximum: 99999 }, active: { type: 'boolean' },
    tags: { type: 'array', items: { enum: ['a', 'b', 'c'] }, maxItems: 3 } }, required: ['id', 'active', 'tags'],
  additionalProperties: false },
  { anyOf: [{ type: 'integer', minimum: -5, maximum: 5 }, { type: 'string', maxLength: 5 }, { type: 'null' }] },
  { $defs: { node: { type: 'object', properties: { value: { type: 'integer', minimum: 0, maximum: 9 },
    next: { anyOf: [{ type: 'null' }, { $ref: '#/$defs/node' }] } }, required: ['value', 'next'] } },
  $ref: '#/$defs/node' },
  { type: 'array', prefixItems: [{ type: 'string', maxLength: 4 }, { type: 'integer', minimum: 0, maximum: 9 }],
    items: false, minItems: 2 },
  { type: 'object', properties: { code: { type: 'string', pattern: '^[A-Z]{2}[0-9]{3}$' } }, required: ['code'] },
  { type: 'object', properties: { kind: { const: 'point' }, x: { type: 'integer', minimum: -100, maximum: 100 },
    y: { type: 'integer', minimum: -100, maximum: 100 } }, required: ['kind', 'x', 'y'], additionalProperties: false },
  { type: 'object', properties: { day: { type: 'string', format: 'date' }, id: { type: 'string', format: 'uuid' } },
    required: ['day', 'id'] },
  { type: 'array', items: { type: 'object', properties: { k: { enum: ['x', 'y', 'z'] }, v: { type: 'boolean' } },
    required: ['k', 'v'] }, minItems: 1, maxItems: 4 },
  { allOf: [{ type: 'object', properties: { a: { type: 'integer', minimum: 0, maximum: 9 } }, required: ['a'] },
    { properties: { b: { enum: [true, null] } }, required: ['b'] }] },
];
const REGEXES = [
  '[a-z]{3,8}@[a-z]{2,5}\\.(com|org|net)',
  '\\d{3}-\\d{4}',
  '(0|[1-9]\\d{0,5})(\\.\\d{1,3})?',
  '[A-Z][a-z]{0,10}( [A-Z][a-z]{0,10}){0,3}',
  '(true|false|null)',
  '#[0-9a-fA-F]{6}',
  '\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])',
  '(ab|cd){1,5}e?',
];
const CHOICES = [['red', 'green', 'blue'], ['a', 'ab', 'abc'], ['Hello, world', 'Goodbye'], ['héllo', '日本語', 'x']];
// GBNF grammars, each with a Python regex for the same language.
const GRAMMARS = [
  { gbnf: 'root ::= term (("+" | "-") term){0,3}\nterm ::= [0-9]{1,3}', check: '[0-9]{1,3}([+-][0-9]{1,3}){0,3}' },
  { gbnf: 'root ::= "[" (item ("," item){0,4})? "]"\nitem ::= "\\"" [a-z]{1,6} "\\""',
    check: '\\[("[a-z]{1,6}"(,"[a-z]{1,6}"){0,4})?\\]' },
  { gbnf: 'root ::= ("yes" | "no") "!"', check: '(yes|no)!' },
  { gbnf: 'root ::= greeting " " name\ngreeting ::= "hi" | "hello"\nname ::= [A-Z] [a-z]{2,7}',
    check: '(hi|hello) [A-Z][a-z]{2,7}' },
];

// The i-th case: its constraint in one of the API spellings.
function makeCase(i) {
  const family = i % 5;
  const spelling = Math.floor(i / 5) % 3;
  let kind; let spec; let fields;
  if (family === 0 || family === 4) {
    kind = 'json_schema';
    spec = SCHEMAS[Math.floor(i / 5) % SCHEMAS.length];
    fields = [{ guided_json: spec }, { structured_outputs: { json: spec } },
      { response_format: { type: 'json_schema', json_schema: { name: 'out', schema: spec, strict: true } } }][spelling];
  } else if (family === 1) {
    kind = 'regex';
    spec = REGEXES[Math.floor(i / 5) % REGEXES.length];
    fields = spelling === 1 ? { structured_outputs: { regex: spec } } : { guided_regex: spec };
  } else if (family === 2) {
    kind = 'choice';
    spec = CHOICES[Math.floor(i / 5) % CHOICES.length];
    fields = spelling === 1 ? { structured_outputs: { choice: spec } } : { guided_choice: spec };
  } else {
    const g = GRAMMARS[Math.floor(i / 5) % GRAMMARS.length];
    kind = 'grammar';
    spec = { check: g.check };
    fields = spelling === 1 ? { structured_outputs: { grammar: g.gbnf } } : { guided_grammar: g.gbnf };
  }
  if (i % 23 === 7) {  // a few free JSON objects (these need a larger budget)
    kind = 'json_object';
    spec = null;
    fields = { response_format: { type: 'json_object' } };
  }
  return { kind, spec, fields, chat: i % 2 === 1 };
}

test('200 constrained generations at temperature 1 are all valid and end properly', async () => {
  const results = [];
  const N = 200;
  const BATCH = 16;
  for (let start = 0; start < N; start += BATCH) {
    const batch = [];
    for (let i = start; i < Math.min(N, start + BATCH); i++) {
      const c = makeCase(i);
      const common = { model: NAME, temperature: 1.0, seed: 1000 + i, max_tokens: c.kind === 'json_object' ? 1900 : 600,
        ...c.fields };
      const p = c.chat
        ? client.chat.completions.create({ ...common, messages: [{ role: 'user', content: `case ${i}` }] })
          .then((r) => ({ text: r.choices[0].message.content, finish: r.choices[0].finish_reason }))
        : client.completions.create({ ...common, prompt: `case ${i}:` })
          .then((r) => ({ text: r.choices[0].text, finish: r.choices[0].finish_reason }));
      batch.push(p.then((r) => ({ kind: c.kind, spec: c.spec, text: r.text, finish_reason: r.finish })));
    }
    results.push(...await Promise.all(batch));
  }
  // A free JSON object may nest and run on with a random model: those that
  // reach max_tokens are reported, not failed (no bound exists to enforce).
  if (process.env.STRUCTURED_DEBUG) for (const r of results) console.log(r.kind, r.finish_reason, JSON.stringify(r.text));
  const checked = results.filter((r) => r.kind !== 'json_object' || r.finish_reason === 'stop');
  const file = path.join(tmp, 'results.json');
  fs.writeFileSync(file, JSON.stringify(checked));
  const v = spawnSync('/usr/bin/python3', [path.join(HERE, 'validate_structured.py'), file], { encoding: 'utf8' });
  if (v.error) throw v.error;
  assert.equal(v.status, 0, `validator: ${v.stdout}${v.stderr}`);
  assert.ok(checked.length >= 195, `only ${checked.length} of ${N} checked`);
  assert.match(v.stdout, new RegExp(`validated ${checked.length} generations, 0 invalid`));
});

test('bad constraints are 400s naming the problem', async () => {
  const bad = [
    [{ guided_regex: '[a-z' }, /regex/],
    [{ guided_json: { type: 'object', propertyNames: { type: 'string' } } }, /propertyNames/],
    [{ guided_json: { type: 'strnig' } }, /strnig/],
    [{ guided_choice: [] }, /empty/],
    [{ guided_grammar: 'root ::= missing' }, /missing/],
    [{ structured_outputs: { grammar: 'root ::= "a' } }, /grammar|line|unterminated/i],
    [{ response_format: { type: 'json_schema', json_schema: { name: 'x', schema: 'not json' } } }, /schema/],
    [{ guided_regex: 'a', guided_choice: ['b'] }, /only one/],
  ];
  for (const [fields, pattern] of bad) {
    await assert.rejects(client.completions.create({ model: NAME, prompt: 'x', max_tokens: 5, ...fields }),
      (e) => e instanceof OpenAI.BadRequestError && pattern.test(e.message), JSON.stringify(fields));
  }
  // And a good request right after.
  const ok = await client.completions.create({ model: NAME, prompt: 'x', max_tokens: 20, guided_choice: ['ok'] });
  assert.equal(ok.choices[0].text, 'ok');
});

const TOOLS = [
  { type: 'function', function: { name: 'get_weather', description: 'Weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string', maxLength: 12 }, unit: { enum: ['c', 'f'] } },
      required: ['city', 'unit'] } } },
  { type: 'function', function: { name: 'add',
    parameters: { type: 'object', properties: { a: { type: 'integer', minimum: 0, maximum: 1000 },
      b: { type: 'integer', minimum: 0, maximum: 1000 } }, required: ['a', 'b'] } } },
];

// Reassembles streamed tool-call deltas (OpenAI's shape) into whole calls.
async function streamedCalls(params) {
  const stream = await client.chat.completions.create({ ...params, stream: true });
  const calls = [];
  let finish = null;
  for await (const chunk of stream) {
    const choice = chunk.choices[0];
    if (!choice) continue;
    if (choice.finish_reason) finish = choice.finish_reason;
    for (const d of choice.delta.tool_calls ?? []) {
      if (!calls[d.index]) {
        assert.ok(d.id && d.function.name, 'the first delta of a call carries its id and name');
        assert.equal(d.type, 'function');
        calls[d.index] = { id: d.id, name: d.function.name, arguments: d.function.arguments ?? '' };
      } else {
        assert.equal(d.function.name, undefined, 'the name is sent once');
        calls[d.index].arguments += d.function.arguments ?? '';
      }
    }
  }
  return { calls, finish };
}

for (const [label, toolChoice] of [['named', { type: 'function', function: { name: 'get_weather' } }],
  ['required', 'required']]) {
  test(`${label} tool_choice returns parseable tool_calls, streamed the same`, async () => {
    for (let seed = 0; seed < 4; seed++) {
      const params = { model: NAME, temperature: 1.0, seed, max_tokens: 600, tools: TOOLS, tool_choice: toolChoice,
        parallel_tool_calls: seed % 2 === 0, messages: [{ role: 'user', content: 'What is the weather in Paris?' }] };
      const whole = await client.chat.completions.create(params);
      const choice = whole.choices[0];
      assert.equal(choice.finish_reason, 'tool_calls');
      const calls = choice.message.tool_calls;
      assert.ok(calls.length >= 1);
      if (label === 'named' || seed % 2 === 1) assert.equal(calls.length, 1);
      for (const call of calls) {
        assert.equal(call.type, 'function');
        assert.match(call.id, /^chatcmpl-tool-/);
        const tool = TOOLS.find((t) => t.function.name === call.function.name);
        assert.ok(tool, call.function.name);
        if (label === 'named') assert.equal(call.function.name, 'get_weather');
        const args = JSON.parse(call.function.arguments);
        for (const key of tool.function.parameters.required) assert.ok(key in args, key);
      }
      const streamed = await streamedCalls(params);
      assert.equal(streamed.finish, 'tool_calls');
      assert.deepEqual(streamed.calls.map((c) => [c.name, JSON.parse(c.arguments)]),
        calls.map((c) => [c.function.name, JSON.parse(c.function.arguments)]));
    }
  });
}

test('tool_choice errors are 400s', async () => {
  const base = { model: NAME, max_tokens: 5, messages: [{ role: 'user', content: 'x' }] };
  await assert.rejects(client.chat.completions.create({ ...base, tools: TOOLS,
    tool_choice: { type: 'function', function: { name: 'nope' } } }), (e) => e instanceof OpenAI.BadRequestError && /nope/.test(e.message));
  await assert.rejects(client.chat.completions.create({ ...base, tool_choice: 'required' }),
    (e) => e instanceof OpenAI.BadRequestError && /tools/.test(e.message));
  const none = await client.chat.completions.create({ ...base, tools: TOOLS, tool_choice: 'none' });
  assert.equal(none.choices[0].message.tool_calls, undefined);
});

test('auto tool_choice parses the model\'s Hermes-style calls, whole and streamed', async () => {
  // A random model never writes a tool call by itself: a regex makes it
  // write one in the Hermes format (the default when the chat template
  // names none), with text before it.
  const regex = 'Sure\\. <tool_call>\\{"name": "add", "arguments": \\{"a": [1-9][0-9]{0,2}, "b": 2\\}\\}</tool_call>';
  const params = { model: NAME, temperature: 1.0, seed: 5, max_tokens: 200, tools: TOOLS, tool_choice: 'auto',
    structured_outputs: { regex }, messages: [{ role: 'user', content: 'add' }] };
  const whole = await client.chat.completions.create(params);
  const choice = whole.choices[0];
  assert.equal(choice.finish_reason, 'tool_calls');
  assert.equal(choice.message.content, 'Sure. ');
  assert.equal(choice.message.tool_calls.length, 1);
  assert.equal(choice.message.tool_calls[0].function.name, 'add');
  const args = JSON.parse(choice.message.tool_calls[0].function.arguments);
  assert.equal(args.b, 2);

  const stream = await client.chat.completions.create({ ...params, stream: true });
  let content = '';
  const calls = [];
  let finish = null;
  for await (const chunk of stream) {
    const c = chunk.choices[0];
    if (!c) continue;
    if (c.finish_reason) finish = c.finish_reason;
    if (c.delta.content) {
      assert.ok(!c.delta.content.includes('<'), 'no part of the call markup is sent as content');
      content += c.delta.content;
    }
    for (const d of c.delta.tool_calls ?? []) {
      if (!calls[d.index]) calls[d.index] = { name: d.function.name, arguments: d.function.arguments ?? '' };
      else calls[d.index].arguments += d.function.arguments ?? '';
    }
  }
  assert.equal(finish, 'tool_calls');
  assert.equal(content, 'Sure. ');
  assert.deepEqual(calls.map((c) => [c.name, JSON.parse(c.arguments)]), [['add', args]]);
});

test('a Llama-3 chat template selects the Llama-3 JSON tool-call format', async () => {
  // Any template that mentions <|python_tag|> picks the format; this one
  // only joins the messages.
  const template = path.join(tmp, 'llama3-style.jinja');
  fs.writeFileSync(template, "{% for m in messages %}{{ m['content'] }}{% endfor %}{# <|python_tag|> #}");
  const model = path.join(tmp, 'random.gguf');
  const other = await startServer(model, ['--chat-template', template]);
  try {
    const c2 = new OpenAI({ baseURL: other.baseURL, apiKey: 'unused', maxRetries: 0 });
    const params = { model: NAME, temperature: 1.0, seed: 3, max_tokens: 200, tools: TOOLS,
      structured_outputs: { regex: '\\{"name": "add", "parameters": \\{"a": [1-9], "b": 2\\}\\}' },
      messages: [{ role: 'user', content: 'add' }] };
    const whole = await c2.chat.completions.create(params);
    assert.equal(whole.choices[0].finish_reason, 'tool_calls');
    assert.equal(whole.choices[0].message.content, null);
    const call = whole.choices[0].message.tool_calls[0];
    assert.equal(call.function.name, 'add');
    assert.equal(JSON.parse(call.function.arguments).b, 2);
    let content = '';
    let args = '';
    for await (const chunk of await c2.chat.completions.create({ ...params, stream: true })) {
      const c = chunk.choices[0];
      if (!c) continue;
      content += c.delta.content ?? '';
      for (const d of c.delta.tool_calls ?? []) args += d.function.arguments ?? '';
    }
    assert.equal(content, '', 'a Llama-3 JSON call is never streamed as content');
    assert.deepEqual(JSON.parse(args), JSON.parse(call.function.arguments));
  } finally {
    await stopServer(other);
  }
});
