// socle's bert-family GGUF files in llama.cpp itself: the golden bert and xlm-roberta folders
// (with a generated WordPiece tokenizer of their 512 ids and BERT's [CLS] and [SEP], as
// llama.cpp loads no model without a vocabulary) are converted by `socle model convert`, then
// embedded by npm node-llama-cpp's prebuilt CPU binary (llama.cpp's own loader, graph and
// kernels) and by `socle model embed` on the same file. node-llama-cpp puts [CLS] and [SEP]
// around its input, so each golden row is embedded so framed; both engines must agree within
// the error of llama.cpp's GELU (ggml computes the tanh approximation through a float16
// table where transformers and socle compute erf). That socle's file gives transformers'
// states on the golden rows is checked in tests/unit/engine/models/bert_gguf_test.cc.
//
// Run: SOCLE_BINARY=build/dev/src/cli/socle SOCLE_GOLDEN=../shared/golden \
//        node --test tests/e2e/gguf_llamacpp.test.mjs
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';

import { BERT_CLS, BERT_SEP, bertWordPiece, modelFolder, readSafetensors } from './serving_fixtures.mjs';
import { BINARY, childEnv, SocleServer } from './server.mjs';

const execFileAsync = promisify(execFile);
const ROWS = 3;
const ROW_LENGTH = 64;
// llama.cpp's GELU is the tanh approximation looked up in a float16 table (measured 2.5e-4 and
// 3.2e-4 on these models); a misplaced tensor or position gives errors of order 1.
const LLAMACPP_TOLERANCE = 2e-3;

function normalized(v) {
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => x / norm);
}

function relError(got, want) {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num += (got[i] - want[i]) ** 2;
    den += want[i] ** 2;
  }
  return Math.sqrt(num / den);
}

describe('bert-family GGUF files socle writes, in llama.cpp', () => {
  let dir;
  let llama;

  before(async () => {
    assert.ok(BINARY, 'SOCLE_BINARY must name the socle binary to test');
    dir = await mkdtemp(path.join(tmpdir(), 'socle-gguf-'));
    llama = await getLlama({
      gpu: false,
      build: 'never',
      usePrebuiltBinaries: true,
      progressLogs: false,
      logLevel: LlamaLogLevel.error,
    });
  });

  after(async () => {
    await llama?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const name of ['bert', 'xlm-roberta']) {
    test(`${name}: llama.cpp embeds the converted file as socle does`, async () => {
      const folder = await modelFolder(dir, name, bertWordPiece(512));
      const file = path.join(dir, `${name}.gguf`);
      await execFileAsync(BINARY, ['model', 'convert', '--from', folder, '--to', file, '--type', 'f32'], {
        env: childEnv(),
      });
      const ref = readSafetensors(path.join(process.env.SOCLE_GOLDEN, name, 'ref.safetensors'));
      const model = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
      const context = await model.createEmbeddingContext({ contextSize: 128, threads: 1 });
      let worst = 0;
      for (let r = 0; r < ROWS; r++) {
        const ids = [BERT_CLS];
        for (let t = 0; t < ROW_LENGTH; t++) {
          if (ref.attention_mask.data[r * ROW_LENGTH + t]) ids.push(ref.input_ids.data[r * ROW_LENGTH + t]);
        }
        ids.push(BERT_SEP);
        const dim = ref.mean.shape[1];
        const fromLlama = normalized((await context.getEmbeddingFor(ids)).vector);
        const { stdout } = await execFileAsync(
          BINARY, ['model', 'embed', '--model', file, '--tokens', ids.join(',')], { env: childEnv() },
        );
        // The GGUF file's pooling (mean), normalised.
        const fromSocle = JSON.parse(stdout);
        assert.equal(fromLlama.length, dim);
        assert.equal(fromSocle.length, dim);
        worst = Math.max(worst, relError(fromLlama, fromSocle));
      }
      console.log(`${name}: llama.cpp's embeddings differ from socle's by ${worst.toExponential(2)}`);
      assert.ok(worst < LLAMACPP_TOLERANCE, `llama.cpp against socle: ${worst}`);
      await context.dispose();
      await model.dispose();
    });
  }

  test('socle serve --model FILE.gguf serves a bert GGUF file as an embedding model', async () => {
    const file = path.join(dir, 'bert.gguf');  // written by the test above
    const server = new SocleServer({ name: 'bert-gguf', dir });
    await server.start({ args: ['--model', file] });
    try {
      const models = await server.fetchJson('GET', '/v1/models');
      assert.equal(models.json.data[0].id, 'bert');
      assert.equal(models.json.data[0].kind, 'embedding');
      const ids = [BERT_CLS, 17, 250, 31, BERT_SEP];
      const served = await server.fetchJson('POST', '/v1/embeddings', { model: 'bert', input: [ids] });
      assert.equal(served.status, 200, served.text);
      const { stdout } = await execFileAsync(
        BINARY, ['model', 'embed', '--model', file, '--tokens', ids.join(',')], { env: childEnv() },
      );
      // The CLI prints each float32 with the 9 digits that identify it; the API the float32's
      // exact decimal: the same float32 values.
      assert.deepEqual(served.json.data[0].embedding.map(Math.fround), JSON.parse(stdout).map(Math.fround));
      // Text goes through the tokenizer the file carries, [CLS] and [SEP] included.
      const text = await server.fetchJson('POST', '/v1/embeddings', { model: 'bert', input: 't17 t250 t31' });
      assert.equal(text.status, 200, text.text);
      assert.equal(text.json.usage.prompt_tokens, ids.length);
      assert.deepEqual(text.json.data[0].embedding, served.json.data[0].embedding);
    } finally {
      await server.stop();
    }
  });
});
