// The same load on llama.cpp, through node-llama-cpp's prebuilt CPU binary: for each level of
// concurrency, one context with that many sequences; each sequence evaluates its prompt (the
// same ids as socle_load.mjs) and generates MAX tokens greedily, all at once (node-llama-cpp
// puts the sequences' pending tokens into one llama_decode batch per step).
//
//   node llamacpp_load.mjs MODEL.gguf THREADS PROMPT MAX LEVEL...
//
// Prints one JSON line per level, as socle_load.mjs does, with "engine":"llama.cpp". Checks
// that every sequence generated MAX tokens (or stopped at an end token) and that sequence 0
// gives the same tokens at every level.
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

const [modelPath, threadsArg, promptArg, maxArg, ...levelArgs] = process.argv.slice(2);
const THREADS = Number(threadsArg);
const PROMPT = Number(promptArg);
const MAX = Number(maxArg);
const levels = levelArgs.map(Number);
if (!modelPath || !(THREADS >= 1) || !(PROMPT >= 1) || !(MAX >= 1) || levels.length === 0) {
  console.error("usage: node llamacpp_load.mjs MODEL.gguf THREADS PROMPT MAX LEVEL...");
  process.exit(2);
}
const VOCAB = 32000;
const promptOf = (i) => Array.from({ length: PROMPT }, (_, k) => 3 + ((i * 7919 + k * 104729) % (VOCAB - 3)));

const llama = await getLlama({
  gpu: false, build: "never", usePrebuiltBinaries: true, progressLogs: false,
  maxThreads: THREADS, logLevel: LlamaLogLevel.error,
  logger: (level, message) => console.error(`[llama.cpp ${level}] ${message}`),
});
const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
let reference = null;
for (const n of levels) {
  const context = await model.createContext({
    threads: { ideal: THREADS, min: THREADS },
    contextSize: n * (PROMPT + MAX + 8),
    batchSize: Math.max(512, n),
    sequences: n,
  });
  const sequences = Array.from({ length: n }, () => context.getSequence());
  const t0 = performance.now();
  const results = await Promise.all(sequences.map(async (seq, i) => {
    let first = 0;
    const ids = [];
    for await (const token of seq.evaluate(promptOf(i), { temperature: 0 })) {
      if (!first) first = performance.now();
      ids.push(token);
      if (ids.length === MAX) break;
    }
    return { ttft: first - t0, ids, end: performance.now() };
  }));
  const seconds = (Math.max(...results.map((r) => r.end)) - t0) / 1000;
  const tokens = results.reduce((a, r) => a + r.ids.length, 0);
  const ttfts = results.map((r) => r.ttft).sort((a, b) => a - b);
  if (reference === null) reference = results[0].ids;
  if (JSON.stringify(results[0].ids) !== JSON.stringify(reference)) {
    console.error(`llama.cpp: sequence 0 at ${n} sequences differs from alone`);
  }
  console.log(JSON.stringify({
    engine: "llama.cpp", streams: n, tokens, seconds, tps: tokens / seconds,
    ttft_p50_ms: ttfts[Math.floor(ttfts.length / 2)], ttft_max_ms: ttfts.at(-1),
  }));
  await context.dispose();
}
await model.dispose();
await llama.dispose();
