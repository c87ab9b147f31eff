// End-to-end: fine-tuning through the official `openai` npm package. A user uploads a JSONL
// of fixed question -> answer chats for the tiny golden llama (random weights, a generated
// byte-level tokenizer: serving_fixtures.mjs), creates a job with the SDK, polls it until it
// succeeds, reads its events and checkpoints, and the fine-tuned model `ft:llama3:...` then
// answers each question with its answer at temperature 0, which the base model does not. The
// answers are the independent oracle: nothing but training puts them in the model. Also:
// dry_run's estimate, a file the base model cannot take (an example longer than its context)
// failing its job with OpenAI's error object, cancellation, request errors naming their field,
// and another user seeing neither the files, the job nor the model.
//
// Run: SOCLE_BINARY=build/dev/src/cli/socle node --test tests/e2e/fine_tuning_sdk.test.mjs
// (ctest does this: tests/e2e/CMakeLists.txt). Loopback only; nothing is downloaded.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { toFile } from 'openai';

import { sleep, SocleServer } from './server.mjs';
import { byteLevelBpe, modelFolder } from './serving_fixtures.mjs';

const JOB_TIMEOUT_MS = 150_000;
const LLAMA_CONTEXT = 512;

// The pairs the model learns: short, distinct answers that a random model never gives.
const PAIRS = [
  ['What is the capital of France?', 'Paris.'],
  ['What is the capital of Italy?', 'Rome.'],
  ['Which colour is the sky?', 'Blue.'],
  ['How many legs has a dog?', 'Four.'],
  ['Bonjour, comment allez-vous ?', 'Très bien.'],
  ['Quel service gère les passeports ?', 'La mairie.'],
  ['Which animal jumps over the dog?', 'The fox.'],
  ['What keeps data under European law?', 'Sovereign cloud.'],
  ['Who do administrations serve?', 'The citizens.'],
  ['What does retrieval find?', 'Relevant passages.'],
  ['Quelle langue parle-t-on en France ?', 'Le français.'],
  ['What is the weather like today?', 'Nice.'],
];

const chatLine = ([q, a]) =>
  JSON.stringify({ messages: [{ role: 'user', content: q }, { role: 'assistant', content: a }] });

// Polls the job until it is final; the last view.
async function waitForJob(client, id) {
  const deadline = Date.now() + JOB_TIMEOUT_MS;
  for (;;) {
    const job = await client.fineTuning.jobs.retrieve(id);
    if (['succeeded', 'failed', 'cancelled'].includes(job.status)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status} after ${JOB_TIMEOUT_MS} ms`);
    await sleep(200);
  }
}

async function answer(client, model, question) {
  const r = await client.chat.completions.create({
    model,
    messages: [{ role: 'user', content: question }],
    temperature: 0,
    max_tokens: 16,
  });
  return r.choices[0].message.content;
}

describe('fine-tuning through the openai SDK', () => {
  let dir;
  let server;
  let alice;
  let bob;
  let aliceKey;
  let bobKey;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'socle-e2e-fine-tuning-'));
    const folder = await modelFolder(path.join(dir, 'models'), 'llama3', byteLevelBpe(512));
    server = new SocleServer({ dir, stopTimeoutMs: 20_000 });
    await server.start({ config: [
      '[fine_tuning]', 'checkpoint_every = 50', '',
      '[[models]]', 'name = "llama3"', 'kind = "chat"', `path = "${folder}"`, 'kv_memory_mb = 16',
      'threads = 2', `context_length = ${LLAMA_CONTEXT}`, '',
    ].join('\n') });
    const admin = server.adminKey;
    const role = await server.fetchJson('POST', '/v1/admin/roles', { name: 'trainer', permissions: ['fine_tune'] }, admin);
    assert.equal(role.status, 201, role.text);
    const me = await server.fetchJson('GET', '/v1/me', undefined, admin);
    const keyOf = async (name) => {
      const user = await server.fetchJson('POST', '/v1/admin/users',
        { name, organisation_id: me.json.organisation.id, role_id: role.json.id }, admin);
      assert.equal(user.status, 201, user.text);
      const key = await server.fetchJson('POST', `/v1/admin/users/${user.json.id}/keys`, { name: 'main' }, admin);
      assert.equal(key.status, 201, key.text);
      return key.json.key;
    };
    aliceKey = await keyOf('alice');
    bobKey = await keyOf('bob');
    alice = server.client(aliceKey);
    bob = server.client(bobKey);
  });

  after(async () => {
    const exited = server ? await server.stop() : null;
    if (dir) await rm(dir, { recursive: true, force: true });
    if (exited) assert.equal(exited.code, 0, `socle did not exit cleanly:\n${server.stderr}`);
  });

  test('a job teaches the model the answers; its owner alone sees it and its model', async () => {
    const data = PAIRS.map(chatLine).join('\n') + '\n';
    const file = await alice.files.create({ file: await toFile(Buffer.from(data), 'qa.jsonl'), purpose: 'fine-tune' });
    const valid = await alice.files.create({
      file: await toFile(Buffer.from(PAIRS.slice(0, 10).map(chatLine).join('\n')), 'valid.jsonl'),
      purpose: 'fine-tune',
    });

    // The base model does not know the answers.
    let baseRight = 0;
    for (const [q, a] of PAIRS) if ((await answer(alice, 'llama3', q)) === a) baseRight++;
    assert.equal(baseRight, 0);

    const request = {
      model: 'llama3',
      training_file: file.id,
      validation_file: valid.id,
      suffix: 'qa',
      seed: 7,
      lora: { rank: 16, alpha: 32 },
      method: {
        type: 'supervised',
        supervised: { hyperparameters: { n_epochs: 40, batch_size: 1, learning_rate_multiplier: 3 } },
      },
    };
    // dry_run: the estimate, and no job.
    const dry = await server.fetchJson('POST', '/v1/fine_tuning/jobs', { ...request, dry_run: true }, aliceKey);
    assert.equal(dry.status, 200, dry.text);
    assert.equal(dry.json.estimate.examples, PAIRS.length);
    assert.equal(dry.json.estimate.steps, PAIRS.length * 40);
    assert.equal(dry.json.hyperparameters.n_epochs, 40);
    assert.ok(dry.json.estimate.tokens_per_epoch > PAIRS.length * 5, dry.text);
    assert.equal(dry.json.train_tokens, dry.json.estimate.tokens_per_epoch * 40);
    assert.ok(dry.json.expected_duration_seconds > 0);
    assert.ok(dry.json.estimate.estimated_memory_bytes > 0);
    assert.equal((await alice.fineTuning.jobs.list()).data.length, 0);

    const created = await alice.fineTuning.jobs.create(request);
    assert.match(created.id, /^ftjob-\d+$/);
    assert.equal(created.object, 'fine_tuning.job');
    assert.equal(created.status, 'validating_files');
    assert.equal(created.model, 'llama3');
    assert.equal(created.training_file, file.id);
    assert.equal(created.validation_file, valid.id);
    assert.equal(created.seed, 7);
    assert.equal(created.user_provided_suffix, 'qa');
    assert.equal(created.fine_tuned_model, null);
    assert.equal(created.error, null);
    assert.equal(created.integrations, null);
    assert.equal(created.method.type, 'supervised');
    assert.equal(created.method.supervised.hyperparameters.n_epochs, 40);

    const job = await waitForJob(alice, created.id);
    assert.equal(job.status, 'succeeded', JSON.stringify(job.error) + '\n' + server.stderr.slice(-4000));
    assert.equal(job.fine_tuned_model, `ft:llama3:qa:${job.id}`);
    assert.equal(job.trained_tokens, dry.json.train_tokens);
    assert.ok(job.finished_at >= job.created_at);
    assert.deepEqual(job.hyperparameters, { n_epochs: 40, batch_size: 1, learning_rate_multiplier: 3 });
    // Provenance: the base model's files and the data by SHA-256, the seed, the compute.
    assert.equal(job.provenance.seed, 7);
    assert.equal(job.provenance.training_file.sha256.length, 64);
    assert.ok(job.provenance.base_model.files.some((f) => f.name === 'model.safetensors' && f.sha256.length === 64));
    assert.ok(job.provenance.estimated_compute_flops > 0);
    const adapterDir = path.join(server.dataDir, 'fine_tuning', job.id, 'adapter');
    for (const f of ['adapter_config.json', 'adapter_model.safetensors', 'adapter.gguf', 'provenance.json']) {
      assert.ok(existsSync(path.join(adapterDir, f)), f);
    }
    const written = JSON.parse(await readFile(path.join(adapterDir, 'provenance.json'), 'utf8'));
    assert.equal(written.training_file.sha256, job.provenance.training_file.sha256);

    // result_files: the step metrics as a CSV file of the owner's.
    assert.equal(job.result_files.length, 1);
    const resultFile = await alice.files.retrieve(job.result_files[0]);
    assert.equal(resultFile.purpose, 'fine-tune-results');
    const csv = (await (await alice.files.content(job.result_files[0])).text()).trim().split('\n');
    assert.equal(csv[0], 'step,train_loss,valid_loss,learning_rate,grad_norm,trained_tokens');
    assert.equal(csv.length, 1 + PAIRS.length * 40);
    const lastRow = csv.at(-1).split(',');
    assert.equal(Number(lastRow[0]), PAIRS.length * 40);
    assert.ok(lastRow[2] !== '' && Number.isFinite(Number(lastRow[2])), 'the last step has its validation loss');
    assert.equal(csv[1].split(',')[2], '', 'no validation loss between checkpoints');
    await assert.rejects(bob.files.content(job.result_files[0]), (e) => e.status === 404);

    // Events, newest first: a metrics event per step, the loss going down.
    const events = [];
    for await (const e of alice.fineTuning.jobs.listEvents(job.id, { limit: 100 })) events.push(e);
    assert.equal(events[0].object, 'fine_tuning.job.event');
    assert.match(events[0].message, /successfully completed/);
    const steps = events.filter((e) => e.type === 'metrics').reverse();
    assert.equal(steps.length, PAIRS.length * 40);
    const meanLoss = (list) => list.reduce((s, e) => s + e.data.train_loss, 0) / list.length;
    assert.ok(meanLoss(steps.slice(-PAIRS.length)) < meanLoss(steps.slice(0, PAIRS.length)) / 4,
      `loss ${meanLoss(steps.slice(0, PAIRS.length))} -> ${meanLoss(steps.slice(-PAIRS.length))}`);

    // Checkpoints, newest first: every 50 steps and the last.
    const checkpoints = [];
    for await (const c of alice.fineTuning.jobs.checkpoints.list(job.id)) checkpoints.push(c);
    const total = PAIRS.length * 40;
    assert.equal(checkpoints.length, Math.floor(total / 50) + (total % 50 ? 1 : 0));
    assert.equal(checkpoints[0].step_number, total);
    assert.equal(checkpoints[0].object, 'fine_tuning.job.checkpoint');
    assert.equal(checkpoints[0].fine_tuning_job_id, job.id);
    assert.equal(checkpoints[0].fine_tuned_model_checkpoint, `${job.fine_tuned_model}:ckpt-step-${total}`);
    assert.ok(Number.isFinite(checkpoints[0].metrics.valid_loss));
    assert.ok(checkpoints[0].metrics.valid_loss < checkpoints[checkpoints.length - 1].metrics.valid_loss);

    // The fine-tuned model: listed for its owner, answering every question with its answer.
    const aliceModels = [];
    for await (const m of alice.models.list()) aliceModels.push(m.id);
    assert.ok(aliceModels.includes(job.fine_tuned_model), aliceModels.join(', '));
    for (const [q, a] of PAIRS) assert.equal(await answer(alice, job.fine_tuned_model, q), a, q);

    // Another user: no file, no job, no model.
    await assert.rejects(bob.files.retrieve(file.id), (e) => e.status === 404);
    await assert.rejects(bob.fineTuning.jobs.retrieve(job.id), (e) => e.status === 404);
    await assert.rejects(bob.fineTuning.jobs.cancel(job.id), (e) => e.status === 404);
    await assert.rejects(bob.fineTuning.jobs.listEvents(job.id), (e) => e.status === 404);
    assert.equal((await bob.fineTuning.jobs.list()).data.length, 0);
    const bobModels = [];
    for await (const m of bob.models.list()) bobModels.push(m.id);
    assert.ok(!bobModels.includes(job.fine_tuned_model));
    await assert.rejects(answer(bob, job.fine_tuned_model, PAIRS[0][0]), (e) => e.status === 404);
    // Bob cannot train on Alice's file either: it is not his.
    await assert.rejects(
      bob.fineTuning.jobs.create({ model: 'llama3', training_file: file.id }),
      (e) => e.status === 400 && e.param === 'training_file');

    // A finished job cannot be cancelled.
    await assert.rejects(alice.fineTuning.jobs.cancel(job.id), (e) => e.status === 409 && e.code === 'job_not_cancellable');

    const listed = await alice.fineTuning.jobs.list({ limit: 10 });
    assert.equal(listed.data[0].id, job.id);

    // Shared with a group: its members see and use the model; once no longer shared, not.
    const admin = server.adminKey;
    const group = await server.fetchJson('POST', '/v1/admin/groups', { name: 'clerks' }, admin);
    assert.equal(group.status, 201, group.text);
    const userId = async (key) => (await server.fetchJson('GET', '/v1/me', undefined, key)).json.id;
    for (const key of [aliceKey, bobKey]) {
      const added = await server.fetchJson('PUT', `/v1/admin/groups/${group.json.id}/members/${await userId(key)}`, undefined, admin);
      assert.ok(added.status < 300, added.text);
    }
    const share = (groups, key = aliceKey) =>
      server.fetchJson('PATCH', `/v1/models/${encodeURIComponent(job.fine_tuned_model)}`, { groups }, key);
    const notMine = await share([group.json.id + 1000]);
    assert.equal(notMine.status, 400, notMine.text);
    assert.equal(notMine.json.error.param, 'groups');
    assert.equal((await share([group.json.id], bobKey)).status, 404);
    const shared = await share([group.json.id]);
    assert.equal(shared.status, 200, shared.text);
    assert.deepEqual(shared.json.groups, [group.json.id]);
    const bobSees = [];
    for await (const m of bob.models.list()) bobSees.push(m);
    const seen = bobSees.find((m) => m.id === job.fine_tuned_model);
    assert.ok(seen, 'a member of the group sees the shared model');
    assert.deepEqual(seen.shared_with_groups, [group.json.id]);
    assert.equal(await answer(bob, job.fine_tuned_model, PAIRS[0][0]), PAIRS[0][1]);
    assert.equal((await share([])).status, 200);
    await assert.rejects(answer(bob, job.fine_tuned_model, PAIRS[0][0]), (e) => e.status === 404);

    // Deleting the model: its owner alone; then it is neither listed nor served, and the job
    // stays, with its provenance.
    await assert.rejects(bob.models.delete(job.fine_tuned_model), (e) => e.status === 404 && e.code === 'model_not_found');
    const deleted = await alice.models.delete(job.fine_tuned_model);
    assert.deepEqual(deleted, { id: job.fine_tuned_model, object: 'model', deleted: true });
    const remaining = [];
    for await (const m of alice.models.list()) remaining.push(m.id);
    assert.ok(!remaining.includes(job.fine_tuned_model));
    await assert.rejects(answer(alice, job.fine_tuned_model, PAIRS[0][0]), (e) => e.status === 404);
    await assert.rejects(alice.models.delete(job.fine_tuned_model), (e) => e.status === 404);
    const kept = await alice.fineTuning.jobs.retrieve(job.id);
    assert.equal(kept.status, 'succeeded');
    assert.ok(kept.fine_tuned_model_deleted_at >= kept.finished_at);
    assert.ok(existsSync(path.join(adapterDir, 'provenance.json')));
    assert.ok(!existsSync(path.join(adapterDir, 'adapter_model.safetensors')));
  });

  test('a file the base model cannot take fails its job with the line and the code', async () => {
    const long = 'données '.repeat(400);
    const lines = PAIRS.slice(0, 9).map(chatLine);
    lines.push(chatLine([long, 'Trop long.']));
    lines.push(chatLine(PAIRS[9]));
    const file = await alice.files.create({ file: await toFile(Buffer.from(lines.join('\n')), 'long.jsonl'), purpose: 'fine-tune' });
    const dry = await server.fetchJson('POST', '/v1/fine_tuning/jobs',
      { model: 'llama3', training_file: file.id, dry_run: true }, aliceKey);
    assert.equal(dry.status, 400, dry.text);
    assert.equal(dry.json.error.code, 'example_too_long');
    assert.equal(dry.json.error.param, 'training_file');
    assert.match(dry.json.error.message, /line 10/);

    const created = await alice.fineTuning.jobs.create({ model: 'llama3', training_file: file.id });
    const job = await waitForJob(alice, created.id);
    assert.equal(job.status, 'failed');
    assert.equal(job.error.code, 'example_too_long');
    assert.equal(job.error.param, 'training_file');
    assert.match(job.error.message, /line 10/);
    assert.equal(job.fine_tuned_model, null);
    assert.ok(Number.isInteger(job.seed), 'a seed is drawn when none is given');
  });

  test('queued and running jobs are cancelled; bad requests name their field', async () => {
    const data = PAIRS.map(chatLine).join('\n');
    const file = await alice.files.create({ file: await toFile(Buffer.from(data), 'qa.jsonl'), purpose: 'fine-tune' });
    const created = await alice.fineTuning.jobs.create({
      model: 'llama3', training_file: file.id, hyperparameters: { n_epochs: 50 },
    });
    const cancelled = await alice.fineTuning.jobs.cancel(created.id);
    assert.equal(cancelled.status, 'cancelled');
    const job = await alice.fineTuning.jobs.retrieve(created.id);
    assert.equal(job.status, 'cancelled');
    assert.equal(job.fine_tuned_model, null);

    // A running job stops before its next step: once the next job (one thread trains one job
    // at a time) has finished, the cancelled one has at most the step it was in beyond those
    // seen when it was cancelled.
    const long = await alice.fineTuning.jobs.create({
      model: 'llama3', training_file: file.id, hyperparameters: { n_epochs: 50, batch_size: 1 },
    });
    const lastStep = async (id) => {
      const page = await alice.fineTuning.jobs.listEvents(id, { limit: 5 });
      const m = page.data.find((e) => e.type === 'metrics');
      return m ? m.data.step : 0;
    };
    const deadline = Date.now() + JOB_TIMEOUT_MS;
    while ((await lastStep(long.id)) < 2) {
      assert.ok(Date.now() < deadline, 'the long job never ran');
      await sleep(50);
    }
    const stopped = await alice.fineTuning.jobs.cancel(long.id);
    assert.equal(stopped.status, 'cancelled');
    const seen = await lastStep(long.id);
    const next = await alice.fineTuning.jobs.create({
      model: 'llama3', training_file: file.id, hyperparameters: { n_epochs: 1, batch_size: 12 },
    });
    assert.equal((await waitForJob(alice, next.id)).status, 'succeeded');
    const final = await lastStep(long.id);
    assert.ok(final >= seen && final <= seen + 1, `cancelled at step ${seen}, went on to ${final}`);
    const after = await alice.fineTuning.jobs.retrieve(long.id);
    assert.equal(after.status, 'cancelled');
    assert.equal(after.fine_tuned_model, null);

    const bad = async (body, param) => {
      const r = await server.fetchJson('POST', '/v1/fine_tuning/jobs', body, aliceKey);
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
      assert.equal(r.json.error.param, param, r.text);
      assert.ok(r.json.error.message.length > 10);
    };
    const ok = { model: 'llama3', training_file: file.id };
    await bad({ ...ok, model: 'gpt-4o' }, 'model');
    await bad({ ...ok, training_file: 'file-999999' }, 'training_file');
    await bad({ ...ok, suffix: 'no spaces allowed' }, 'suffix');
    await bad({ ...ok, suffix: 'x'.repeat(65) }, 'suffix');
    await bad({ ...ok, method: { type: 'dpo' } }, 'method.type');
    await bad({ ...ok, method: { type: 'supervised', supervised: { hyperparameters: { n_epochs: 0 } } } },
      'method.supervised.hyperparameters.n_epochs');
    await bad({ ...ok, hyperparameters: { learning_rate_multiplier: -1 } }, 'hyperparameters.learning_rate_multiplier');
    await bad({ ...ok, lora: { target_modules: ['w_proj'] } }, 'lora.target_modules');
    await bad({ ...ok, seed: -3 }, 'seed');
    const missing = await server.fetchJson('GET', '/v1/fine_tuning/jobs/ftjob-999999', undefined, aliceKey);
    assert.equal(missing.status, 404, missing.text);
    assert.equal(missing.json.error.type, 'invalid_request_error');
  });
});
