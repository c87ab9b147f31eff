// The serving benchmark's table from socle_load.mjs and llamacpp_load.mjs JSON lines.
//   node table.mjs RESULTS.jsonl
import { readFileSync } from "node:fs";

const rows = readFileSync(process.argv[2], "utf8").trim().split("\n").map((l) => JSON.parse(l));
// Rows by engine, each level's runs in order (socle runs its lowest level twice).
const by = (engine) => {
  const m = new Map();
  for (const r of rows.filter((x) => x.engine === engine)) m.set(r.streams, [...(m.get(r.streams) ?? []), r]);
  return m;
};
const socle = by("socle");
if (socle.size === 0) {
  console.error("table.mjs: no socle rows in " + process.argv[2]);
  process.exit(1);
}
const llama = by("llama.cpp");
// The baseline: the lowest level's fastest run.
const one = (m) => Math.max(...m.get(Math.min(...m.keys())).map((r) => r.tps));
// A level's row: its run, or for the lowest level its fastest (the baseline).
const row = (m, n) => {
  const runs = m.get(n);
  if (!runs) return undefined;
  return n === Math.min(...m.keys()) ? runs.reduce((a, b) => (b.tps > a.tps ? b : a)) : runs[0];
};
const f = (x, d = 1) => (x === undefined ? "-" : x.toFixed(d));
console.log("| streams | socle tok/s | socle ÷ 1 stream | socle TTFT p50 / max ms | llama.cpp tok/s | llama.cpp ÷ 1 stream | llama.cpp TTFT p50 / max ms | socle ÷ llama.cpp |");
console.log("|---|---|---|---|---|---|---|---|");
for (const n of [...socle.keys()].sort((a, b) => a - b)) {
  const s = row(socle, n);
  const l = row(llama, n);
  console.log(`| ${n} | ${f(s.tps)} | ${f(s.tps / one(socle), 2)} | ${f(s.ttft_p50_ms, 0)} / ${f(s.ttft_max_ms, 0)} | ` +
    `${f(l?.tps)} | ${l ? f(l.tps / one(llama), 2) : "-"} | ${l ? `${f(l.ttft_p50_ms, 0)} / ${f(l.ttft_max_ms, 0)}` : "-"} | ` +
    `${l ? f(s.tps / l.tps, 2) : "-"} |`);
}
const lowest = Math.min(...socle.keys());
const again = socle.get(lowest).slice(1);
if (again.length > 0) {
  console.log(`\nsocle at ${lowest} stream(s): ${socle.get(lowest).map((r) => f(r.tps)).join(" tok/s first, ")} tok/s ` +
    `again after the other levels; its row and the ratios are the faster run's.`);
}
