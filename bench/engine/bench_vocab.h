// A byte-level BPE vocabulary of any size >= 260, as GGUF tokenizer.* keys: the 256 byte
// tokens, then lowercase-letter tokens made by merging a shorter one with a letter ("a"+"b",
// then "ab"+"c", ...) until the size is reached, then three special tokens. llama.cpp loads
// no model without a vocabulary of exactly its vocab_size tokens; the benchmark feeds token
// ids, so the merges only have to be well formed.
#pragma once

#include <cstdint>

#include "base/status.h"
#include "engine/tokenizer/gguf_vocab.h"

namespace socle::engine::bench {

Result<tokenizer::GgufMetadata> bench_vocab_keys(int64_t vocab_size);

}  // namespace socle::engine::bench
