// The bert family in GGUF, as llama.cpp's convert_hf_to_gguf.py writes it (architecture
// "bert"): tensor names (token_embd, position_embd, token_types, token_embd_norm,
// blk.N.attn_q ... layer_output_norm, cls and cls.output for a classifier head), metadata keys
// (bert.embedding_length, bert.attention.layer_norm_epsilon, bert.attention.causal false,
// bert.pooling_type, tokenizer.ggml.token_type_count). XLM-RoBERTa is written as "bert" too,
// its position embeddings cut to start at its first real position (pad_token_id + 1), so that
// positions count from 0 as in bert; its classifier (dense, tanh, out_proj) is the same shape
// as bert's pooler then linear layer and is stored as cls and cls.output.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "engine/format/dtype.h"
#include "engine/format/gguf.h"
#include "engine/format/hf_config.h"
#include "engine/format/sentence_transformers.h"

namespace socle::engine {

// llama.cpp's pooling types (bert.pooling_type).
enum class GgufPooling : uint32_t { NONE = 0, MEAN = 1, CLS = 2, LAST = 3, RANK = 4 };

// "bert.encoder.layer.3.attention.self.query.weight" -> "blk.3.attn_q.weight" (the "bert.",
// "roberta." or "model." prefix of task models dropped); `config` says what the classifier
// tensors are. nullopt for a tensor the GGUF file does not keep (an encoder's unused pooler).
std::optional<std::string> bert_gguf_name(const std::string& hf_name, const HfConfig& config);

// The inverse, to the names BertModel reads (no prefix; cls -> pooler.dense, cls.output ->
// classifier).
std::optional<std::string> bert_hf_name(const std::string& gguf_name);

// The config a "bert" GGUF file describes (family BERT, positions from 0; head
// BERT_CLASSIFIER when the file has cls.output). INVALID_ARGUMENT names the key at fault.
Result<HfConfig> bert_config_from_gguf(const GgufFile& file);

// The embedding settings a "bert" GGUF file gives: its pooling type (mean when it has none),
// with unit L2 norm, as llama.cpp's server returns embeddings by default.
Result<EmbeddingSettings> bert_embedding_settings_from_gguf(const GgufFile& file);

// Converts the bert-family Hugging Face folder `dir` to a GGUF file at `out`: matrices in
// `type` (with quant_type_for_row's fallbacks), vectors in F32. The pooling type is the
// folder's sentence-transformers pooling (mean if it has none) for encoders, RANK for
// classifiers. `tokenizer_keys` as for llama_convert_to_gguf (llama.cpp loads no model
// without a vocabulary of exactly vocab_size tokens); empty writes none.
Status bert_convert_to_gguf(
    const std::string& dir, const std::string& out, DType type,
    const std::vector<std::pair<std::string, GgufValue>>& tokenizer_keys = {});

}  // namespace socle::engine
