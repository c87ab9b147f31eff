// Computes llama.cpp's next-token probabilities for GGUF model files that socle wrote, with
// node-llama-cpp's prebuilt CPU binary (npm @node-llama-cpp/linux-x64): llama.cpp's own
// loader, graph and kernels, which share no code with socle.
//
//   node llamacpp_oracle.mjs PROMPTS.json OUT_DIR NAME=FILE.gguf...
//
// PROMPTS.json is {"n_vocab": N, "prompts": [[id, ...], ...]}. OUT_DIR/NAME.f32 gets the
// probabilities as ../llamacpp_probabilities.mjs writes them.
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { cpuLlama, writeProbabilities } from "../llamacpp_probabilities.mjs";

const [promptsPath, outDir, ...files] = process.argv.slice(2);
if (!promptsPath || !outDir || files.length === 0) {
  console.error("usage: node llamacpp_oracle.mjs PROMPTS.json OUT_DIR NAME=FILE.gguf...");
  process.exit(2);
}
const { n_vocab: nVocab, prompts } = JSON.parse(readFileSync(promptsPath, "utf8"));
const llama = await cpuLlama();
for (const arg of files) {
  const at = arg.indexOf("=");
  const model = await llama.loadModel({ modelPath: arg.slice(at + 1), gpuLayers: 0 });
  await writeProbabilities(model, prompts, nVocab, join(outDir, `${arg.slice(0, at)}.f32`));
  await model.dispose();
}
await llama.dispose();
