// Counts tokens the way an independent implementation does: @lenml/tokenizers (the tokenizers
// of transformers.js, which shares no code with socle) encodes each string without special
// tokens, with the tokenizer.json and tokenizer_config.json of a folder.
//
//   node token_count.mjs TOKENIZER_DIR STRINGS.json OUT.json
//
// STRINGS.json is a JSON array of strings; OUT.json gets the array of their token counts.
import { readFileSync, writeFileSync } from "node:fs";
import { TokenizerLoader } from "@lenml/tokenizers";

const [dir, inPath, outPath] = process.argv.slice(2);
if (!dir || !inPath || !outPath) {
  console.error("usage: node token_count.mjs TOKENIZER_DIR STRINGS.json OUT.json");
  process.exit(2);
}
const tokenizer = TokenizerLoader.fromPreTrained({
  tokenizerJSON: JSON.parse(readFileSync(`${dir}/tokenizer.json`, "utf8")),
  tokenizerConfig: JSON.parse(readFileSync(`${dir}/tokenizer_config.json`, "utf8")),
});
const strings = JSON.parse(readFileSync(inPath, "utf8"));
writeFileSync(outPath, JSON.stringify(strings.map((s) => tokenizer.encode(s, { add_special_tokens: false }).length)));
