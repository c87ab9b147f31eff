"""Renders chat templates with Python's jinja2 exactly as transformers does (trim_blocks,
lstrip_blocks, loop controls, its tojson and raise_exception), for socle's template tests.

    python3 oracle.py IN.json OUT.json

IN.json is what oracle.mjs wrote (it carries each template and its tokens); OUT.json gets
the same shape with Python's renderings.
"""
import json
import sys

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def main():
    src, dst, conv_path = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(src, encoding="utf-8") as f:
        spec = json.load(f)
    with open(conv_path, encoding="utf-8") as f:
        conversations = json.load(f)["conversations"]
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    out = {}
    for name, entry in spec.items():
        template = env.from_string(entry["template"])
        results = []
        for c in conversations:
            kwargs = dict(messages=c["messages"], add_generation_prompt=c["add_generation_prompt"],
                          bos_token=entry["bos_token"], eos_token=entry["eos_token"])
            if "tools" in c:
                kwargs["tools"] = c["tools"]
            try:
                results.append({"ok": True, "text": template.render(**kwargs)})
            except Exception as e:  # noqa: BLE001 - any failure is an expected answer here
                results.append({"ok": False, "error": str(e)})
        out[name] = {"results": results}
    with open(dst, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
