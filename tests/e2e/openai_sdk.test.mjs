// End-to-end: the official `openai` npm package drives the real socle binary.
//
// Starts `socle serve` on an ephemeral loopback port with a temporary data directory, then
// checks what a client built on the SDK sees: the model list, authentication failures, a
// missing route, keys created and revoked over HTTP, and keys created and revoked with
// `socle admin` while the server runs (the server polls the store every 250 ms).
//
// Run: SOCLE_BINARY=build/dev/src/cli/socle node --test tests/e2e/openai_sdk.test.mjs
// (ctest does this: tests/e2e/CMakeLists.txt). Loopback only; nothing is downloaded.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI, { toFile } from 'openai';

import { sleep, SocleServer } from './server.mjs';

const STOP_TIMEOUT_MS = 10_000;
// The server polls the store every 250 ms; a CLI change must show within a second. The bound
// leaves room for a loaded machine (sanitizer build, ctest -j), and the test reports the time.
const CLI_CHANGE_BOUND_MS = 2_000;

const server = new SocleServer({ startTimeoutMs: 20_000, requestTimeoutMs: 10_000 });

function client(apiKey) {
  // No retries: every failure must come from the first answer, not a retried one.
  return new OpenAI({ apiKey, baseURL: `${server.baseURL}/v1`, maxRetries: 0, timeout: 10_000 });
}

// The SDK call must fail with a 401 carrying the server's OpenAI-shaped error.
async function assertUnauthorized(promise, code = 'invalid_api_key') {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof OpenAI.AuthenticationError, `expected AuthenticationError, got ${err}`);
    assert.equal(err.status, 401);
    assert.equal(err.code, code);
    assert.equal(typeof err.error?.message, 'string');
    assert.ok(err.error.message.length > 0, 'the server says why');
    // The SDK's message is the status followed by the server's own message.
    assert.equal(err.message, `401 ${err.error.message}`);
    return true;
  });
}

// Polls fn until it resolves truthy or the bound passes; returns the elapsed milliseconds.
async function eventually(what, fn, boundMs = CLI_CHANGE_BOUND_MS) {
  const start = Date.now();
  let last;
  for (;;) {
    try {
      if (await fn()) return Date.now() - start;
    } catch (err) {
      last = err;
    }
    if (Date.now() - start > boundMs) {
      throw new Error(`${what}: not within ${boundMs} ms${last ? ` (last error: ${last})` : ''}`);
    }
    await sleep(25);
  }
}

async function keyWorks(apiKey) {
  try {
    await client(apiKey).models.list();
    return true;
  } catch (err) {
    if (err instanceof OpenAI.AuthenticationError) return false;
    throw err;
  }
}

async function fetchJson(method, route, apiKey, body) {
  const r = await server.fetchJson(method, route, body, apiKey);
  if (r.json === null) assert.fail(`${method} ${route}: ${r.status} with a body that is not JSON: ${r.text}`);
  return { status: r.status, json: r.json };
}

describe('openai SDK against socle serve', () => {
  before(async () => {
    await server.start();
  });

  after(async () => {
    const ended = await server.stop();
    if (server.killed) {
      assert.fail(`socle serve ignored SIGTERM for ${STOP_TIMEOUT_MS} ms:\n${server.log()}`);
    }
    // A graceful stop exits 0; anything else (a crash, a sanitizer report) fails the run.
    if (ended && !(ended.code === 0 && ended.signal === null)) {
      assert.fail(`socle serve ended with ${JSON.stringify(ended)}:\n${server.log()}`);
    }
  });

  test('models.list() with the admin key is an empty list', async () => {
    const page = await client(server.adminKey).models.list();
    assert.deepEqual(page.data, []);
    const all = [];
    for await (const model of client(server.adminKey).models.list()) all.push(model);
    assert.deepEqual(all, []);
  });

  test('a wrong key is an AuthenticationError with the server message', async () => {
    await assertUnauthorized(client('sk-not-a-real-key-0000000000000000').models.list());
    // A key without the sk- prefix is refused the same way.
    await assertUnauthorized(client('wrong').models.list());
  });

  test('no key at all is a 401 with code missing_api_key', async () => {
    const res = await fetch(`${server.baseURL}/v1/models`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(res.status, 401);
    const body = await res.json();
    assert.equal(body.error.code, 'missing_api_key');
    assert.equal(typeof body.error.message, 'string');
    assert.ok('type' in body.error && 'param' in body.error);
  });

  test('an unknown route is a NotFoundError', async () => {
    await assert.rejects(client(server.adminKey).get('/no-such-route'), (err) => {
      assert.ok(err instanceof OpenAI.NotFoundError, `expected NotFoundError, got ${err}`);
      assert.equal(err.status, 404);
      assert.equal(typeof err.error?.message, 'string');
      assert.equal(err.message, `404 ${err.error.message}`);
      return true;
    });
  });

  test('a key created over HTTP works, and stops at once when revoked', async () => {
    const created = await fetchJson('POST', '/v1/me/keys', server.adminKey, { name: 'e2e-http' });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const { id, key } = created.json;
    assert.match(key, /^sk-/);
    assert.ok(Number.isInteger(id) && id > 0);
    assert.equal(created.json.name, 'e2e-http');

    const page = await client(key).models.list();
    assert.deepEqual(page.data, []);

    const listed = await fetchJson('GET', '/v1/me/keys', key);
    assert.equal(listed.status, 200);
    const mine = listed.json.data.find((k) => k.id === id);
    assert.ok(mine, 'the new key is listed');
    assert.ok(!('key' in mine), 'a listed key never shows its secret');

    const revoked = await fetchJson('DELETE', `/v1/me/keys/${id}`, server.adminKey);
    assert.equal(revoked.status, 200, JSON.stringify(revoked.json));
    assert.equal(revoked.json.deleted, true);

    // The node that revoked it must refuse it on the very next call.
    await assertUnauthorized(client(key).models.list());
    // ...and keep refusing it after the store poll has run.
    await sleep(600);
    await assertUnauthorized(client(key).models.list());
    // The admin key is untouched.
    assert.deepEqual((await client(server.adminKey).models.list()).data, []);
  });

  test('a key created with `socle admin` works; revoking it with the CLI takes effect within a second', async (t) => {
    const created = await server.admin('key', 'create', '--user', 'admin', '--name', 'e2e-cli');
    assert.match(created.key, /^sk-/);
    assert.ok(Number.isInteger(created.id) && created.id > 0);

    const seenIn = await eventually('the CLI-created key works', () => keyWorks(created.key));
    t.diagnostic(`CLI-created key accepted after ${seenIn} ms`);
    assert.deepEqual((await client(created.key).models.list()).data, []);

    const revoked = await server.admin('key', 'revoke', '--id', String(created.id));
    assert.equal(revoked.id, created.id);
    assert.notEqual(revoked.revoked_at, null);

    const goneIn = await eventually(
      'the CLI revocation takes effect',
      async () => !(await keyWorks(created.key)),
    );
    t.diagnostic(`CLI-revoked key refused after ${goneIn} ms`);
    await assertUnauthorized(client(created.key).models.list());
    assert.deepEqual((await client(server.adminKey).models.list()).data, []);
  });

  test('files: upload, list, retrieve, content and delete, for their owner alone', async () => {
    // Two users whose role may fine-tune, and one whose role may not.
    const role = await fetchJson('POST', '/v1/admin/roles', server.adminKey, {
      name: 'trainer',
      permissions: ['fine_tune'],
    });
    assert.equal(role.status, 201, JSON.stringify(role.json));
    const me = await fetchJson('GET', '/v1/me', server.adminKey);
    const org = me.json.organisation.id;
    const keyOf = async (name, roleId) => {
      const body = { name, organisation_id: org };
      if (roleId) body.role_id = roleId;
      const user = await fetchJson('POST', '/v1/admin/users', server.adminKey, body);
      assert.equal(user.status, 201, JSON.stringify(user.json));
      const key = await fetchJson('POST', `/v1/admin/users/${user.json.id}/keys`, server.adminKey, {
        name: 'main',
      });
      return key.json.key;
    };
    const alice = client(await keyOf('alice', role.json.id));
    const bob = client(await keyOf('bob', role.json.id));
    const carol = client(await keyOf('carol', 0));

    const line = (q, a) =>
      JSON.stringify({ messages: [{ role: 'user', content: q }, { role: 'assistant', content: a }] });
    const lines = [];
    for (let i = 0; i < 12; i++) lines.push(line(`Question ${i} ?`, `Réponse ${i}.`));
    const data = lines.join('\n') + '\n';
    const file = await alice.files.create({
      file: await toFile(Buffer.from(data), 'train.jsonl'),
      purpose: 'fine-tune',
    });
    assert.match(file.id, /^file-\d+$/);
    assert.equal(file.object, 'file');
    assert.equal(file.bytes, Buffer.byteLength(data));
    assert.equal(file.filename, 'train.jsonl');
    assert.equal(file.purpose, 'fine-tune');

    assert.deepEqual((await alice.files.retrieve(file.id)).id, file.id);
    const listed = [];
    for await (const f of alice.files.list()) listed.push(f.id);
    assert.deepEqual(listed, [file.id]);
    const content = await alice.files.content(file.id);
    assert.equal(await content.text(), data);

    // Bob, with the same role, sees nothing of Alice's; Carol's role may not use files.
    await assert.rejects(bob.files.retrieve(file.id), OpenAI.NotFoundError);
    await assert.rejects(bob.files.content(file.id), OpenAI.NotFoundError);
    await assert.rejects(bob.files.delete(file.id), OpenAI.NotFoundError);
    const bobs = [];
    for await (const f of bob.files.list()) bobs.push(f.id);
    assert.deepEqual(bobs, []);
    await assert.rejects(carol.files.list(), OpenAI.PermissionDeniedError);

    // A broken file is refused with its lines and OpenAI's codes; nothing is stored.
    const broken = lines.slice(0, 11);
    broken.splice(2, 0, JSON.stringify({ messages: [{ role: 'user' }, { role: 'assistant', content: 'x' }] }));
    broken.push('{"messages": [{"role": "human", "content": "x"}]}');
    await assert.rejects(
      alice.files.create({ file: await toFile(Buffer.from(broken.join('\n')), 'bad.jsonl'), purpose: 'fine-tune' }),
      (err) => {
        assert.ok(err instanceof OpenAI.BadRequestError, String(err));
        assert.match(err.message, /line 3: missing_content/);
        assert.match(err.message, /line 13: unrecognized_role/);
        assert.equal(err.param, 'file');
        return true;
      },
    );
    await assert.rejects(
      alice.files.create({ file: await toFile(Buffer.from(data), 'train.txt'), purpose: 'fine-tune' }),
      OpenAI.BadRequestError,
    );
    await assert.rejects(
      alice.files.create({ file: await toFile(Buffer.from(data), 'train.jsonl'), purpose: 'assistants' }),
      (err) => err instanceof OpenAI.BadRequestError && err.param === 'purpose',
    );

    // A form field socle does not know, and a missing file, are named in the 400.
    const form = new FormData();
    form.append('purpose', 'fine-tune');
    form.append('extra', 'x');
    form.append('file', new Blob([data]), 'train.jsonl');
    const odd = await fetch(`${server.baseURL}/v1/files`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${alice.apiKey}` },
      body: form,
      signal: AbortSignal.timeout(10_000),
    });
    assert.equal(odd.status, 400);
    assert.equal((await odd.json()).error.param, 'extra');
    const noFile = new FormData();
    noFile.append('purpose', 'fine-tune');
    const missing = await fetch(`${server.baseURL}/v1/files`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${alice.apiKey}` },
      body: noFile,
      signal: AbortSignal.timeout(10_000),
    });
    assert.equal(missing.status, 400);
    assert.equal((await missing.json()).error.param, 'file');
    await assert.rejects(alice.files.retrieve('file-999999'), OpenAI.NotFoundError);
    await assert.rejects(alice.files.retrieve('abc'), OpenAI.NotFoundError);

    const deleted = await alice.files.delete(file.id);
    assert.deepEqual({ id: deleted.id, deleted: deleted.deleted }, { id: file.id, deleted: true });
    await assert.rejects(alice.files.retrieve(file.id), OpenAI.NotFoundError);
    const after = [];
    for await (const f of alice.files.list()) after.push(f.id);
    assert.deepEqual(after, []);
  });

  test('the server is still healthy', async () => {
    const res = await fetch(`${server.baseURL}/health`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(res.status, 200);
  });
});
