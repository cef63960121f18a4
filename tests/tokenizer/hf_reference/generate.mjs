// Writes expected_<name>.json: the ids Hugging Face's official tokenizers.js
// (@huggingface/tokenizers, pinned in package.json) gives for every text of
// the llama.cpp vocab tests, through the Llama-3, Qwen3 and GPT-2
// tokenizer.json files in the shared test data. tokenizer tests compare
// pagoda's ids with these. Run once after changing the inputs:
//   cd tests/tokenizer/hf_reference && npm install && node generate.mjs [MODELS_DIR]
// MODELS_DIR defaults to ../shared/models beside the repository.
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Tokenizer } from "@huggingface/tokenizers";

const here = dirname(fileURLToPath(import.meta.url));
const models = resolve(process.argv[2] ?? join(here, "../../../../shared/models"));
const pkg = JSON.parse(readFileSync(join(here, "node_modules/@huggingface/tokenizers/package.json"), "utf8"));

// Every text of every .inp file, first occurrence order.
const sep = "\n__ggml_vocab_test__\n";
const texts = [];
const seen = new Set();
for (const f of readdirSync(join(models, "vocab-tests")).filter((f) => f.endsWith(".inp")).sort()) {
  const data = readFileSync(join(models, "vocab-tests", f), "utf8");
  for (const text of data.split(sep).slice(0, -1)) {
    if (!seen.has(text)) {
      seen.add(text);
      texts.push(text);
    }
  }
}

// Beyond the vocab tests: scripts, emoji sequences, contractions, digit
// runs, whitespace runs, and special-token text (matched as Hugging Face
// matches added tokens, before the pre-tokenizer).
texts.push(
  "naïve café Äpfel déjà vu — “quotes” and ‘single’",
  "你好，世界！这是一个测试。日本語のテキストとカタカナ",
  "emoji 🦙🚀 and 👨‍👩‍👧‍👦 family, ✅ done 🇩🇪",
  "   multiple   spaces\t\ttabs\n\n\nnewlines \r\n crlf  \n",
  "code: for (int i = 0; i < 10; ++i) { x += i * 2; } // 12345678901234567890",
  "'s 't 're 've 'm 'll 'd I'M YOU'LL it's don't WE'D",
  "Привет, мир! Καλημέρα κόσμε ជាប់បិទ مرحبا بالعالم नमस्ते",
  "<|im_start|>user\nHi<|im_end|>\n<|begin_of_text|><|eot_id|><|endoftext|><think>x</think>",
  "3.14159 1,000,000 0x1F 1e-5 ١٢٣ ૧૨૩",
);

for (const name of ["llama3", "qwen3", "gpt2"]) {
  const dir = join(models, "tokenizers", name);
  const json = JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8"));
  const config = JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8"));
  const tokenizer = new Tokenizer(json, config);
  const cases = texts.map((text) => ({
    text,
    ids: tokenizer.encode(text, { add_special_tokens: false }).ids,
  }));
  const out = {
    generator: `${pkg.name}@${pkg.version}`,
    tokenizer: `tokenizers/${name}`,
    add_special_tokens: false,
    cases,
  };
  // One case per line keeps the files reviewable.
  const lines = cases.map((c) => "  " + JSON.stringify(c));
  const head = JSON.stringify({ generator: out.generator, tokenizer: out.tokenizer, add_special_tokens: false });
  writeFileSync(join(here, `expected_${name}.json`), head.slice(0, -1) + ',"cases":[\n' + lines.join(",\n") + "\n]}\n");
  console.log(`${name}: ${cases.length} texts`);
}
