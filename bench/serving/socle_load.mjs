// Concurrent streaming completions against a running socle server: for each level of
// concurrency, that many clients each send one /v1/completions request (a distinct prompt of
// PROMPT token ids, MAX tokens at temperature 0, streamed) at the same time, and the script
// measures each stream's time to first token and the aggregate generated tokens per second
// (all streams' tokens over the time from the first request to the last stream's end).
//
//   [PROMPT_OFFSET=N] node socle_load.mjs BASE_URL KEY MODEL PROMPT MAX LEVEL...
//
// Prints one JSON line per level: {"engine":"socle","streams","tokens","seconds","tps",
// "ttft_p50_ms","ttft_max_ms"}. Checks: every stream ends with [DONE] and reports usage, and
// stream 0 (the same prompt at every level) gives the same token ids at every level: batch
// invariance, greedy. A failed check exits 1.
const [baseURL, key, model, promptArg, maxArg, ...levelArgs] = process.argv.slice(2);
const PROMPT = Number(promptArg);
const MAX = Number(maxArg);
const levels = levelArgs.map(Number);
if (!baseURL || !(PROMPT >= 1) || !(MAX >= 1) || levels.length === 0 || levels.some((n) => !(n >= 1))) {
  console.error("usage: node socle_load.mjs BASE_URL KEY MODEL PROMPT MAX LEVEL...");
  process.exit(2);
}
const VOCAB = 32000;  // engine_bench's models
// Distinct prompts: spread over the vocabulary, past the special ids. PROMPT_OFFSET (default
// 0) shifts the prompts, so that a second run sends prompts the server has not cached.
const OFFSET = Number(process.env.PROMPT_OFFSET ?? 0);
if (!Number.isSafeInteger(OFFSET) || OFFSET < 0) {
  console.error(`PROMPT_OFFSET must be a non-negative integer, not '${process.env.PROMPT_OFFSET}'`);
  process.exit(2);
}
const promptOf = (i) =>
  Array.from({ length: PROMPT }, (_, k) => 3 + (((i + OFFSET) * 7919 + k * 104729) % (VOCAB - 3)));

async function stream(i, t0) {
  const res = await fetch(`${baseURL}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({
      model, prompt: promptOf(i), max_tokens: MAX, temperature: 0, stream: true,
      stream_options: { include_usage: true }, logprobs: 0, return_tokens_as_token_ids: true,
    }),
  });
  if (res.status !== 200) throw new Error(`stream ${i}: HTTP ${res.status}: ${await res.text()}`);
  let first = 0;
  const ids = [];
  let usage = null;
  let done = false;
  let buffer = "";
  const decoder = new TextDecoder();
  for await (const chunk of res.body) {
    buffer += decoder.decode(chunk, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      if (!event.startsWith("data: ")) continue;
      const data = event.slice(6);
      if (data === "[DONE]") { done = true; continue; }
      const o = JSON.parse(data);
      if (o.usage) usage = o.usage;
      for (const c of o.choices ?? []) {
        for (const t of c.logprobs?.tokens ?? []) {
          if (!first) first = performance.now();
          ids.push(Number(t.slice("token_id:".length)));
        }
      }
    }
  }
  if (!done || !usage) throw new Error(`stream ${i}: no [DONE] or no usage`);
  if (usage.completion_tokens < ids.length) throw new Error(`stream ${i}: usage below the tokens streamed`);
  return { ttft: first - t0, ids, tokens: usage.completion_tokens, end: performance.now() };
}

let reference = null;
for (const n of levels) {
  const t0 = performance.now();
  const results = await Promise.all(Array.from({ length: n }, (_, i) => stream(i, t0)));
  const seconds = (Math.max(...results.map((r) => r.end)) - t0) / 1000;
  const tokens = results.reduce((a, r) => a + r.tokens, 0);
  const ttfts = results.map((r) => r.ttft).sort((a, b) => a - b);
  if (reference === null) reference = results[0].ids;
  if (JSON.stringify(results[0].ids) !== JSON.stringify(reference)) {
    console.error(`stream 0 at ${n} streams differs from stream 0 at ${levels[0]}: batch invariance broken`);
    process.exit(1);
  }
  console.log(JSON.stringify({
    engine: "socle", streams: n, tokens, seconds, tps: tokens / seconds,
    ttft_p50_ms: ttfts[Math.floor(ttfts.length / 2)], ttft_max_ms: ttfts.at(-1),
  }));
}
