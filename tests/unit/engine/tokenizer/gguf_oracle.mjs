// Computes llama.cpp's ids for GGUF files that socle wrote, with node-llama-cpp's prebuilt
// CPU binary (npm @node-llama-cpp/linux-x64), loading each file vocab-only: llama.cpp's own
// tokenizer, which shares no code with socle.
//
//   node gguf_oracle.mjs CORPUS.json OUT.json NAME=FILE.gguf...
//
// OUT.json gets, per NAME, for each corpus string: "without_special", llama_tokenize with
// parse_special (special tokens written in the text become their ids, as socle and Hugging
// Face always do) and no BOS/EOS; "with_special", the same with the BOS and EOS that the
// file's add_bos_token and add_eos_token ask for (llama_tokenize with add_special).
// Nothing is downloaded or built: getLlama runs the prebuilt binary or fails.
import { readFileSync, writeFileSync } from "node:fs";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

const [corpusPath, outPath, ...files] = process.argv.slice(2);
if (!corpusPath || !outPath || files.length === 0) {
  console.error("usage: node gguf_oracle.mjs CORPUS.json OUT.json NAME=FILE.gguf...");
  process.exit(2);
}
const { strings } = JSON.parse(readFileSync(corpusPath, "utf8"));
// node-llama-cpp first sizes each model's memory with a full (not vocab-only) load, which a
// file without weights or hyperparameters fails; that failure is expected and not shown. A
// failure of the vocab-only load itself throws from loadModel.
const SIZING_ERRORS = /error loading model hyperparameters|failed to load model|error loading model:/;
const llama = await getLlama({
  gpu: false,
  build: "never",
  usePrebuiltBinaries: true,
  progressLogs: false,
  logLevel: LlamaLogLevel.error,
  logger: (level, message) => {
    if (!SIZING_ERRORS.test(message)) console.error(`[llama.cpp ${level}] ${message}`);
  },
});
const out = {};
for (const arg of files) {
  const at = arg.indexOf("=");
  const name = arg.slice(0, at);
  const model = await llama.loadModel({ modelPath: arg.slice(at + 1), vocabOnly: true });
  const prefix = model.tokens.shouldPrependBosToken && model.tokens.bos != null ? [model.tokens.bos] : [];
  const suffix = model.tokens.shouldAppendEosToken && model.tokens.eos != null ? [model.tokens.eos] : [];
  const entry = { with_special: [], without_special: [] };
  for (const s of strings) {
    const ids = Array.from(model.tokenize(s, true));
    entry.without_special.push(ids);
    entry.with_special.push([...prefix, ...ids, ...suffix]);
  }
  out[name] = entry;
  await model.dispose();
}
await llama.dispose();
writeFileSync(outPath, JSON.stringify(out));
