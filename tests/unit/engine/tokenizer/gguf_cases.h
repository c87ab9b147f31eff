// The npm tokenizers (npm_oracle.h) written to GGUF files by socle and read back, once per
// test binary: the GGUF tests share them, since the large ones take seconds to convert under
// the sanitizers.
#pragma once

#include <string>
#include <vector>

#include "engine/tokenizer/gguf_vocab.h"
#include "engine/tokenizer/tokenizer.h"

namespace socle::engine::tokenizer {

struct GgufCase {
  GgufMetadata keys;     // as gguf_tokenizer_metadata wrote them
  std::string path;      // the GGUF file, kept until the test binary exits
  Tokenizer* tokenizer;  // Tokenizer::load(path)
};

// NAME is an npm tokenizer name or a golden one (GGUF_GOLDEN_CASES); "NAME-scores" is the same file
// without tokenizer.ggml.merges (SentencePiece files as llama.cpp's converter writes them, merged
// by score). Fails the test and stops when the file cannot be written or read.
const GgufCase& gguf_case(const std::string& name);

// The folder of the tokenizer.json that case NAME is written from.
std::string gguf_case_source(const std::string& name);

// The cases of the default run (a SentencePiece and a byte-level tokenizer, small enough
// for the sanitizers) and of the slow one (the others).
inline const std::vector<std::string> GGUF_QUICK_CASES = {"llama2", "qwen3"};
// The WordPiece and Unigram tokenizers of ../shared/golden/tokenizers, with Hugging Face's ids.
inline const std::vector<std::string> GGUF_GOLDEN_CASES = {"wordpiece-bert", "unigram-xlmr"};
inline const std::vector<std::string> GGUF_FULL_CASES = {"llama3", "gpt4o", "deepseek_v3",
                                                         "gemma3"};

}  // namespace socle::engine::tokenizer
