// libFuzzer target for the GGUF tokenizer reader: any GGUF file the format reader accepts
// must give a tokenizer or a Status, never a crash; a tokenizer it gives must encode and
// decode a text that exercises added tokens, bytes and spaces, and decode any ids to valid
// UTF-8.
#include <cstddef>
#include <cstdint>
#include <span>

#include "base/check.h"
#include "engine/format/gguf.h"
#include "engine/tokenizer/gguf_vocab.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/unicode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace socle::engine;  // NOLINT(google-build-using-namespace): a fuzzer's body
  std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  auto file = GgufFile::parse(bytes, "fuzz");
  if (!file.is_ok()) return 0;
  (void)tokenizer::gguf_tokenizer_config(*file);
  auto tok = tokenizer::tokenizer_from_gguf(*file);
  if (!tok.is_ok()) return 0;
  for (bool special : {false, true}) {
    auto ids = tok->encode("Bonjour  <s> à\n\t</s>é 123 \xF0\x9F\x98\x80", special);
    if (!ids.is_ok()) continue;
    SOCLE_CHECK(tokenizer::utf8_valid(tok->decode(*ids)), "decoding gives valid UTF-8");
  }
  std::vector<int32_t> any = {-1, 0, 1, 2, 3, static_cast<int32_t>(tok->vocab_size()), 1 << 30};
  SOCLE_CHECK(tokenizer::utf8_valid(tok->decode(any)), "decoding any ids gives valid UTF-8");
  return 0;
}
