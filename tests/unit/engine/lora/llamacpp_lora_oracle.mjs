// llama.cpp's next-token probabilities for a base GGUF model with and without a LoRA GGUF
// adapter that socle wrote, with node-llama-cpp's prebuilt CPU binary (npm
// @node-llama-cpp/linux-x64): llama.cpp's own adapter loader and graph, which share no code
// with socle.
//
//   node llamacpp_lora_oracle.mjs PROMPTS.json OUT_DIR MODEL.gguf LORA.gguf
//
// PROMPTS.json is {"n_vocab": N, "prompts": [[id, ...], ...]}; the ids are evaluated as they
// are (no tokenisation, no BOS), each prompt from an empty cache. OUT_DIR/base.f32 and
// OUT/lora.f32 get, for every position of every prompt in order, the probabilities of the
// next token (little-endian float32, n_vocab per row), without and with the adapter at
// scale 1. Keys and values stay in F32, without flash attention, as in
// ../models/llamacpp_oracle.mjs. Nothing is downloaded or built.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

const [promptsPath, outDir, modelPath, loraPath] = process.argv.slice(2);
if (!promptsPath || !outDir || !modelPath || !loraPath) {
  console.error("usage: node llamacpp_lora_oracle.mjs PROMPTS.json OUT_DIR MODEL.gguf LORA.gguf");
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
const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
for (const [name, lora] of [["base", undefined], ["lora", { adapters: [{ filePath: loraPath, scale: 1 }] }]]) {
  const context = await model.createContext({
    contextSize: 2 * longest,
    batchSize: longest,
    sequences: 1,
    threads: 1,
    flashAttention: false,
    experimentalKvCacheKeyType: "F32",
    experimentalKvCacheValueType: "F32",
    lora,
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
}
await model.dispose();
await llama.dispose();
