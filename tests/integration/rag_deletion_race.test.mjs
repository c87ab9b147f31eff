// Uploads racing the deletion of their collection leave nothing on disk: an upload whose
// collection went between its row and its file removes the file (and answers 404), and the
// deletion's removal of the folder is not stopped by files that come and go under it. Before
// both fixes, 2 to 6 rounds in 30 left files of deleted collections behind. A document deleted
// during its ingestion is not logged as an ingestion error.
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
