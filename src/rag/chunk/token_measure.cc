#include "rag/chunk/token_measure.h"

#include <utility>

namespace socle::rag {

Measure token_measure(std::shared_ptr<const engine::tokenizer::Tokenizer> tokenizer) {
  return [tokenizer = std::move(tokenizer)](std::string_view text) -> int64_t {
    Result<std::vector<int32_t>> ids = tokenizer->encode(text, false);
    // encode refuses only ill-formed UTF-8, which no parser produces and no cut at whitespace
    // creates; should it happen, the byte count errs on the safe side (a byte-level tokenizer
    // never gives more tokens than bytes).
    if (!ids.is_ok()) return static_cast<int64_t>(text.size());
    return static_cast<int64_t>(ids->size());
  };
}

Result<std::shared_ptr<const engine::tokenizer::Tokenizer>> TokenizerCache::get(
    const std::string& path) {
  std::lock_guard lock(mu_);
  auto it = loaded_.find(path);
  if (it != loaded_.end()) return it->second;
  // Loaded under the lock: a second caller for the same file waits for this load rather
  // than loading it again (a large vocabulary takes a second).
  Result<engine::tokenizer::Tokenizer> tok = engine::tokenizer::Tokenizer::load(path);
  if (!tok.is_ok()) {
    return Status{StatusCode::FAILED_PRECONDITION,
                  "the tokenizer '" + path + "' does not load: " + tok.status().message() +
                      "; fix the model's tokenizer in socle.toml"};
  }
  auto shared = std::make_shared<const engine::tokenizer::Tokenizer>(std::move(tok).value());
  loaded_.emplace(path, shared);
  return shared;
}

}  // namespace socle::rag
