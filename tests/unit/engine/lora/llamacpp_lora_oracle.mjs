// llama.cpp's next-token probabilities for a base GGUF model with and without a LoRA GGUF
// adapter that socle wrote, with node-llama-cpp's prebuilt CPU binary (npm
// @node-llama-cpp/linux-x64): llama.cpp's own adapter loader and graph, which share no code
// with socle.
//
//   node llamacpp_lora_oracle.mjs PROMPTS.json OUT_DIR MODEL.gguf LORA.gguf
//
// PROMPTS.json is {"n_vocab": N, "prompts": [[id, ...], ...]}. OUT_DIR/base.f32 and
// OUT_DIR/lora.f32 get the probabilities as ../llamacpp_probabilities.mjs writes them,
// without and with the adapter at scale 1.
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { cpuLlama, writeProbabilities } from "../llamacpp_probabilities.mjs";

const [promptsPath, outDir, modelPath, loraPath] = process.argv.slice(2);
if (!promptsPath || !outDir || !modelPath || !loraPath) {
  console.error("usage: node llamacpp_lora_oracle.mjs PROMPTS.json OUT_DIR MODEL.gguf LORA.gguf");
  process.exit(2);
}
const { n_vocab: nVocab, prompts } = JSON.parse(readFileSync(promptsPath, "utf8"));
const llama = await cpuLlama();
const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
await writeProbabilities(model, prompts, nVocab, join(outDir, "base.f32"));
await writeProbabilities(model, prompts, nVocab, join(outDir, "lora.f32"), {
  lora: { adapters: [{ filePath: loraPath, scale: 1 }] },
});
await model.dispose();
await llama.dispose();
