// The engine benchmark's table: reads the JSON lines bench/engine/run collected (one per type
// and thread count: {"model": engine_bench write's line, "socle": engine_bench run's line,
// "llama": llamacpp.mjs's line}) and prints them as a Markdown table with the ratios.
//
//   node table.mjs RESULTS.jsonl
import { readFileSync } from "node:fs";

const rows = readFileSync(process.argv[2], "utf8")
  .trim()
  .split("\n")
  .map((line) => JSON.parse(line));
const f = (x, digits = 1) => x.toFixed(digits);
const head = [
  "type", "GB read / token", "layers", "threads",
  "prompt socle", "prompt llama.cpp", "socle ÷ llama.cpp",
  "decode socle", "decode llama.cpp", "socle ÷ llama.cpp",
  "batch socle", "batch llama.cpp", "socle batch ÷ decode", "llama.cpp batch ÷ decode",
  "read GB/s", "limit tok/s", "socle ÷ limit", "llama.cpp ÷ limit",
];
console.log(`| ${head.join(" | ")} |`);
console.log(`|${"---|".repeat(3)}${"---:|".repeat(head.length - 3)}`);
for (const { model, socle, llama } of rows) {
  // A decode step reads every matrix but the embedding table, of which it reads one row.
  const gb = model.decode_bytes / 1e9;
  const limit = socle.read_gbs / gb;
  const cells = [
    model.type, f(gb, 3), model.layers, socle.threads,
    f(socle.prompt_tps), f(llama.prompt_tps), f(socle.prompt_tps / llama.prompt_tps, 2),
    f(socle.decode_tps, 2), f(llama.decode_tps, 2), f(socle.decode_tps / llama.decode_tps, 2),
    f(socle.batch_decode_tps, 2), f(llama.batch_decode_tps, 2),
    f(socle.batch_decode_tps / socle.decode_tps, 2), f(llama.batch_decode_tps / llama.decode_tps, 2),
    f(socle.read_gbs), f(limit, 2), f(socle.decode_tps / limit, 2), f(llama.decode_tps / limit, 2),
  ];
  console.log(`| ${cells.join(" | ")} |`);
}
console.log(
  `\nbatch: ${rows[0].socle.batch} sequences; memcpy GB/s (read + written): ` +
    rows.map((r) => `${r.model.type} ${r.socle.threads}t ${f(r.socle.copy_gbs)}`).join(", "),
);
