// What the llama.cpp oracles share (models/llamacpp_oracle.mjs, lora/llamacpp_lora_oracle.mjs):
// node-llama-cpp's prebuilt CPU binary, and llama.cpp's next-token probabilities at every
// position of prompts given as ids.
import { writeFileSync } from "node:fs";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

// llama.cpp through the prebuilt binary of npm @node-llama-cpp/linux-x64: nothing is
// downloaded or built (getLlama fails instead).
export function cpuLlama() {
  return getLlama({
    gpu: false,
    build: "never",
    usePrebuiltBinaries: true,
    progressLogs: false,
    logLevel: LlamaLogLevel.error,
    logger: (level, message) => console.error(`[llama.cpp ${level}] ${message}`),
  });
}

// Writes to `file`, for every position of every prompt in order, the probability of each of
// the `nVocab` tokens to come next (little-endian float32, nVocab per row): llama.cpp's logits
// through a greedy sampler, which leaves them as they are, then a softmax (the addon's
// sampleToken). Each prompt is evaluated as its ids (no tokenisation, no BOS added) from an
// empty cache; keys and values stay in F32, without flash attention, so that llama.cpp
// rounds nothing that socle keeps in float32. `extra` adds context options (a LoRA).
export async function writeProbabilities(model, prompts, nVocab, file, extra = {}) {
  const longest = Math.max(...prompts.map((p) => p.length));
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
    ...extra,
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
        throw new Error(`${file}: position ${i} has ${probabilities?.size} probabilities, not ${nVocab}`);
      }
      for (const [token, p] of probabilities) out[row * nVocab + token] = p;
      ++row;
    }
  }
  writeFileSync(file, Buffer.from(out.buffer));
  await context.dispose();
}
