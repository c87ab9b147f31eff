// Uploads racing the deletion of their collection leave nothing on disk: an upload whose
// collection went between its row and its file removes the file (and answers 404), and the
// deletion's removal of the folder is not stopped by files that come and go under it. Before
// both fixes, 2 to 6 rounds in 30 left files of deleted collections behind. A document deleted
// during its ingestion is not logged as an ingestion error. An uploader who loses access to
// the collection during an upload (taken out of the group it is shared with) loses nothing
// that was accepted: before, the upload removed its own file and left its row queued.
//
// Run: SOCLE_BINARY=build/dev/src/cli/socle node --test tests/integration/rag_deletion_race.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

import { BINARY, sleep, SocleServer } from '../e2e/server.mjs';

const ROUNDS = 30;
const UPLOADS = 16;
const TEXT = 'Le hérisson dort tout l’hiver sous les feuilles. '.repeat(8000); // ~400 KB

test('uploads racing their collection\'s deletion leave no file behind', async () => {
  assert.ok(BINARY, 'SOCLE_BINARY must name the socle binary to test');
  const server = new SocleServer({ name: 'race' });
  await server.start();
  try {
    const auth = { Authorization: `Bearer ${server.adminKey}` };
    const left = [];
    for (let round = 0; round < ROUNDS; round++) {
      const made = await fetch(`${server.baseURL}/v1/collections`, {
        method: 'POST',
        headers: { ...auth, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: `race ${round}` }),
      });
      const body = await made.text();
      assert.equal(made.status, 201, body);
      const { id } = JSON.parse(body);
      const uploads = [];
      for (let i = 0; i < UPLOADS; i++) {
        const form = new FormData();
        form.append('collection', String(id));
        form.append('file', new Blob([TEXT]), `doc${i}.txt`);
        uploads.push(fetch(`${server.baseURL}/v1/documents`, { method: 'POST', headers: auth, body: form })
          .then(async (r) => ({ status: r.status, text: await r.text() })));
      }
      // The deletion lands at a different point of the uploads in each round.
      await sleep(5 + (round % 10) * 3);
      const deleted = await fetch(`${server.baseURL}/v1/collections/${id}`, { method: 'DELETE', headers: auth });
      assert.equal(deleted.status, 200, await deleted.text());
      for (const r of await Promise.all(uploads)) {
        // Accepted before the deletion, or refused after it: nothing else.
        assert.ok(r.status === 201 || r.status === 404, `${r.status} ${r.text}`);
        if (r.status === 404) assert.match(r.text, /collection/);
      }
      const dir = path.join(server.dataDir, 'collections', String(id));
      if (existsSync(dir)) left.push(`${id}: ${readdirSync(dir, { recursive: true }).join(' ')}`);
    }
    await sleep(200); // the ingestion worker's last documents
    assert.deepEqual(left, [], 'folders of deleted collections');
    assert.doesNotMatch(server.log(), /document ingestion error|collection files not removed/);
  } finally {
    assert.equal((await server.stop()).code, 0, server.log());
  }
});

test('an uploader losing access during the upload loses nothing that was accepted', async () => {
  assert.ok(BINARY, 'SOCLE_BINARY must name the socle binary to test');
  const server = new SocleServer({ name: 'access' });
  await server.start();
  try {
    const admin = (method, route, body) => server.fetchJson(method, route, body);
    const group = await admin('POST', '/v1/admin/groups', { name: 'g' });
    assert.equal(group.status, 201, group.text);
    const me = await admin('GET', '/v1/me');
    const user = await admin('POST', '/v1/admin/users', { name: 'b', organisation_id: me.json.organisation.id });
    assert.equal(user.status, 201, user.text);
    const key = await admin('POST', `/v1/admin/users/${user.json.id}/keys`, { name: 'k' });
    const member = `/v1/admin/groups/${group.json.id}/members/${user.json.id}`;
    assert.equal((await admin('PUT', member)).status, 200);
    const collection = await admin('POST', '/v1/collections', { name: 'c', shares: [{ group_id: group.json.id, access: 'write' }] });
    assert.equal(collection.status, 201, collection.text);
    const big = 'Le hérisson dort. '.repeat(110_000); // ~2 MB
    const answers = [];
    for (let round = 0; round < 20; round++) {
      const form = new FormData();
      form.append('collection', String(collection.json.id));
      form.append('file', new Blob([big]), `doc${round}.txt`);
      const upload = fetch(`${server.baseURL}/v1/documents`, {
        method: 'POST', headers: { Authorization: `Bearer ${key.json.key}` }, body: form,
      }).then(async (r) => ({ status: r.status, text: await r.text() }));
      await sleep(10 + (round % 10) * 6);
      assert.equal((await admin('DELETE', member)).status, 200);
      answers.push(await upload);
      assert.equal((await admin('PUT', member)).status, 200);
    }
    for (const a of answers) assert.doesNotMatch(a.text, /deleted during/, 'nothing was deleted');
    // Every document accepted is ingested from its file; none is left queued without one.
    let docs;
    for (let i = 0; i < 1200; i++) {
      docs = (await admin('GET', `/v1/documents?collection=${collection.json.id}`)).json.data;
      if (docs.every((d) => d.status === 'ready' || d.status === 'failed')) break;
      await sleep(50);
    }
    assert.equal(docs.length, answers.filter((a) => a.status === 201).length, JSON.stringify(answers.map((a) => a.status)));
    for (const d of docs) assert.equal(d.status, 'ready', JSON.stringify(d));
  } finally {
    assert.equal((await server.stop()).code, 0, server.log());
  }
});
