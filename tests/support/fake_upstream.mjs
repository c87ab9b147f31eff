// A small OpenAI-compatible upstream for socle's gateway tests, with misbehaving modes.
// Written for the tests, independent of socle's code: plain node:http / node:https.
//
//   node fake_upstream.mjs --port-file FILE --name NAME [--tls-cert F --tls-key F]
//
// Routes: GET /v1/models (the health check), POST /v1/chat/completions, /v1/completions,
// /v1/embeddings, /v1/rerank. Control: POST /__mode {"mode": M, "delay_ms": N}; GET /__stats;
// GET /__last_chat (the last chat request's body).
// Modes: ok, slow_first_byte (wait delay_ms before the head), drop_mid_stream (two chunks,
// then the socket is destroyed), error_500, error_429 (Retry-After: 7), malformed_json,
// hang_up (close the socket without an answer), unhealthy (GET /v1/models answers 503),
// extra_response (a second, unasked-for response after each answer, on the same socket),
// continue_first (100 Continue before each answer), no_done (streams end without [DONE]),
// slow_stream (delay_ms between a stream's events).
import fs from "node:fs";
import http from "node:http";
import https from "node:https";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, v, i, a) => (i % 2 === 0 ? [...acc, [v.replace(/^--/, ""), a[i + 1]]] : acc), []),
);
const name = args.name ?? "upstream";
let mode = "ok";
let delayMs = 0;
const stats = { requests: 0, by_path: {}, last_body: null, last_headers: null };

function send(res, status, obj, headers = {}) {
  const body = JSON.stringify(obj);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...headers });
  res.end(body);
}

function readBody(req) {
  return new Promise((resolve) => {
    const parts = [];
    req.on("data", (c) => parts.push(c));
    req.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The last chat request as received, for tests that check what socle sent (GET /__last_chat).
let lastChat = null;

// A bag-of-words embedding for models named "bow*": 64 buckets of lowercased, accent-folded
// words, so that texts sharing words are close. A test double, not a model.
function bagOfWords(text) {
  const v = new Array(64).fill(0);
  const words = text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase().match(/[a-z0-9]+/g) ?? [];
  for (const w of words) {
    let h = 2166136261;
    for (const ch of w) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
    v[h % 64] += 1;
  }
  if (words.length === 0) v[0] = 1;
  return v;
}

async function chat(req, res, body, completions) {
  lastChat = body;
  const usage = { prompt_tokens: 11, completion_tokens: 3, total_tokens: 14 };
  const words = ["Hello", " from", ` ${name}`];
  const object = completions ? "text_completion" : "chat.completion";
  if (!body.stream) {
    const choice = completions
      ? { index: 0, text: words.join(""), finish_reason: "stop" }
      : { index: 0, message: { role: "assistant", content: words.join("") }, finish_reason: "stop" };
    send(res, 200, { id: "cmpl-1", object, created: 1, model: body.model, choices: [choice], usage });
    if (mode === "extra_response") {
      const stray = JSON.stringify({ id: "stray", object, created: 1, model: body.model,
        choices: [{ index: 0, message: { role: "assistant", content: "a stray answer" }, finish_reason: "stop" }] });
      res.socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(stray)}\r\n\r\n${stray}`);
    }
    return;
  }
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  const chunkObject = completions ? "text_completion" : "chat.completion.chunk";
  const event = (o) => res.write(`data: ${JSON.stringify(o)}\n\n`);
  for (let i = 0; i < words.length; i++) {
    const choice = completions
      ? { index: 0, text: words[i], finish_reason: null }
      : { index: 0, delta: i === 0 ? { role: "assistant", content: words[i] } : { content: words[i] }, finish_reason: null };
    event({ id: "c1", object: chunkObject, created: 1, model: body.model, choices: [choice] });
    if (mode === "drop_mid_stream" && i === 1) {
      await sleep(20);
      res.socket.destroy();
      return;
    }
    await sleep(mode === "slow_stream" ? delayMs : 5);
  }
  const last = completions ? { index: 0, text: "", finish_reason: "stop" } : { index: 0, delta: {}, finish_reason: "stop" };
  event({ id: "c1", object: chunkObject, created: 1, model: body.model, choices: [last] });
  if (body.stream_options && body.stream_options.include_usage) {
    event({ id: "c1", object: chunkObject, created: 1, model: body.model, choices: [], usage });
  }
  res.end(mode === "no_done" ? "" : "data: [DONE]\n\n");
}

async function handle(req, res) {
  const url = new URL(req.url, "http://x");
  const raw = await readBody(req);
  if (url.pathname === "/__mode") {
    const m = JSON.parse(raw);
    mode = m.mode;
    delayMs = m.delay_ms ?? 0;
    send(res, 200, { mode });
    return;
  }
  if (url.pathname === "/__stats") {
    send(res, 200, stats);
    return;
  }
  if (url.pathname === "/__last_chat") {
    send(res, 200, lastChat ?? {});
    return;
  }
  if (url.pathname === "/v1/models" && req.method === "GET") {
    if (mode === "unhealthy") {
      send(res, 503, { error: { message: "unhealthy" } });
      return;
    }
    send(res, 200, { object: "list", data: [{ id: "up-model", object: "model", created: 0, owned_by: name }] });
    return;
  }
  stats.requests++;
  stats.by_path[url.pathname] = (stats.by_path[url.pathname] ?? 0) + 1;
  stats.last_headers = req.headers;
  if ((req.headers["content-type"] ?? "").startsWith("multipart/form-data")) {
    // Enough of multipart for the tests: the model field and the file's name.
    const model = /name="model"\r\n\r\n([^\r]*)\r\n/.exec(raw)?.[1];
    const file = /name="file"; filename="([^"]*)"/.exec(raw)?.[1];
    stats.last_body = { model, file };
    if (mode === "error_500") {
      send(res, 500, { error: { message: `${name} is broken` } });
      return;
    }
    if (url.pathname === "/v1/audio/transcriptions") {
      send(res, 200, { text: `heard ${file} via ${model} at ${name}` });
    } else if (url.pathname === "/v1/ocr") {
      send(res, 200, { text: `read ${file} via ${model} at ${name}` });
    } else {
      send(res, 404, { error: { message: `no route ${url.pathname}` } });
    }
    return;
  }
  let body;
  try {
    body = JSON.parse(raw);
  } catch {
    send(res, 400, { error: { message: "upstream: body is not JSON", type: "invalid_request_error" } });
    return;
  }
  stats.last_body = body;
  if (mode === "hang_up") {
    req.socket.destroy();
    return;
  }
  if (mode === "slow_first_byte") await sleep(delayMs);
  if (mode === "continue_first") res.writeContinue();
  if (mode === "error_500") {
    send(res, 500, { error: { message: `${name} is broken`, type: "server_error" } });
    return;
  }
  if (mode === "error_429") {
    send(res, 429, { error: { message: `${name} is rate limited`, type: "rate_limit_error" } }, { "retry-after": "7" });
    return;
  }
  if (mode === "malformed_json") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end("{\"id\": \"cmpl-1\", \"choices\": [");
    return;
  }
  if (body.reject === true) {
    send(res, 400, { error: { message: "upstream says no", type: "invalid_request_error", param: "model", code: null } });
    return;
  }
  switch (url.pathname) {
    case "/v1/chat/completions":
      return chat(req, res, body, false);
    case "/v1/completions":
      return chat(req, res, body, true);
    case "/v1/embeddings": {
      const inputs = Array.isArray(body.input) ? body.input : [body.input];
      const bow = typeof body.model === "string" && body.model.startsWith("bow");
      const data = inputs.map((text, index) => ({ object: "embedding", index, embedding: bow ? bagOfWords(text) : [text.length, index, 0.5] }));
      send(res, 200, { object: "list", data, model: body.model, usage: { prompt_tokens: inputs.length * 2, total_tokens: inputs.length * 2 } });
      return;
    }
    case "/rerank": {
      // TEI's shape: {query, texts} -> [{index, score}], best first.
      const texts = body.texts ?? [];
      const scored = texts.map((t, index) => ({ index, score: t.includes(body.query) ? 0.9 : 0.1 / (index + 1) }));
      scored.sort((x, y) => y.score - x.score);
      send(res, 200, scored);
      return;
    }
    case "/v1/rerank": {
      const docs = body.documents ?? [];
      send(res, 200, { results: docs.map((d, index) => ({ index, relevance_score: 1 / (index + 1) })) });
      return;
    }
    default:
      send(res, 404, { error: { message: `no route ${url.pathname}` } });
  }
}

const server = args["tls-cert"]
  ? https.createServer({ cert: fs.readFileSync(args["tls-cert"]), key: fs.readFileSync(args["tls-key"]) }, handle)
  : http.createServer(handle);
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  const tmp = `${args["port-file"]}.tmp`;
  fs.writeFileSync(tmp, String(server.address().port));
  fs.renameSync(tmp, args["port-file"]);
});
process.on("SIGTERM", () => process.exit(0));
