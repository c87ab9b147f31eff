#!/usr/bin/env python3
"""The PyTorch side of bench/train: the same LoRA training step as socle's Trainer, in plain
torch (Debian's python3-torch; bookworm ships no transformers or peft), on the Hugging Face
folder, the PEFT adapter and the batch that train_bench wrote.

The model is LlamaForCausalLM's computation as transformers 5 performs it in float32:
RMSNorm (x * rsqrt(mean(x^2) + eps) * weight), rotary embeddings with rotate_half, grouped-
query attention with a causal mask and softmax in float32, SwiGLU, an untied output head; each
of the seven projections adapted as PEFT does, y = W x + scaling * B (A x). The step is the
one the Trainer takes: the sum of next-token cross-entropy over the trained positions of the
whole batch divided by their count, backward, global-norm clipping, AdamW.

Usage: torch_lora_step.py DIR --threads T --steps S --lr LR --max-grad-norm N
Prints one JSON object: the loss and gradient norm (before clipping) of every step and the
seconds each step took (forward, backward, clipping and the optimiser step).
"""
import argparse
import json
import math
import struct
import sys
import time

import numpy as np
import torch

DTYPES = {"F32": np.float32, "I32": np.int32}
TARGETS = {
    "q_proj": "self_attn", "k_proj": "self_attn", "v_proj": "self_attn", "o_proj": "self_attn",
    "gate_proj": "mlp", "up_proj": "mlp", "down_proj": "mlp",
}


def read_safetensors(path):
    """Every tensor of a safetensors file (the format's header: 8-byte length, JSON)."""
    with open(path, "rb") as f:
        raw = f.read()
    (header_len,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + header_len])
    base = 8 + header_len
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        array = np.frombuffer(raw, dtype=DTYPES[info["dtype"]], count=(end - begin) //
                              np.dtype(DTYPES[info["dtype"]]).itemsize, offset=base + begin)
        out[name] = torch.from_numpy(array.reshape(info["shape"]).copy())
    return out


def rmsnorm(x, weight, eps):
    variance = x.pow(2).mean(-1, keepdim=True)
    return weight * (x * torch.rsqrt(variance + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class LoraLlama:
    def __init__(self, folder, adapter_dir):
        with open(folder + "/config.json") as f:
            self.config = json.load(f)
        c = self.config
        self.w = read_safetensors(folder + "/model.safetensors")
        with open(adapter_dir + "/adapter_config.json") as f:
            ac = json.load(f)
        rank = ac["r"]
        self.scaling = ac["lora_alpha"] / (math.sqrt(rank) if ac.get("use_rslora") else rank)
        adapter = read_safetensors(adapter_dir + "/adapter_model.safetensors")
        self.lora = {}
        for name, t in adapter.items():
            self.lora[name] = t.clone().requires_grad_(True)
        self.hidden = c["hidden_size"]
        self.heads = c["num_attention_heads"]
        self.kv_heads = c["num_key_value_heads"]
        self.head_dim = c.get("head_dim") or self.hidden // self.heads
        self.eps = c["rms_norm_eps"]
        theta = c.get("rope_theta") or c["rope_parameters"]["rope_theta"]
        self.inv_freq = 1.0 / (theta ** (torch.arange(0, self.head_dim, 2, dtype=torch.int64)
                                         .float() / self.head_dim))

    def params(self):
        return list(self.lora.values())

    def linear(self, x, layer, target):
        module = TARGETS[target]
        y = x @ self.w[f"model.layers.{layer}.{module}.{target}.weight"].t()
        prefix = f"base_model.model.model.layers.{layer}.{module}.{target}"
        a = self.lora.get(prefix + ".lora_A.weight")
        if a is None:
            return y
        b = self.lora[prefix + ".lora_B.weight"]
        return y + ((x @ a.t()) @ b.t()) * self.scaling

    def forward(self, ids):
        batch, n = ids.shape
        x = self.w["model.embed_tokens.weight"][ids.long()]
        positions = torch.arange(n, dtype=torch.float32)
        freqs = positions[:, None] * self.inv_freq[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        mask = torch.full((n, n), float("-inf")).triu(1)
        group = self.heads // self.kv_heads
        for l in range(self.config["num_hidden_layers"]):
            p = f"model.layers.{l}."
            h = rmsnorm(x, self.w[p + "input_layernorm.weight"], self.eps)
            q = self.linear(h, l, "q_proj").view(batch, n, self.heads, self.head_dim)
            k = self.linear(h, l, "k_proj").view(batch, n, self.kv_heads, self.head_dim)
            v = self.linear(h, l, "v_proj").view(batch, n, self.kv_heads, self.head_dim)
            q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            k = k.repeat_interleave(group, dim=1)
            v = v.repeat_interleave(group, dim=1)
            scores = (q @ k.transpose(2, 3)) / math.sqrt(self.head_dim) + mask
            att = torch.softmax(scores, dim=-1, dtype=torch.float32) @ v
            att = att.transpose(1, 2).reshape(batch, n, self.heads * self.head_dim)
            x = x + self.linear(att, l, "o_proj")
            h = rmsnorm(x, self.w[p + "post_attention_layernorm.weight"], self.eps)
            gated = torch.nn.functional.silu(self.linear(h, l, "gate_proj")) * \
                self.linear(h, l, "up_proj")
            x = x + self.linear(gated, l, "down_proj")
        x = rmsnorm(x, self.w["model.norm.weight"], self.eps)
        return x @ self.w["lm_head.weight"].t()


def blas_library():
    """The BLAS that Debian's alternatives give libblas.so.3 (PyTorch's BLAS_INFO is "generic")."""
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                if "libblas.so" in line or "libopenblas" in line:
                    return line.split()[-1]
    except OSError:
        pass
    return "unknown"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--lr", type=float, required=True)
    ap.add_argument("--max-grad-norm", type=float, required=True)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    model = LoraLlama(args.dir + "/model", args.dir + "/adapter")
    batch = read_safetensors(args.dir + "/batch.safetensors")
    ids, labels = batch["input_ids"], batch["labels"]
    targets = labels[:, 1:].reshape(-1).long()
    trained = int((targets != -100).sum())
    optimizer = torch.optim.AdamW(model.params(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8,
                                  weight_decay=args.weight_decay)
    losses, norms, seconds = [], [], []
    for _ in range(args.steps):
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        logits = model.forward(ids)
        vocab = logits.shape[-1]
        loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, vocab), targets,
                                                 ignore_index=-100, reduction="sum") / trained
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.params(), args.max_grad_norm)
        optimizer.step()
        seconds.append(time.perf_counter() - start)
        losses.append(float(loss))
        norms.append(float(norm))
    json.dump({"torch": torch.__version__, "threads": torch.get_num_threads(),
               "blas": blas_library(), "loss": losses, "grad_norm": norms,
               "seconds": seconds, "trained_tokens": trained}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
