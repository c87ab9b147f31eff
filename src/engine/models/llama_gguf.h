// The llama family in GGUF, as llama.cpp's convert_hf_to_gguf.py writes it: tensor names
// (token_embd, blk.N.attn_q, ...), metadata keys ({arch}.embedding_length, ...), the q/k row
// permutation of the "llama" architecture (whose GGUF rope pairs interleaved dimensions), and
// llama 3.1's rope scaling as a `rope_freqs.weight` tensor of per-frequency divisors. Qwen2
// and Qwen3 keep Hugging Face's row order and rotate half-split pairs.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "engine/format/dtype.h"
#include "engine/format/gguf.h"
#include "engine/format/hf_config.h"

namespace socle::engine {

inline constexpr char LLAMA_ROPE_FREQS[] = "rope_freqs.weight";  // (head_dim / 2) F32

// "model.layers.3.self_attn.q_proj.weight" -> "blk.3.attn_q.weight"; nullopt for a name
// llama.cpp does not keep.
std::optional<std::string> llama_gguf_name(const std::string& hf_name);
// The inverse; rope_freqs.weight keeps its name.
std::optional<std::string> llama_hf_name(const std::string& gguf_name);

// llama.cpp's permute() for q and k of the "llama" architecture (whose GGUF rope pairs
// interleaved dimensions): within each head of rows / n_heads rows, row j * head_dim/2 + i
// (j = 0, 1) moves to row 2i + j. `w` holds `rows` float32 rows of `cols` values, permuted in
// place. A bias permutes as a column (rows = its length, cols = 1).
void llama_gguf_permute_qk(std::vector<float>& w, int64_t n_heads, int64_t rows, int64_t cols);

// llama.cpp's architecture name for a family: "llama" (llama, mistral), "qwen2", "qwen3".
const char* llama_gguf_arch(ModelFamily family);

// The config a llama-family GGUF file describes. INVALID_ARGUMENT names the key missing or
// at fault.
Result<HfConfig> llama_config_from_gguf(const GgufFile& file);

// Converts the Hugging Face folder `dir` to a GGUF file at `out`: matrices in `type` (each
// falling back per quant_type_for_row when its rows do not fit the type's blocks), vectors in
// F32, as llama.cpp does.
//
// `tokenizer_keys` are the tokenizer.* keys to write after the model's (those that
// tokenizer::gguf_tokenizer_metadata makes, a tokenizer::GgufMetadata): llama.cpp loads no
// model without a vocabulary, and requires it to hold exactly vocab_size tokens. Empty
// writes none: socle still loads the file, llama.cpp does not. INVALID_ARGUMENT when a key
// is outside tokenizer.*, tokenizer.ggml.tokens is missing, or its count is not the model's
// vocab_size.
Status llama_convert_to_gguf(
    const std::string& dir, const std::string& out, DType type,
    const std::vector<std::pair<std::string, GgufValue>>& tokenizer_keys = {});

}  // namespace socle::engine
