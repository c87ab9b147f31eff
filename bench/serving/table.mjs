// The serving benchmark's table from socle_load.mjs and llamacpp_load.mjs JSON lines.
//   node table.mjs RESULTS.jsonl
import { readFileSync } from "node:fs";

const rows = readFileSync(process.argv[2], "utf8").trim().split("\n").map((l) => JSON.parse(l));
const by = (engine) => new Map(rows.filter((r) => r.engine === engine).map((r) => [r.streams, r]));
const socle = by("socle");
const llama = by("llama.cpp");
const one = (m) => m.get(Math.min(...m.keys()));
const f = (x, d = 1) => (x === undefined ? "-" : x.toFixed(d));
console.log("| streams | socle tok/s | socle ÷ 1 stream | socle TTFT p50 / max ms | llama.cpp tok/s | llama.cpp ÷ 1 stream | llama.cpp TTFT p50 / max ms | socle ÷ llama.cpp |");
console.log("|---|---|---|---|---|---|---|---|");
for (const n of [...socle.keys()].sort((a, b) => a - b)) {
  const s = socle.get(n);
  const l = llama.get(n);
  console.log(`| ${n} | ${f(s.tps)} | ${f(s.tps / one(socle).tps, 2)} | ${f(s.ttft_p50_ms, 0)} / ${f(s.ttft_max_ms, 0)} | ` +
    `${f(l?.tps)} | ${l ? f(l.tps / one(llama).tps, 2) : "-"} | ${l ? `${f(l.ttft_p50_ms, 0)} / ${f(l.ttft_max_ms, 0)}` : "-"} | ` +
    `${l ? f(s.tps / l.tps, 2) : "-"} |`);
}
