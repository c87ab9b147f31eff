// Computes llama.cpp's next-token probabilities for GGUF model files that socle wrote, with
// node-llama-cpp's prebuilt CPU binary (npm @node-llama-cpp/linux-x64): llama.cpp's own
// loader, graph and kernels, which share no code with socle.
//
//   node llamacpp_oracle.mjs PROMPTS.json OUT_DIR NAME=FILE.gguf...
//
// PROMPTS.json is {"n_vocab": N, "prompts": [[id, ...], ...]}; the ids are evaluated as they are (no
// tokenisation, no BOS added), each prompt from an empty cache. OUT_DIR/NAME.f32 gets, for
// every position of every prompt in order, the probabilities of each of the vocabulary's
// tokens to come next (little-endian float32, n_vocab per row): llama.cpp's logits through
// a greedy sampler, which leaves them as they are, then a softmax (the addon's sampleToken).
// The context keeps its keys and values in F32 and runs without flash attention, so that
// llama.cpp rounds nothing that socle keeps in float32.
// Nothing is downloaded or built: getLlama runs the prebuilt binary or fails.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

const [promptsPath, outDir, ...files] = process.argv.slice(2);
if (!promptsPath || !outDir || files.length === 0) {
  console.error("usage: node llamacpp_oracle.mjs PROMPTS.json OUT_DIR NAME=FILE.gguf...");
  process.exit(2);
}
const { n_vocab: nVocab, prompts } = JSON.parse(readFileSync(promptsPath, "utf8"));
const longest = Math.max(...prompts.map((p) => p.length));
const llama = await getLlama({
  gpu: false,
  build: "never",
  usePrebuiltBinaries: true,
  progressLogs: false,
  logLevel: LlamaLogLevel.error,
  logger: (level, message) => console.error(`[llama.cpp ${level}] ${message}`),
});
for (const arg of files) {
  const at = arg.indexOf("=");
  const name = arg.slice(0, at);
  const model = await llama.loadModel({ modelPath: arg.slice(at + 1), gpuLayers: 0 });
  const context = await model.createContext({
    // Room to spare: node-llama-cpp shifts the context (drops its first tokens) before
    // evaluating a token that would fill it, which changes the last position's attention.
    contextSize: 2 * longest,
    batchSize: longest,
    sequences: 1,
    threads: 1,
    flashAttention: false,
    experimentalKvCacheKeyType: "F32",
    experimentalKvCacheValueType: "F32",
  });
  const sequence = context.getSequence();
  const rows = prompts.reduce((n, p) => n + p.length, 0);
  const out = new Float32Array(rows * nVocab);
  let row = 0;
  for (const prompt of prompts) {
    await sequence.clearHistory();
    const input = prompt.map((id) => [id, { generateNext: { probabilities: true } }]);
    const results = await sequence.controlledEvaluate(input);
    for (let i = 0; i < prompt.length; ++i) {
      const probabilities = results[i]?.next?.probabilities;
      if (probabilities == null || probabilities.size !== nVocab) {
        throw new Error(`${name}: position ${i} has ${probabilities?.size} probabilities, not ${nVocab}`);
      }
      for (const [token, p] of probabilities) out[row * nVocab + token] = p;
      ++row;
    }
  }
  writeFileSync(join(outDir, `${name}.f32`), Buffer.from(out.buffer));
  await context.dispose();
  await model.dispose();
}
await llama.dispose();
