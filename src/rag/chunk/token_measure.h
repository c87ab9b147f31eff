// Chunk sizes in an embedding model's tokens: a Measure that counts with the model's own
// tokenizer, and the cache that loads each tokenizer file once per process and shares it
// between the ingestion worker and the search threads.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "base/status.h"
#include "engine/tokenizer/tokenizer.h"
#include "rag/chunk/chunker.h"

namespace socle::rag {

// The number of tokens `tokenizer` gives a text, without special tokens: the model adds its
// own ([CLS] ... [SEP], BOS) around every input, whatever the chunk. Thread-safe (encoding is
// const and the tokenizer's word cache locks itself).
Measure token_measure(std::shared_ptr<const engine::tokenizer::Tokenizer> tokenizer);

class TokenizerCache {
 public:
  // The tokenizer at `path` (Tokenizer::load: a tokenizer.json, a GGUF file or a folder),
  // loaded on the first call and shared afterwards. A file that does not load answers
  // FAILED_PRECONDITION naming it, and is tried again on the next call (the operator may fix
  // it without a restart).
  Result<std::shared_ptr<const engine::tokenizer::Tokenizer>> get(const std::string& path);

 private:
  std::mutex mu_;
  // Shared: each Measure made from a tokenizer keeps it alive as long as the chunker runs.
  std::map<std::string, std::shared_ptr<const engine::tokenizer::Tokenizer>> loaded_;  // mu_
};

}  // namespace socle::rag
