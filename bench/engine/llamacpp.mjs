// llama.cpp's prompt and decode speed on a GGUF file, through node-llama-cpp's prebuilt CPU
// binary (npm @node-llama-cpp/linux-x64), fed the same token ids as engine_bench run.
//
//   node llamacpp.mjs MODEL.gguf THREADS PROMPT DECODE BATCH BATCH_STEPS
//
// Prints one JSON line: prompt_tps (one evaluation of PROMPT tokens from an empty cache),
// decode_tps (DECODE evaluations of one token after a 16-token prefix) and batch_decode_tps
// (BATCH sequences of one context, each evaluating one token per step, BATCH_STEPS steps:
// node-llama-cpp puts the tokens queued by all sequences into one llama_decode batch). Each
// timed evaluation asks for the next token (greedy), so the output head runs as in a real
// decode. Nothing is downloaded or built: getLlama runs the prebuilt binary or fails.
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

const [modelPath, ...numbers] = process.argv.slice(2);
const [threads, promptTokens, decodeSteps, batch, batchSteps] = numbers.map(Number);
if (!modelPath || numbers.length !== 5 || numbers.map(Number).some((n) => !(n >= 1))) {
  console.error("usage: node llamacpp.mjs MODEL.gguf THREADS PROMPT DECODE BATCH BATCH_STEPS");
  process.exit(2);
}
const PREFIX_TOKENS = 16;

// The ids engine_bench uses: spread over the vocabulary, the same in every run.
const ids = (n, vocab, offset) => Array.from({ length: n }, (_, i) => (offset + i * 7919) % vocab);
const next = { generateNext: { token: true, options: { temperature: 0 } } };
const seconds = (start) => Number(process.hrtime.bigint() - start) / 1e9;

const llama = await getLlama({
  gpu: false,
  build: "never",
  usePrebuiltBinaries: true,
  progressLogs: false,
  maxThreads: threads,
  logLevel: LlamaLogLevel.error,
  logger: (level, message) => console.error(`[llama.cpp ${level}] ${message}`),
});
const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
const vocab = model.tokens.vocabSize ?? model.fileInfo.metadata.llama.vocab_size;
const contextOptions = {
  threads: { ideal: threads, min: threads },
  batchSize: promptTokens,
};

const result = { threads };
{
  const context = await model.createContext({
    ...contextOptions,
    contextSize: 2 * promptTokens,
    sequences: 1,
  });
  const sequence = context.getSequence();
  // Warm-up: one token pulls every weight page in.
  await sequence.controlledEvaluate([[1, next]]);
  await sequence.clearHistory();

  const prompt = ids(promptTokens, vocab, 3);
  let start = process.hrtime.bigint();
  await sequence.controlledEvaluate([...prompt.slice(0, -1), [prompt.at(-1), next]]);
  result.prompt_tps = promptTokens / seconds(start);

  await sequence.clearHistory();
  await sequence.controlledEvaluate(ids(PREFIX_TOKENS, vocab, 11));
  const decoded = ids(decodeSteps, vocab, 101);
  start = process.hrtime.bigint();
  for (const id of decoded) await sequence.controlledEvaluate([[id, next]]);
  result.decode_tps = decodeSteps / seconds(start);
  await context.dispose();
}
{
  const context = await model.createContext({
    ...contextOptions,
    contextSize: 2 * batch * (PREFIX_TOKENS + batchSteps),
    sequences: batch,
  });
  const sequences = Array.from({ length: batch }, () => context.getSequence());
  await Promise.all(sequences.map((s, b) => s.controlledEvaluate(ids(PREFIX_TOKENS, vocab, 11 + b))));
  const decoded = sequences.map((_, b) => ids(batchSteps, vocab, 101 + b));
  const start = process.hrtime.bigint();
  for (let i = 0; i < batchSteps; ++i) {
    await Promise.all(sequences.map((s, b) => s.controlledEvaluate([[decoded[b][i], next]])));
  }
  result.batch = batch;
  result.batch_decode_tps = (batch * batchSteps) / seconds(start);
  await context.dispose();
}
await model.dispose();
await llama.dispose();
console.log(JSON.stringify(result));
