// End-to-end: socle serving its own models (socle's engine, no upstream), driven by the
// official `openai` npm package and plain fetch.
//
// The models are the tiny ones of ../shared/golden (random weights, 512-token vocabularies,
// outputs computed by Hugging Face transformers): llama3 and qwen3 (decoders), bert (an
// encoder) and bert-reranker (a cross-encoder). They come without tokenizers; serving_fixtures
// writes one for each (a byte-level BPE for the decoders, a WordPiece for the encoders) next to
// symlinks of their weights. The checks compare with transformers' answers where one exists
// (greedy tokens, pooled hidden states, reranker scores) and otherwise with socle itself under
// other conditions (alone against under load, streamed against not, relayed against direct).
//
// Run: SOCLE_BINARY=build/dev/src/cli/socle node --test tests/e2e/serving_sdk.test.mjs
// (ctest does this: tests/e2e/CMakeLists.txt). Loopback only; nothing is downloaded.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { TokenizerLoader } from '@lenml/tokenizers';
import OpenAI from 'openai';

import { BINARY, childEnv, eventually, sleep, SocleServer } from './server.mjs';
import { byteLevelBpe, GOLDEN, modelFolder, readSafetensors, wordOf, wordPiece } from './serving_fixtures.mjs';

const execFileAsync = promisify(execFile);
const REQUEST_TIMEOUT_MS = 60_000;
// The llama3 model's context as configured (its config allows 1024 positions).
const LLAMA_CONTEXT = 512;
// Golden tolerance (../shared/golden/README.md): float32 against float64 on these sizes.
const REL_TOL = 1e-4;
// The same with keys and values stored as f16 (kv_type = "f16"): the engine's own bound for
// its logits (docs/engine.md: measured up to 7.5e-4 per row).
const F16_KV_REL_TOL = 2e-3;
// Greedy tokens are compared up to the first step whose top-two logit gap is below this.
const MIN_MARGIN = 0.01;
// With f16 keys and values the logits move by up to ~1e-3 (docs/engine.md): the steps compared
// keep a gap forty times that.
const F16_KV_MIN_MARGIN = 0.04;
const CONCURRENT = 64;

// ‖got − ref‖ / ‖ref‖.
function relError(got, ref) {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    num += (got[i] - ref[i]) ** 2;
    den += ref[i] ** 2;
  }
  return Math.sqrt(num) / Math.sqrt(den);
}

// The token ids of a completions choice asked with return_tokens_as_token_ids.
const tokenIds = (tokens) => tokens.map((t) => {
  assert.match(t, /^token_id:\d+$/);
  return Number(t.slice('token_id:'.length));
});

// Reads a text_completion stream with fetch (so that each event is seen as sent):
// { text, tokens, logprobs, top, finish, usage, chunks }.
async function streamCompletion(server, body, { onChunk, signal } = {}) {
  const res = await fetch(`${server.baseURL}/v1/completions`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${server.adminKey}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ ...body, stream: true }),
    signal: signal ?? AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  assert.equal(res.status, 200, await (res.status === 200 ? '' : res.text()));
  assert.match(res.headers.get('content-type'), /^text\/event-stream/);
  const out = { text: '', tokens: [], logprobs: [], top: [], finish: null, usage: null, chunks: 0, done: false };
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const bytes of res.body) {
    buffer += decoder.decode(bytes, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      assert.ok(event.startsWith('data: '), `an SSE data event, not '${event}'`);
      const data = event.slice('data: '.length);
      if (data === '[DONE]') {
        out.done = true;
        continue;
      }
      const chunk = JSON.parse(data);
      assert.ok(!chunk.error, `the stream carries an error: ${data}`);
      if (chunk.usage) out.usage = chunk.usage;
      for (const c of chunk.choices) {
        out.chunks++;
        out.text += c.text;
        if (c.logprobs) {
          out.tokens.push(...c.logprobs.tokens);
          out.logprobs.push(...c.logprobs.token_logprobs);
          out.top.push(...c.logprobs.top_logprobs);
        }
        if (c.finish_reason) out.finish = c.finish_reason;
      }
      if (onChunk) await onChunk(out);
    }
  }
  return out;
}

describe('socle serving its own models', () => {
  let dir;
  // Each in a temporary directory of its own (its config file and data).
  const server = new SocleServer({ name: 'engine' });
  const relay = new SocleServer({ name: 'relay' });
  const quick = new SocleServer({ name: 'quick' });
  const folders = {};
  const golden = {};

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'socle-e2e-serving-'));
    const bpe = byteLevelBpe(512);
    const wp = wordPiece(512);
    const models = path.join(dir, 'models');
    const llama = await modelFolder(models, 'llama3', bpe);
    const qwen = await modelFolder(models, 'qwen3', bpe);
    const bert = await modelFolder(models, 'bert', wp);
    const reranker = await modelFolder(models, 'bert-reranker', wp);
    const loraBase = await modelFolder(models, 'llama-lora/base', bpe);
    Object.assign(folders, { llama, bert, reranker });
    for (const name of ['llama3', 'qwen3', 'bert', 'bert-reranker']) {
      golden[name] = readSafetensors(path.join(GOLDEN, name, 'ref.safetensors'));
    }
    const decoder = (name, kind, folder, extra = []) => [
      '[[models]]', `name = "${name}"`, `kind = "${kind}"`, `path = "${folder}"`,
      'kv_memory_mb = 16', 'threads = 2', 'max_sequences = 64', 'max_batch_tokens = 256', ...extra,
    ];
    await server.start({ config: [
      ...decoder('llama3', 'chat', llama, [`context_length = ${LLAMA_CONTEXT}`]),
      // The same weights with a KV cache of 1 MiB (1365 positions): 32 streams overflow it.
      '[[models]]', 'name = "llama3-tight"', 'kind = "completion"', `path = "${llama}"`,
      'kv_memory_mb = 1', 'threads = 2', 'max_sequences = 32', 'max_batch_tokens = 256', 'context_length = 256',
      ...decoder('qwen3', 'completion', qwen),
      // The same with its keys and values stored as f16.
      ...decoder('qwen3-f16', 'completion', qwen, ['kv_type = "f16"']),
      // The LoRA golden base, and peft's adapter on it as a model of its own.
      ...decoder('llama-lora', 'chat', loraBase),
      '[[models]]', 'name = "llama-lora-tuned"', 'base = "llama-lora"',
      `adapter = "${path.join(GOLDEN, 'llama-lora', 'adapter')}"`,
      '[[models]]', 'name = "bert"', 'kind = "embedding"', `path = "${bert}"`,
      '[[models]]', 'name = "bert-reranker"', 'kind = "rerank"', `path = "${reranker}"`, '',
    ].join('\n') });
  });

  after(async () => {
    const stopped = [quick, relay, server];
    const results = [];
    for (const s of stopped) results.push(await s.stop());
    if (dir) await rm(dir, { recursive: true, force: true });
    for (const [i, s] of stopped.entries()) {
      if (results[i]) assert.equal(results[i].code, 0, `${s.name} did not exit cleanly:\n${s.log()}`);
    }
  });

  test('the generated tokenizers give the ids @lenml/tokenizers gives, texts and chats', async () => {
    const bpe = byteLevelBpe(512);
    const oracle = TokenizerLoader.fromPreTrained({ tokenizerJSON: bpe.tokenizer, tokenizerConfig: bpe.config });
    // The folder's files load in `socle tokenize` too.
    const cli = async (folder, text) => JSON.parse((await execFileAsync(
      BINARY, ['tokenize', '--tokenizer', folder, '--text', text, '--special'], { env: childEnv() })).stdout);
    assert.deepEqual(await cli(folders.llama, 'Bonjour, je'), oracle.encode('Bonjour, je'));
    const texts = [
      'Bonjour, je voudrais savoir comment fonctionne le service public.',
      'The quick brown fox — déjà vu? 42 times!\n\tIndented  spaces </s> and <s> inside.',
      'données personnelles 🇫🇷',
    ];
    for (const prompt of texts) {
      const r = await server.fetchJson('POST', '/v1/tokenize', { model: 'llama3', prompt });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json.tokens, oracle.encode(prompt), `'${prompt}'`);
      assert.equal(r.json.count, r.json.tokens.length);
      assert.equal(r.json.max_model_len, LLAMA_CONTEXT);
      const back = await server.fetchJson('POST', '/v1/detokenize', { model: 'llama3', tokens: r.json.tokens.slice(1) });
      assert.equal(back.status, 200, back.text);
      assert.equal(back.json.prompt, prompt);
    }
    // Merges learnt on the tests' words: far fewer tokens than bytes.
    const first = oracle.encode(texts[0]);
    assert.ok(first.length < texts[0].length / 2, `${first.length} tokens for ${texts[0].length} bytes`);
    const messages = [{ role: 'system', content: 'Answer briefly.' }, { role: 'user', content: 'Bonjour' }];
    const chat = await server.fetchJson('POST', '/v1/tokenize', { model: 'llama3', messages });
    assert.equal(chat.status, 200, chat.text);
    assert.deepEqual(chat.json.tokens,
      oracle.apply_chat_template(messages, { add_generation_prompt: true, tokenize: true, return_tensor: false }));
    const wp = wordPiece(512);
    const wordOracle = TokenizerLoader.fromPreTrained({ tokenizerJSON: wp.tokenizer, tokenizerConfig: wp.config });
    const words = 't5 T6 foo t511,t42';
    const r = await server.fetchJson('POST', '/v1/tokenize', { model: 'bert', prompt: words });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.tokens, wordOracle.encode(words));
    assert.deepEqual(await cli(folders.bert, words), r.json.tokens);
  });

  test('GET /v1/models lists the local models with their kind and context length', async () => {
    const models = [];
    for await (const m of server.client().models.list()) models.push(m);
    const byId = Object.fromEntries(models.map((m) => [m.id, m]));
    assert.deepEqual(Object.keys(byId).sort(),
      ['bert', 'bert-reranker', 'llama-lora', 'llama-lora-tuned', 'llama3', 'llama3-tight', 'qwen3', 'qwen3-f16']);
    assert.equal(byId.llama3.kind, 'chat');
    assert.equal(byId.llama3.context_length, LLAMA_CONTEXT);
    assert.equal(byId.qwen3.kind, 'completion');
    assert.equal(byId.qwen3.context_length, 1024, "qwen3's max_position_embeddings");
    assert.equal(byId.bert.kind, 'embedding');
    assert.equal(byId.bert.context_length, 128);
    assert.equal(byId['bert-reranker'].kind, 'rerank');
    for (const m of models) assert.equal(m.object, 'model');
  });

  for (const name of ['llama3', 'qwen3', 'qwen3-f16']) {
    test(`${name}: greedy completions of token-id prompts equal transformers' tokens`, async () => {
      const ref = golden[name.replace(/-f16$/, '')];
      for (const i of [1, 2]) {
        const prompt = Array.from(ref[`input_ids.${i}`].data);
        const greedy = Array.from(ref[`greedy.${i}`].data);
        const margin = Array.from(ref[`greedy_margin.${i}`].data);
        let exact = margin.findIndex((m) => m < (name.endsWith('-f16') ? F16_KV_MIN_MARGIN : MIN_MARGIN));
        if (exact < 0) exact = greedy.length;
        const r = await server.client().completions.create({
          model: name, prompt, temperature: 0, max_tokens: 24, logprobs: 1, return_tokens_as_token_ids: true,
        });
        const choice = r.choices[0];
        const ids = tokenIds(choice.logprobs.tokens);
        assert.equal(ids.length, 24, `24 tokens (finish_reason ${choice.finish_reason})`);
        assert.equal(choice.finish_reason, 'length');
        assert.deepEqual(ids.slice(0, exact), greedy.slice(0, exact), `prompt ${i}: the first ${exact} tokens`);
        assert.ok(exact >= 6, 'at least six tokens compared');
        assert.equal(r.usage.prompt_tokens, prompt.length);
        assert.equal(r.usage.completion_tokens, 24);
        // Greedy: each token is the top one, and its log-probability is the top entry's.
        for (let s = 0; s < 24; s++) {
          const top = choice.logprobs.top_logprobs[s];
          assert.deepEqual(Object.keys(top), [choice.logprobs.tokens[s]]);
          assert.equal(top[choice.logprobs.tokens[s]], choice.logprobs.token_logprobs[s]);
          assert.ok(choice.logprobs.token_logprobs[s] <= 0);
        }
      }
    });

    test(`${name}: the first token's top log-probabilities are the log-softmax of transformers' logits`, async () => {
      const ref = golden[name.replace(/-f16$/, '')];
      // With f16 keys and values, the bound of the engine's own tests (docs/engine.md).
      const relTol = name.endsWith('-f16') ? F16_KV_REL_TOL : REL_TOL;
      // Prompts of 1, 5, 33 and 257 tokens; the longest is read in two chunks (256 per pass).
      for (const i of [0, 1, 2, 3]) {
        const prompt = Array.from(ref[`input_ids.${i}`].data);
        const [rows, vocab] = ref[`logits.${i}`].shape;
        const last = Array.from(ref[`logits.${i}`].data.subarray((rows - 1) * vocab, rows * vocab));
        const max = Math.max(...last);
        const logZ = max + Math.log(last.reduce((sum, x) => sum + Math.exp(x - max), 0));
        const logprob = last.map((x) => x - logZ);
        const fifth = [...logprob].sort((a, b) => b - a)[4];
        const r = await server.client().completions.create({
          model: name, prompt, temperature: 0, max_tokens: 1, logprobs: 5, return_tokens_as_token_ids: true,
        });
        const top = Object.entries(r.choices[0].logprobs.top_logprobs[0])
          .map(([token, lp]) => [tokenIds([token])[0], lp]);
        assert.equal(top.length, 5);
        // Each reported value is the golden one for that token, and the five are a top five of
        // the golden distribution (compared by id, so that near-ties may come in either order).
        const tol = (x) => relTol * Math.max(1, Math.abs(x));
        for (const [id, lp] of top) {
          assert.ok(Math.abs(lp - logprob[id]) < tol(logprob[id]), `prompt ${i}, token ${id}: ${lp} against ${logprob[id]}`);
          assert.ok(logprob[id] >= fifth - tol(fifth), `prompt ${i}: token ${id} is not in the golden top five`);
        }
        // Greedy: the token taken is the golden best (or ties with it within rounding).
        const taken = tokenIds(r.choices[0].logprobs.tokens)[0];
        const best = Math.max(...logprob);
        assert.ok(logprob[taken] >= best - tol(best), `prompt ${i}: took ${taken}`);
      }
    });
  }

  test('a LoRA adapter model: listed with its base; its first token log-probabilities are peft\'s; alone = beside the base', async () => {
    const tuned = 'llama-lora-tuned';
    const models = [];
    for await (const m of server.client().models.list()) models.push(m);
    const entry = models.find((m) => m.id === tuned);
    assert.ok(entry, 'the adapter model is listed');
    assert.equal(entry.parent, 'llama-lora');
    assert.equal(entry.root, 'llama-lora');
    assert.equal(entry.owned_by, 'socle');
    assert.equal(entry.kind, 'chat');
    assert.ok(entry.created > 0);

    // peft's logits after the 40 prompt tokens, with the adapter (scaling 2).
    const ref = readSafetensors(path.join(GOLDEN, 'llama-lora', 'ref.safetensors'));
    const prompt = Array.from(ref.input_ids.data);
    const [rows, vocab] = ref.logits.shape;
    const last = Array.from(ref.logits.data.subarray((rows - 1) * vocab, rows * vocab));
    const max = Math.max(...last);
    const logZ = max + Math.log(last.reduce((sum, x) => sum + Math.exp(x - max), 0));
    const logprob = last.map((x) => x - logZ);
    const best = Math.max(...logprob);
    const tol = (x) => REL_TOL * Math.max(1, Math.abs(x));
    const ask = (model) => server.client().completions.create({
      model, prompt, temperature: 0, max_tokens: 6, logprobs: 5, return_tokens_as_token_ids: true,
    });
    const firstTop = (r) => Object.entries(r.choices[0].logprobs.top_logprobs[0])
      .map(([token, lp]) => [tokenIds([token])[0], lp]);

    const adapted = await ask(tuned);
    assert.equal(adapted.model, tuned, 'the answer names the adapter model');
    const top = firstTop(adapted);
    assert.equal(top.length, 5);
    for (const [id, lp] of top) {
      assert.ok(Math.abs(lp - logprob[id]) < tol(logprob[id]), `token ${id}: ${lp} against peft's ${logprob[id]}`);
    }
    const taken = tokenIds(adapted.choices[0].logprobs.tokens)[0];
    assert.ok(logprob[taken] >= best - tol(best), `took ${taken}, peft's best has ${best}`);

    // The base model gives its own answer, not peft's.
    const base = await ask('llama-lora');
    const baseTop = firstTop(base);
    assert.ok(baseTop.some(([id, lp]) => Math.abs(lp - logprob[id]) > 100 * tol(logprob[id])),
      'the base model differs from the adapter');

    // Both at once, several times over (one batch): each the same as alone.
    const together = await Promise.all([tuned, 'llama-lora', tuned, 'llama-lora'].map(ask));
    for (const [i, r] of together.entries()) {
      const alone = i % 2 === 0 ? adapted : base;
      assert.deepEqual(r.choices[0].logprobs, alone.choices[0].logprobs, `request ${i}`);
      assert.equal(r.choices[0].text, alone.choices[0].text);
    }

    // Chat and completions only.
    const emb = await server.fetchJson('POST', '/v1/embeddings', { model: tuned, input: 'bonjour' });
    assert.equal(emb.status, 400, emb.text);
    assert.match(emb.json.error.message, /llama-lora-tuned/);
    // Its tokens are its base's.
    const tokenized = {};
    for (const model of [tuned, 'llama-lora']) {
      const r = await server.fetchJson('POST', '/v1/tokenize', { model, prompt: 'Bonjour la mairie' });
      assert.equal(r.status, 200, r.text);
      tokenized[model] = r.json.tokens;
    }
    assert.deepEqual(tokenized[tuned], tokenized['llama-lora']);
  });

  test('chat: streamed text equals the non-streamed text; usage matches /v1/tokenize', async () => {
    const client = server.client();
    const messages = [
      { role: 'system', content: 'You are a helpful assistant for the citizens of the republic.' },
      { role: 'user', content: 'Bonjour, comment fonctionne le service public de la mairie ?' },
    ];
    const plain = await client.chat.completions.create({ model: 'llama3', messages, temperature: 0, max_tokens: 40 });
    assert.equal(plain.object, 'chat.completion');
    const message = plain.choices[0].message;
    assert.equal(message.role, 'assistant');
    assert.ok(message.content.length > 0, 'some text');

    const tokenized = await server.fetchJson('POST', '/v1/tokenize', { model: 'llama3', messages });
    assert.equal(tokenized.status, 200, tokenized.text);
    // The template's rendering, tokenised: <s>, then <|system|> ... with </s> as one token.
    assert.equal(tokenized.json.tokens[0], 1);
    assert.equal(tokenized.json.tokens.filter((t) => t === 2).length, 2);
    assert.equal(plain.usage.prompt_tokens, tokenized.json.count);
    assert.equal(plain.usage.total_tokens, plain.usage.prompt_tokens + plain.usage.completion_tokens);
    if (plain.choices[0].finish_reason === 'length') assert.equal(plain.usage.completion_tokens, 40);

    const stream = await client.chat.completions.create({
      model: 'llama3', messages, temperature: 0, max_tokens: 40, stream: true, stream_options: { include_usage: true },
    });
    let text = '';
    let usage = null;
    let finish = null;
    let chunks = 0;
    let afterUsage = 0;
    for await (const chunk of stream) {
      assert.equal(chunk.object, 'chat.completion.chunk');
      if (usage) afterUsage++;
      if (chunk.usage) {
        usage = chunk.usage;
        assert.deepEqual(chunk.choices, []);
        continue;
      }
      chunks++;
      const c = chunk.choices[0];
      if (c.delta?.content) text += c.delta.content;
      if (c.finish_reason) finish = c.finish_reason;
    }
    assert.ok(chunks > 2, `several chunks, got ${chunks}`);
    assert.equal(afterUsage, 0, 'the usage chunk is the last one');
    assert.equal(text, message.content);
    assert.equal(finish, plain.choices[0].finish_reason);
    assert.deepEqual(usage, plain.usage);
  });

  test('response_format json_object: each output is a JSON object that ends the generation, streamed or not', async () => {
    const client = server.client();
    const messages = [{ role: 'user', content: 'Réponds en JSON : la commune et son code postal.' }];
    const seeds = [1, 2, 3, 4, 5, 6, 7, 8];
    const outputs = await Promise.all(seeds.map((seed) => client.chat.completions.create({
      model: 'llama3', messages, response_format: { type: 'json_object' }, temperature: 1, seed, max_tokens: 160,
    })));
    let ended = 0;
    for (const out of outputs) {
      const choice = out.choices[0];
      const text = choice.message.content;
      assert.match(text, /^\s*\{/, 'an object from the first token on');
      if (choice.finish_reason === 'stop') {
        const value = JSON.parse(text);
        assert.ok(value !== null && typeof value === 'object' && !Array.isArray(value), text);
        assert.equal(text, text.trimEnd(), 'nothing after the object');
        ended++;
      } else {
        assert.equal(choice.finish_reason, 'length');
        assert.equal(out.usage.completion_tokens, 160);
      }
    }
    assert.ok(ended >= 1, `some objects closed within 160 tokens: ${JSON.stringify(outputs.map((o) => o.choices[0].message.content))}`);
    // Without the constraint the same seeds write anything.
    const free = await client.chat.completions.create({ model: 'llama3', messages, temperature: 1, seed: 1, max_tokens: 40 });
    assert.notEqual(free.choices[0].message.content, outputs[0].choices[0].message.content);
    // Streamed, the same seed gives the same text.
    const stream = await client.chat.completions.create({
      model: 'llama3', messages, response_format: { type: 'json_object' }, temperature: 1, seed: 1, max_tokens: 160, stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    assert.equal(text, outputs[0].choices[0].message.content);
    // A schema is refused, not ignored.
    await assert.rejects(client.chat.completions.create({
      model: 'llama3', messages, response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object' } } },
    }), (err) => {
      assert.ok(err instanceof OpenAI.BadRequestError, String(err));
      assert.equal(err.error.param, 'response_format');
      assert.match(err.error.message, /json_schema is not supported/);
      return true;
    });
  });

  test('completions: echo gives the prompt back as sent; stop strings cut the text, streamed or not', async () => {
    const client = server.client();
    const prompt = 'Bonjour, je voudrais savoir';
    const plain = await client.completions.create({ model: 'llama3', prompt, temperature: 0, max_tokens: 20 });
    const tokenized = await server.fetchJson('POST', '/v1/tokenize', { model: 'llama3', prompt });
    assert.equal(plain.usage.prompt_tokens, tokenized.json.count);
    const echoed = await client.completions.create({ model: 'llama3', prompt, temperature: 0, max_tokens: 20, echo: true });
    // The prompt as sent (not "<s>" + prompt: the BOS the encoding added is not text).
    assert.equal(echoed.choices[0].text, prompt + plain.choices[0].text);
    // A stop string taken from the middle of the greedy answer ends it just before.
    const text = plain.choices[0].text;
    assert.ok(text.length >= 6, `a long enough answer: '${text}'`);
    const stop = text.slice(3, 6);
    const cut = text.slice(0, text.indexOf(stop));
    const stopped = await client.completions.create({ model: 'llama3', prompt, temperature: 0, max_tokens: 20, stop: [stop] });
    assert.equal(stopped.choices[0].text, cut);
    assert.equal(stopped.choices[0].finish_reason, 'stop');
    const streamed = await streamCompletion(server, { model: 'llama3', prompt, temperature: 0, max_tokens: 20, stop: [stop] });
    assert.equal(streamed.text, cut);
    assert.equal(streamed.finish, 'stop');
  });

  test("completions: echo with logprobs gives the prompt's log-probabilities as transformers computes them", async () => {
    const ref = golden.llama3;
    const ids = Array.from(ref['input_ids.2'].data);
    const [, vocab] = ref['logits.2'].shape;
    const logits = ref['logits.2'].data;
    const logSoftmax = (row, token) => {
      const z = logits.subarray(row * vocab, (row + 1) * vocab);
      const max = z.reduce((m, x) => Math.max(m, x), -Infinity);
      const sum = z.reduce((acc, x) => acc + Math.exp(x - max), 0);
      return z[token] - max - Math.log(sum);
    };
    // Tokens as ids (vLLM's extension): two alternatives that decode to the same text (a
    // partial character) stay two keys.
    const body = {
      model: 'llama3', prompt: ids, temperature: 0, max_tokens: 3, echo: true, logprobs: 2, return_tokens_as_token_ids: true,
    };
    const res = await server.client().completions.create(body);
    const lp = res.choices[0].logprobs;
    assert.equal(lp.tokens.length, ids.length + 3);
    // Nothing predicts the first token; each later prompt token's is the golden row before it.
    assert.equal(lp.token_logprobs[0], null);
    assert.equal(lp.top_logprobs[0], null);
    for (let p = 1; p < ids.length; p++) {
      const want = logSoftmax(p - 1, ids[p]);
      assert.ok(Math.abs(lp.token_logprobs[p] - want) < 1e-4 * Math.max(1, Math.abs(want)),
        `position ${p}: ${lp.token_logprobs[p]} against ${want}`);
      assert.equal(lp.tokens[p], `token_id:${ids[p]}`);
      assert.equal(Object.keys(lp.top_logprobs[p]).length, 2);
    }
    // The generated part is what the same request without echo gives.
    const plain = await server.client().completions.create({ ...body, echo: false });
    assert.deepEqual(lp.token_logprobs.slice(ids.length), plain.choices[0].logprobs.token_logprobs);
    assert.ok(res.choices[0].text.endsWith(plain.choices[0].text));
    // Streamed: the same log-probabilities, the prompt's in the first event.
    const streamed = await fetch(`${server.baseURL}/v1/completions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${server.adminKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ ...body, stream: true }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const values = [];
    for (const e of (await streamed.text()).split('\n\n')) {
      if (!e.startsWith('data: {')) continue;
      const c = JSON.parse(e.slice(6));
      if (c.choices.length && c.choices[0].logprobs) values.push(...c.choices[0].logprobs.token_logprobs);
    }
    assert.deepEqual(values, lp.token_logprobs);
  });

  test('embeddings: float and base64 agree bitwise and match transformers (mean pooling)', async () => {
    const ref = golden.bert;
    const [rows, width] = ref.input_ids.shape;
    const dim = ref.mean.shape[1];
    const inputs = [];
    for (let r = 0; r < rows; r++) {
      const ids = [];
      for (let t = 0; t < width; t++) if (ref.attention_mask.data[r * width + t]) ids.push(ref.input_ids.data[r * width + t]);
      inputs.push(ids);
    }
    const client = server.client();
    const asFloat = await client.embeddings.create({ model: 'bert', input: inputs, encoding_format: 'float' });
    const asBase64 = await server.fetchJson('POST', '/v1/embeddings', { model: 'bert', input: inputs, encoding_format: 'base64' });
    assert.equal(asBase64.status, 200, asBase64.text);
    // The SDK asks for base64 when encoding_format is unset, and decodes it to floats.
    const sdkDefault = await client.embeddings.create({ model: 'bert', input: inputs });
    assert.equal(asFloat.usage.prompt_tokens, inputs.flat().length);
    for (let r = 0; r < rows; r++) {
      const floats = asFloat.data[r].embedding;
      assert.equal(asFloat.data[r].index, r);
      assert.equal(floats.length, dim);
      const b64 = asBase64.json.data[r].embedding;
      assert.equal(typeof b64, 'string');
      const bytes = Buffer.from(b64, 'base64');
      assert.equal(bytes.length, dim * 4);
      const decoded = Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, dim));
      // Bitwise: each JSON number is the float32 the base64 bytes hold.
      assert.deepEqual(floats.map((x) => Math.fround(x)), decoded);
      assert.deepEqual(floats, decoded, 'the JSON numbers are the float32 values exactly');
      assert.deepEqual(Array.from(sdkDefault.data[r].embedding), decoded);
      const mean = Array.from(ref.mean.data.subarray(r * dim, (r + 1) * dim));
      const cls = Array.from(ref.cls.data.subarray(r * dim, (r + 1) * dim));
      const err = relError(decoded, mean);
      assert.ok(err < REL_TOL, `row ${r}: relative error ${err} against the golden mean`);
      assert.ok(relError(decoded, cls) > 100 * REL_TOL, 'mean pooling, not the first token');
    }
    // A text naming the same ids embeds to the same vector.
    const text = inputs[0].map(wordOf).join(' ');
    const fromText = await client.embeddings.create({ model: 'bert', input: text, encoding_format: 'float' });
    assert.deepEqual(fromText.data[0].embedding, asFloat.data[0].embedding);
    assert.equal(fromText.usage.prompt_tokens, inputs[0].length);
  });

  test('a RAG collection on the local models: semantic search finds the document its query repeats; reranking = /v1/rerank', async () => {
    const ref = golden.bert;
    const [rows, width] = ref.input_ids.shape;
    const texts = [];
    for (let r = 0; r < rows; r++) {
      const ids = [];
      for (let t = 0; t < width; t++) if (ref.attention_mask.data[r * width + t]) ids.push(ref.input_ids.data[r * width + t]);
      texts.push(ids.filter((id) => id > 1).map(wordOf).join(' '));
    }
    const made = await server.fetchJson('POST', '/v1/collections', { name: 'local-rag', embedding_model: 'bert' });
    assert.equal(made.status, 201, made.text);
    const collection = made.json.id;
    // Chunk sizes count the model's own tokens (its folder's tokenizer).
    assert.equal(made.json.chunk_unit, 'tokens', made.text);
    const documents = [];
    for (let r = 0; r < rows; r++) {
      const form = new FormData();
      form.append('collection', String(collection));
      form.append('file', new Blob([texts[r]], { type: 'text/plain' }), `row${r}.txt`);
      const res = await fetch(`${server.baseURL}/v1/documents`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${server.adminKey}` },
        body: form,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const body = await res.json();
      assert.equal(res.status, 201, JSON.stringify(body));
      documents.push(body.id);
    }
    for (const id of documents) {
      let doc = null;
      for (let i = 0; i < 300; i++) {
        doc = (await server.fetchJson('GET', `/v1/documents/${id}`)).json;
        if (doc.status === 'ready' || doc.status === 'failed') break;
        await sleep(100);
      }
      assert.equal(doc.status, 'ready', JSON.stringify(doc));
    }
    // Each row's text as the query: semantic search ranks that row's document first.
    for (let r = 0; r < rows; r++) {
      const found = await server.fetchJson('POST', '/v1/search', {
        prompt: texts[r], collections: [collection], method: 'semantic', k: rows,
      });
      assert.equal(found.status, 200, found.text);
      assert.equal(found.json.data.length, rows);
      assert.equal(found.json.data[0].chunk.document_id, documents[r], found.text);
      assert.ok(found.json.data[0].score > found.json.data[1].score);
    }
    // Reranked by the local cross-encoder: each hit's rerank_score is what /v1/rerank gives
    // the same query and chunk, and the hits come in that order.
    const reranked = await server.fetchJson('POST', '/v1/search', {
      prompt: texts[0], collections: [collection], method: 'semantic', k: rows, rerank_model: 'bert-reranker',
    });
    assert.equal(reranked.status, 200, reranked.text);
    const hits = reranked.json.data;
    assert.equal(hits.length, rows);
    const direct = await server.fetchJson('POST', '/v1/rerank', {
      model: 'bert-reranker', query: texts[0], documents: hits.map((h) => h.chunk.content),
    });
    assert.equal(direct.status, 200, direct.text);
    for (const { index, relevance_score: score } of direct.json.results) {
      assert.equal(hits[index].rerank_score, score, `hit ${index}`);
    }
    for (let i = 1; i < hits.length; i++) assert.ok(hits[i - 1].score >= hits[i].score);

    // Chat with documents on the local chat model: the answer carries the hits /v1/search
    // gives, and the model saw exactly the documented system message of numbered sources:
    // the same greedy tokens and prompt size as that message sent by hand.
    const question = texts[1];
    const search = { collections: [collection], method: 'semantic', k: 1 };
    const asked = {
      model: 'llama3', messages: [{ role: 'user', content: question }], temperature: 0, max_tokens: 8,
    };
    const withDocs = await server.fetchJson('POST', '/v1/chat/completions', { ...asked, search });
    assert.equal(withDocs.status, 200, withDocs.text);
    const sources = withDocs.json.search_results;
    const expected = await server.fetchJson('POST', '/v1/search', { prompt: question, ...search });
    assert.deepEqual(sources.map((h) => h.chunk.id), expected.json.data.map((h) => h.chunk.id));
    assert.equal(sources[0].chunk.document_id, documents[1]);
    let system = 'Answer with the help of the numbered sources below. Cite the sources you use as [1], [2], ... If they do not hold the answer, say so.\n';
    sources.forEach((h, i) => { system += `\n[${i + 1}] ${h.chunk.document_name}\n${h.chunk.content}\n`; });
    const byHand = await server.fetchJson('POST', '/v1/chat/completions', {
      ...asked, messages: [{ role: 'system', content: system }, ...asked.messages],
    });
    assert.equal(byHand.status, 200, byHand.text);
    assert.equal(withDocs.json.choices[0].message.content, byHand.json.choices[0].message.content);
    assert.deepEqual(withDocs.json.usage, byHand.json.usage);
    // Streaming: a first chunk with no choices carries the sources.
    const streamed = await fetch(`${server.baseURL}/v1/chat/completions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${server.adminKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ ...asked, search, stream: true }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    assert.equal(streamed.status, 200);
    const events = (await streamed.text()).split('\n\n').filter((e) => e.startsWith('data: '));
    const first = JSON.parse(events[0].slice(6));
    assert.deepEqual(first.choices, []);
    assert.deepEqual(first.search_results.map((h) => h.chunk.id), sources.map((h) => h.chunk.id));
    let text = '';
    for (const e of events.slice(1)) {
      if (e === 'data: [DONE]') break;
      const c = JSON.parse(e.slice(6));
      if (c.choices.length) text += c.choices[0].delta.content ?? '';
    }
    assert.equal(text, byHand.json.choices[0].message.content);
  });

  test('rerank: raw scores equal transformers; relevance is their sigmoid, in order', async () => {
    const ref = golden['bert-reranker'];
    const [rows, width] = ref.input_ids.shape;
    const query = [];
    const documents = [];
    // Each golden row as a query (its first three ids) and a document (the rest): the
    // tokenizer has no [CLS]/[SEP], so the pair's ids are the row's, all of token type 0 as
    // transformers ran them.
    for (let r = 0; r < rows; r++) {
      const ids = [];
      for (let t = 0; t < width; t++) if (ref.attention_mask.data[r * width + t]) ids.push(ref.input_ids.data[r * width + t]);
      query.push(ids.slice(0, 3).map(wordOf).join(' '));
      documents.push(ids.slice(3).map(wordOf).join(' '));
    }
    for (let r = 0; r < rows; r++) {
      const raw = await server.fetchJson('POST', '/v1/rerank', {
        model: 'bert-reranker', query: query[r], documents: [documents[r]], raw_scores: true,
      });
      assert.equal(raw.status, 200, raw.text);
      const got = raw.json.results[0].relevance_score;
      const want = ref.logits.data[r];
      assert.ok(Math.abs(got - want) <= REL_TOL * Math.abs(want), `row ${r}: ${got} against ${want}`);
    }
    // One query, every document: sorted by score, relevance = sigmoid(raw).
    const body = { model: 'bert-reranker', query: query[0], documents };
    const raw = await server.fetchJson('POST', '/v1/rerank', { ...body, raw_scores: true });
    const sig = await server.fetchJson('POST', '/v1/rerank', { ...body, top_n: 2, return_documents: true });
    assert.equal(sig.status, 200, sig.text);
    assert.equal(raw.json.results.length, rows);
    assert.equal(sig.json.results.length, 2);
    for (let i = 0; i < raw.json.results.length; i++) {
      if (i > 0) assert.ok(raw.json.results[i - 1].relevance_score >= raw.json.results[i].relevance_score);
    }
    for (let i = 0; i < 2; i++) {
      const s = sig.json.results[i];
      assert.equal(s.index, raw.json.results[i].index);
      assert.equal(s.document.text, documents[s.index]);
      const expect = 1 / (1 + Math.exp(-raw.json.results[i].relevance_score));
      assert.ok(Math.abs(s.relevance_score - expect) < 1e-12, `${s.relevance_score} against ${expect}`);
    }
    // Usage counts the pairs' tokens: the query's three ids with each document's.
    const documentTokens = documents.reduce((n, d) => n + d.split(' ').length, 0);
    assert.equal(raw.json.usage.prompt_tokens, 3 * rows + documentTokens);
  });

  test(`${CONCURRENT} concurrent seeded streams each equal the same request run alone, bitwise`, async () => {
    const counter = async (name) => (await server.metric(`${name}{model="llama3"}`)) ?? 0;
    const hitsBefore = await counter('socle_engine_prefix_cache_hit_tokens_total');
    const stepsBefore = await counter('socle_engine_steps_total');
    const generatedBefore = await counter('socle_engine_generated_tokens_total');
    const prefix = 'You are a helpful assistant for the citizens of the republic. Answer briefly. '.repeat(3);
    const topics = ['la mairie', 'the weather', 'sovereign cloud hosting', 'public data', 'the quick brown fox',
      'documents', 'une question', 'the republic'];
    const requests = [];
    for (let i = 0; i < CONCURRENT; i++) {
      const shared = i % 2 === 0;  // half share a prefix of several KV blocks
      const prompt = shared ? `${prefix}Question ${i}: ${topics[i % topics.length]}?` : `Question ${i} about ${topics[i % topics.length]}, ${'x'.repeat(i % 7)}`;
      // Requests 0..7 are repeated as 56..63: the same prompt and seed at the same time.
      const j = i >= CONCURRENT - 8 ? i - (CONCURRENT - 8) : i;
      requests.push({
        model: 'llama3',
        prompt: i >= CONCURRENT - 8 ? requests[j].prompt : prompt,
        temperature: 0.8,
        seed: 1000 + j,
        max_tokens: 12 + (j % 5) * 4,
        logprobs: 2,
        return_tokens_as_token_ids: true,
      });
    }
    const loaded = await Promise.all(requests.map((body) => streamCompletion(server, body)));
    for (const [i, r] of loaded.entries()) {
      assert.ok(r.done, `stream ${i} ended with [DONE]`);
      // A sampled </s> (id 2, a stop token: not sent) may end it early.
      if (r.finish === 'length') assert.equal(r.tokens.length, requests[i].max_tokens, `stream ${i}`);
      else assert.ok(r.finish === 'stop' && r.tokens.length < requests[i].max_tokens, `stream ${i}: ${r.finish}`);
      assert.equal(r.top.length, r.tokens.length);
    }
    const hitsAfter = await counter('socle_engine_prefix_cache_hit_tokens_total');
    assert.ok(hitsAfter > hitsBefore, `prefix-cache hits ${hitsBefore} -> ${hitsAfter}`);
    // Continuous batching: the forward passes carried several sequences' tokens each.
    const steps = (await counter('socle_engine_steps_total')) - stepsBefore;
    const generated = (await counter('socle_engine_generated_tokens_total')) - generatedBefore;
    assert.ok(steps * 4 < generated, `${steps} forward passes for ${generated} sampled tokens`);

    // The same seed under load: the repeated requests equal their twins.
    for (let i = CONCURRENT - 8; i < CONCURRENT; i++) {
      const twin = loaded[i - (CONCURRENT - 8)];
      assert.deepEqual({ ...loaded[i], chunks: 0 }, { ...twin, chunks: 0 }, `request ${i} and its twin`);
    }
    // Different seeds on one prompt sample differently (else the comparisons prove little).
    const sameTwo = await Promise.all([1, 2].map((k) => streamCompletion(server, { ...requests[0], seed: 5000 + k })));
    assert.notDeepEqual(sameTwo[0].tokens, sameTwo[1].tokens);

    // Each alone, afterwards: bitwise the same text, tokens and log-probabilities.
    for (let i = 0; i < CONCURRENT - 8; i++) {
      const alone = await streamCompletion(server, requests[i]);
      const { text, tokens, logprobs, top, finish } = loaded[i];
      assert.deepEqual(
        { text: alone.text, tokens: alone.tokens, logprobs: alone.logprobs, top: alone.top, finish: alone.finish },
        { text, tokens, logprobs, top, finish },
        `request ${i} alone differs from under load`,
      );
    }
  });

  test('short of KV blocks, preempted sequences still give the output they give alone', async () => {
    const tight = 'llama3-tight';
    const preemptedBefore = (await server.metric(`socle_engine_preemptions_total{model="${tight}"}`)) ?? 0;
    const requests = [];
    for (let i = 0; i < 32; i++) {
      requests.push({
        model: tight,
        prompt: `Question ${i}: ${'Les administrations publiques servent les usagers. '.repeat(1 + (i % 3))}`,
        temperature: 0.8,
        seed: 2000 + i,
        max_tokens: 48,
        logprobs: 1,
        return_tokens_as_token_ids: true,
        logit_bias: { 2: -100 },  // no early </s>: every sequence keeps its blocks to the end
      });
    }
    const loaded = await Promise.all(requests.map((body) => streamCompletion(server, body)));
    const preempted = await server.metric(`socle_engine_preemptions_total{model="${tight}"}`);
    assert.ok(preempted > preemptedBefore, `preemptions ${preemptedBefore} -> ${preempted}`);
    for (const [i, r] of loaded.entries()) {
      assert.ok(r.done, `stream ${i} ended with [DONE]`);
      assert.equal(r.tokens.length, 48, `stream ${i}: ${r.finish}`);
      // Alone, on the model with room to spare (the same weights): bitwise the same.
      const alone = await streamCompletion(server, { ...requests[i], model: 'llama3' });
      assert.deepEqual([alone.text, alone.tokens, alone.logprobs, alone.top], [r.text, r.tokens, r.logprobs, r.top],
        `request ${i} preempted under load differs from alone`);
    }
    assert.equal(await server.metric(`socle_engine_kv_blocks{model="${tight}",state="used"}`), 0);
  });

  test('an aborted stream cancels its sequence and frees its KV blocks', async () => {
    const series = (s) => server.metric(s);
    const cancelledBefore = (await series('socle_engine_sequences_cancelled_total{model="llama3"}')) ?? 0;
    const controller = new AbortController();
    let usedWhileRunning = -1;
    // logit_bias bans </s>: the sequence cannot end by itself before its 400 tokens.
    const body = { model: 'llama3', prompt: 'Bonjour, je voudrais savoir', max_tokens: 400, temperature: 0.8, seed: 7, logit_bias: { 2: -100 } };
    await assert.rejects(
      streamCompletion(server, body, {
        signal: controller.signal,
        onChunk: async (out) => {
          if (out.chunks !== 3) return;
          // Mid-way: the sequence is running and holds blocks.
          usedWhileRunning = await series('socle_engine_kv_blocks{model="llama3",state="used"}');
          controller.abort();
        },
      }),
      (err) => err.name === 'AbortError',
    );
    assert.ok(usedWhileRunning > 0, `KV blocks in use while generating: ${usedWhileRunning}`);
    await eventually('the cancelled counter grows', async () =>
      (await series('socle_engine_sequences_cancelled_total{model="llama3"}')) > cancelledBefore);
    await eventually('no KV block used once idle', async () =>
      (await series('socle_engine_kv_blocks{model="llama3",state="used"}')) === 0 &&
      (await series('socle_engine_sequences{model="llama3",state="running"}')) === 0);
  });

  test('a stream dropped at shutdown is still counted, with the tokens it generated', async () => {
    // Its own server, stopped with a stream under way that outlasts a grace period of 100 ms.
    const stopping = new SocleServer({ name: 'stopping', dir });
    const start = () => stopping.start({
      args: ['--model', folders.llama], env: { SOCLE_HTTP_SHUTDOWN_GRACE_MS: '100' },
    });
    await start();
    const body = { model: 'llama3', prompt: 'Bonjour', max_tokens: 400, temperature: 0.8, seed: 7, logit_bias: { 2: -100 } };
    let stopped = null;
    let streamed = 0;
    await streamCompletion(stopping, body, {
      onChunk: async (out) => {
        streamed = out.chunks;
        if (out.chunks === 3) stopped = stopping.stop({ keepDir: true });
      },
    }).catch(() => {}); // the connection is dropped: how the stream ends does not matter here
    assert.ok(stopped, 'the stream reached its third chunk');
    const exit = await stopped;
    assert.equal(exit.code, 0, stopping.log());
    assert.doesNotMatch(stopping.log(), /unrecorded|usage writer stopped/);
    await start();
    try {
      const usage = await stopping.fetchJson('GET', '/v1/admin/usage');
      assert.equal(usage.status, 200, usage.text);
      assert.equal(usage.json.data.length, 1, usage.text);
      const [row] = usage.json.data;
      assert.equal(row.status, 499, usage.text);
      assert.ok(row.completion_tokens >= streamed && row.completion_tokens < 400, usage.text);
    } finally {
      assert.equal((await stopping.stop({ keepDir: true })).code, 0, stopping.log());
    }
  });

  test('socle as the upstream of another socle relays a chat', async () => {
    const created = await server.fetchJson('POST', '/v1/me/keys', { name: 'relay' });
    assert.equal(created.status, 201, created.text);
    const key = created.json.key;
    assert.match(key, /^sk-/);
    await relay.start({
      config: [
        '[[models]]', 'name = "relayed"', 'kind = "chat"',
        '[[models.providers]]', 'kind = "openai"', `url = "${server.baseURL}/v1"`, 'model = "llama3"',
        'api_key_env = "UPSTREAM_SOCLE_KEY"', '',
      ].join('\n'),
      env: { UPSTREAM_SOCLE_KEY: key },
    });
    const messages = [{ role: 'user', content: 'Please answer the question in one short sentence.' }];
    const direct = await server.client().chat.completions.create({ model: 'llama3', messages, temperature: 0, max_tokens: 16 });
    const relayed = await relay.client().chat.completions.create({ model: 'relayed', messages, temperature: 0, max_tokens: 16 });
    // The upstream's answer comes back as it is (docs/api.md), its model name included.
    assert.equal(relayed.model, 'llama3');
    assert.equal(relayed.choices[0].message.content, direct.choices[0].message.content);
    assert.deepEqual(relayed.usage, direct.usage);
    const stream = await relay.client().chat.completions.create({
      model: 'relayed', messages, temperature: 0, max_tokens: 16, stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    assert.equal(text, direct.choices[0].message.content);
    // The relay's key is not the engine server's: it is refused there.
    await assert.rejects(server.client(relay.adminKey).models.list(), (err) => err.status === 401);
  });

  test('errors come in OpenAI\'s shape and say what to fix', async () => {
    const client = server.client();
    const long = Array.from({ length: LLAMA_CONTEXT + 10 }, (_, i) => 3 + (i % 500));
    await assert.rejects(client.completions.create({ model: 'llama3', prompt: long, max_tokens: 4 }), (err) => {
      assert.ok(err instanceof OpenAI.BadRequestError, String(err));
      assert.equal(err.error.type, 'invalid_request_error');
      assert.match(err.error.message, new RegExp(`${LLAMA_CONTEXT}`));
      assert.equal(err.error.param, 'prompt');
      return true;
    });
    await assert.rejects(client.embeddings.create({ model: 'bert', input: [long.slice(0, 129)] }), (err) => {
      assert.ok(err instanceof OpenAI.BadRequestError, String(err));
      assert.match(err.error.message, /129 tokens; this model reads at most 128/);
      return true;
    });
    await assert.rejects(client.chat.completions.create({
      model: 'llama3', messages: [{ role: 'user', content: 'Bonjour '.repeat(LLAMA_CONTEXT) }],
    }), (err) => {
      assert.ok(err instanceof OpenAI.BadRequestError, String(err));
      assert.equal(err.error.param, 'messages');
      assert.match(err.error.message, new RegExp(`context holds ${LLAMA_CONTEXT} tokens`));
      return true;
    });
    await assert.rejects(client.completions.create({ model: 'llama3', prompt: 'Bonjour', max_tokens: LLAMA_CONTEXT }), (err) => {
      assert.equal(err.status, 400);
      assert.equal(err.error.param, 'max_tokens');
      return true;
    });
    await assert.rejects(client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }), (err) => {
      assert.ok(err instanceof OpenAI.NotFoundError, String(err));
      assert.equal(err.code, 'model_not_found');
      return true;
    });
    await assert.rejects(client.embeddings.create({ model: 'llama3', input: 'Bonjour' }), (err) => {
      assert.ok(err instanceof OpenAI.BadRequestError, String(err));
      assert.match(err.error.message, /llama3|embedding/);
      return true;
    });
    await assert.rejects(client.chat.completions.create({
      model: 'llama3',
      messages: [{ role: 'user', content: 'What is the weather?' }],
      tools: [{ type: 'function', function: { name: 'weather', parameters: { type: 'object', properties: {} } } }],
    }), (err) => {
      assert.ok(err instanceof OpenAI.BadRequestError, String(err));
      assert.equal(err.error.param, 'tools');
      assert.match(err.error.message, /not supported/);
      return true;
    });
    const chatOnCompletionModel = await server.fetchJson('POST', '/v1/chat/completions', {
      model: 'qwen3', messages: [{ role: 'user', content: 'x' }],
    });
    assert.equal(chatOnCompletionModel.status, 400, chatOnCompletionModel.text);
    assert.equal(chatOnCompletionModel.json.error.type, 'invalid_request_error');
    const rerankOnEmbedder = await server.fetchJson('POST', '/v1/rerank', { model: 'bert', query: 'a', documents: ['b'] });
    assert.equal(rerankOnEmbedder.status, 400, rerankOnEmbedder.text);
    // A query longer than the reranker reads is refused at once, not encoded with each of
    // 2,048 documents first (a 300 KB query held a thread for minutes).
    const longQuery = await server.fetchJson('POST', '/v1/rerank', {
      model: 'bert-reranker', query: 't5 '.repeat(100_000), documents: Array(2048).fill('t6'),
    });
    assert.equal(longQuery.status, 400, longQuery.text);
    assert.equal(longQuery.json.error.param, 'query', longQuery.text);
    const longPair = await server.fetchJson('POST', '/v1/rerank', {
      model: 'bert-reranker', query: 't5', documents: ['t6', 't7 '.repeat(1000)],
    });
    assert.equal(longPair.status, 400, longPair.text);
    assert.match(longPair.json.error.message, /documents\[1\]/, longPair.text);
  });

  test('`socle serve --model DIR` serves each folder under its name, of the kind its files say', async () => {
    // No config file: the quick case, with the defaults (a 1 GiB KV cache, one thread per core).
    await quick.start({ args: ['--model', folders.llama, '--model', `${folders.bert}/`, '--model', folders.reranker] });
    const models = [];
    for await (const m of quick.client().models.list()) models.push([m.id, m.kind, m.context_length]);
    assert.deepEqual(models.sort(), [
      ['bert', 'embedding', 128], ['bert-reranker', 'rerank', 128], ['llama3', 'chat', 1024],
    ]);
    const messages = [{ role: 'user', content: 'Bonjour' }];
    const there = await quick.client().chat.completions.create({ model: 'llama3', messages, temperature: 0, max_tokens: 8 });
    const here = await server.client().chat.completions.create({ model: 'llama3', messages, temperature: 0, max_tokens: 8 });
    assert.equal(there.choices[0].message.content, here.choices[0].message.content);
    const e = await quick.client().embeddings.create({ model: 'bert', input: [[5, 6, 7]], encoding_format: 'float' });
    const f = await server.client().embeddings.create({ model: 'bert', input: [[5, 6, 7]], encoding_format: 'float' });
    assert.deepEqual(e.data[0].embedding, f.data[0].embedding);
    const r = await quick.fetchJson('POST', '/v1/rerank', { model: 'bert-reranker', query: 't5', documents: ['t6 t7'] });
    assert.equal(r.status, 200, r.text);
  });
});
