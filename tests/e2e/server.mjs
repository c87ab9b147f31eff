// One `socle serve` process for the end-to-end tests: started on an ephemeral loopback port
// (the port file it writes), with its own data directory and optional config file, its
// stderr kept for failure messages, stopped with SIGTERM (then SIGKILL past a bound), and
// killed if node exits first.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import OpenAI from 'openai';

const execFileAsync = promisify(execFile);

// Absolute: the server and the CLI run with a temporary directory as their cwd.
export const BINARY = process.env.SOCLE_BINARY ? path.resolve(process.env.SOCLE_BINARY) : '';
const STDERR_KEEP_CHARS = 64 * 1024;

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Our environment without any SOCLE_* setting that could change the server under test (a
// developer's SOCLE_ADMIN_KEY, SOCLE_LISTEN, ...), plus `extra`.
export function childEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('SOCLE_')) env[k] = v;
  }
  return { ...env, ...extra };
}

// Polls fn until it returns truthy; fails with `what` once the bound passes.
export async function eventually(what, fn, boundMs = 30_000) {
  const deadline = Date.now() + boundMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`not within ${boundMs} ms: ${what}`);
    await sleep(50);
  }
}

const running = new Set();
// Should node exit without running after() (an uncaught error), take the servers with it.
process.once('exit', () => {
  for (const s of running) if (s.proc && !s.exited) s.proc.kill('SIGKILL');
});

export class SocleServer {
  // `name` prefixes its files in `dir`; without `dir`, start() makes a temporary directory
  // and stop() removes it.
  constructor({
    name = 'socle', dir = null, startTimeoutMs = 60_000, requestTimeoutMs = 60_000, stopTimeoutMs = 10_000,
  } = {}) {
    this.name = name;
    this.dir = dir;
    this.ownsDir = dir === null;
    this.startTimeoutMs = startTimeoutMs;
    this.requestTimeoutMs = requestTimeoutMs;
    this.stopTimeoutMs = stopTimeoutMs;
    this.proc = null;
    this.exited = null; // { code, signal } once the process is gone
    this.exitPromise = null;
    this.stderr = '';
    this.dataDir = null;
    this.port = 0;
    this.adminKey = '';
    this.killed = false; // true when it had to be stopped with SIGKILL
  }

  get baseURL() {
    return `http://127.0.0.1:${this.port}`;
  }

  log() {
    return this.stderr.length ? this.stderr : '(no output)';
  }

  // Starts `socle serve` with `config` (TOML text) as its config file when given, plus `args`
  // and the environment `env`. The cwd is the server's directory, which holds no socle.toml
  // unless `config` wrote one. A restart keeps the data directory.
  async start({ config = null, env = {}, args = [] } = {}) {
    assert.ok(BINARY, 'SOCLE_BINARY must name the socle binary to test');
    if (this.dir === null) this.dir = await mkdtemp(path.join(tmpdir(), 'socle-e2e-'));
    this.dataDir = path.join(this.dir, `${this.name}-data`);
    const portFile = path.join(this.dir, `${this.name}.port`);
    await rm(portFile, { force: true });
    if (config !== null) {
      const file = path.join(this.dir, `${this.name}.toml`);
      await writeFile(file, config);
      args = [...args, '--config', file];
    }
    this.exited = null;
    this.stderr = '';
    this.proc = spawn(
      BINARY,
      ['serve', '--listen', '127.0.0.1:0', '--port-file', portFile, '--data', this.dataDir, ...args],
      { cwd: this.dir, env: childEnv(env), stdio: ['ignore', 'ignore', 'pipe'] },
    );
    running.add(this);
    this.exitPromise = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        this.exited = { code, signal };
        resolve(this.exited);
      });
      this.proc.on('error', (err) => {
        this.exited = { code: null, signal: null, error: err };
        resolve(this.exited);
      });
    });
    this.proc.stderr.setEncoding('utf8');
    this.proc.stderr.on('data', (chunk) => {
      this.stderr = (this.stderr + chunk).slice(-STDERR_KEEP_CHARS);
    });
    const deadline = Date.now() + this.startTimeoutMs;
    for (;;) {
      if (this.exited) {
        throw new Error(
          `socle serve (${this.name}) exited before listening (${JSON.stringify(this.exited)}):\n${this.log()}`,
        );
      }
      const text = await readFile(portFile, 'utf8').catch(() => '');
      if (text.endsWith('\n')) {
        this.port = Number.parseInt(text, 10);
        assert.ok(this.port > 0 && this.port < 65536, `bad port file contents '${text}'`);
        break;
      }
      if (Date.now() > deadline) {
        throw new Error(`socle serve (${this.name}) wrote no port file within ${this.startTimeoutMs} ms:\n${this.log()}`);
      }
      await sleep(50);
    }
    this.adminKey = (await readFile(path.join(this.dataDir, 'admin-key'), 'utf8')).trim();
    assert.match(this.adminKey, /^sk-/, 'the admin key file holds an sk- key');
  }

  // SIGKILL at once (a crash), and wait for the process to be gone.
  async kill() {
    if (this.proc && !this.exited) {
      this.proc.kill('SIGKILL');
      await this.exitPromise;
    }
    return this.exited;
  }

  // SIGTERM, then SIGKILL if it has not stopped within the bound. Returns how it ended.
  // `keepDir`: leave the directory (a restart follows).
  async stop({ keepDir = false } = {}) {
    if (this.proc && !this.exited) {
      this.proc.kill('SIGTERM');
      let timer;
      const timeout = new Promise((resolve) => {
        timer = setTimeout(() => resolve('timeout'), this.stopTimeoutMs);
      });
      const outcome = await Promise.race([this.exitPromise, timeout]);
      clearTimeout(timer); // a pending timer would keep node alive after the tests
      if (outcome === 'timeout') {
        this.proc.kill('SIGKILL');
        await this.exitPromise;
        this.killed = true;
      }
    }
    running.delete(this);
    if (this.ownsDir && !keepDir && this.dir) {
      await rm(this.dir, { recursive: true, force: true });
      this.dir = null;
    }
    return this.exited;
  }

  // Runs `socle admin --data DIR ARGS...` and parses its JSON output.
  async admin(...args) {
    const { stdout } = await execFileAsync(BINARY, ['admin', '--data', this.dataDir, ...args], {
      cwd: this.dir,
      env: childEnv(),
      timeout: 20_000,
    });
    return JSON.parse(stdout);
  }

  // The official SDK's client on this server.
  client(apiKey = this.adminKey) {
    return new OpenAI({ apiKey, baseURL: `${this.baseURL}/v1`, maxRetries: 0, timeout: this.requestTimeoutMs });
  }

  // A plain request: { status, json (null when the body is not JSON), text }.
  async fetchJson(method, route, body, apiKey = this.adminKey) {
    const headers = { Authorization: `Bearer ${apiKey}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(`${this.baseURL}${route}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(this.requestTimeoutMs),
    });
    const text = await res.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {
      // Not JSON (the metrics' text format); the caller reads `text`.
    }
    return { status: res.status, json, text };
  }

  // The value of one Prometheus series (name and labels as written), or undefined.
  async metric(series) {
    const { status, text } = await this.fetchJson('GET', '/metrics');
    assert.equal(status, 200, text);
    for (const line of text.split('\n')) {
      if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
    }
    return undefined;
  }
}
