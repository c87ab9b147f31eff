// End-to-end: the official `openai` npm package through socle's gateway to an upstream
// (tests/support/fake_upstream.mjs), streaming included: what an application built on the
// SDK sees when socle stands in front of an engine.
//
// Run: SOCLE_BINARY=build/dev/src/cli/socle node --test tests/e2e/gateway_sdk.test.mjs
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';

const BINARY = process.env.SOCLE_BINARY ? path.resolve(process.env.SOCLE_BINARY) : '';
const UPSTREAM = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'support', 'fake_upstream.mjs');
const START_TIMEOUT_MS = 20_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function cleanEnv() {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SOCLE_')));
}

// Starts a program that writes its port to --port-file; resolves with { proc, port }.
async function startWithPortFile(dir, name, cmd, args) {
  const portFile = path.join(dir, `${name}.port`);
  let stderr = '';
  const proc = spawn(cmd, [...args, '--port-file', portFile], { cwd: dir, env: cleanEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
  proc.stderr.on('data', (d) => { stderr = (stderr + d).slice(-16_384); });
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const text = await readFile(portFile, 'utf8').catch(() => '');
    if (text.trim()) return { proc, port: Number(text.trim()), stderr: () => stderr };
    if (proc.exitCode !== null) break;
    await sleep(20);
  }
  proc.kill('SIGKILL');
  throw new Error(`${name} did not start:\n${stderr}`);
}

async function stop(p) {
  if (!p || p.proc.exitCode !== null) return p?.proc.exitCode;
  const exited = new Promise((r) => p.proc.once('exit', (code) => r(code)));
  p.proc.kill('SIGTERM');
  let timer;
  const timeout = new Promise((r) => { timer = setTimeout(() => r('timeout'), 10_000); });
  const code = await Promise.race([exited, timeout]);
  clearTimeout(timer);  // a pending timer would keep the test process alive
  if (code === 'timeout') p.proc.kill('SIGKILL');
  return code;
}

describe('openai SDK through the gateway', () => {
  let dir;
  let upstream;
  let socle;
  let client;

  before(async () => {
    assert.ok(BINARY, 'SOCLE_BINARY must name the socle binary to test');
    dir = await mkdtemp(path.join(tmpdir(), 'socle-e2e-gw-'));
    upstream = await startWithPortFile(dir, 'upstream', process.execPath, [UPSTREAM, '--name', 'up']);
    await writeFile(path.join(dir, 'socle.toml'), [
      '[[models]]', 'name = "assistant"', 'aliases = ["gpt-4o-mini"]',
      '[[models.providers]]', `url = "http://127.0.0.1:${upstream.port}/v1"`, 'model = "upstream-llm"',
      '[[models]]', 'name = "embedder"', 'kind = "embedding"',
      '[[models.providers]]', `url = "http://127.0.0.1:${upstream.port}/v1"`, '',
    ].join('\n'));
    socle = await startWithPortFile(dir, 'socle', BINARY,
      ['serve', '--listen', '127.0.0.1:0', '--data', path.join(dir, 'data'), '--config', path.join(dir, 'socle.toml')]);
    const apiKey = (await readFile(path.join(dir, 'data', 'admin-key'), 'utf8')).trim();
    client = new OpenAI({ apiKey, baseURL: `http://127.0.0.1:${socle.port}/v1`, maxRetries: 0 });
  });

  after(async () => {
    const code = await stop(socle);
    await stop(upstream);
    if (dir) await rm(dir, { recursive: true, force: true });
    assert.equal(code, 0, `socle did not exit cleanly:\n${socle?.stderr()}`);
  });

  test('models.list() shows the configured models', async () => {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    assert.deepEqual(ids, ['assistant', 'embedder']);
  });

  test('chat.completions.create() answers through the upstream, by name or alias', async () => {
    for (const model of ['assistant', 'gpt-4o-mini']) {
      const r = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Bonjour' }] });
      assert.equal(r.choices[0].message.content, 'Hello from up');
      assert.equal(r.usage.prompt_tokens, 11);
    }
  });

  test('a streamed chat arrives chunk by chunk, with usage when asked', async () => {
    const stream = await client.chat.completions.create({
      model: 'assistant', stream: true, stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'Bonjour' }],
    });
    let text = '';
    let chunks = 0;
    let usage = null;
    for await (const chunk of stream) {
      chunks++;
      if (chunk.choices[0]?.delta?.content) text += chunk.choices[0].delta.content;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, 'Hello from up');
    assert.ok(chunks >= 4, `expected several chunks, got ${chunks}`);
    assert.equal(usage.completion_tokens, 3);
  });

  test('embeddings.create() returns one vector per input', async () => {
    const r = await client.embeddings.create({ model: 'embedder', input: ['un', 'deux'] });
    assert.equal(r.data.length, 2);
    assert.equal(r.data[1].index, 1);
  });

  test('an unknown model is a NotFoundError with code model_not_found', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }),
      (err) => err instanceof OpenAI.NotFoundError && err.code === 'model_not_found',
    );
  });
});
