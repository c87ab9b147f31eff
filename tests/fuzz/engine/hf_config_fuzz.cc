// libFuzzer target for the Hugging Face config and sentence-transformers readers: any text
// must be accepted or rejected with a Status; an accepted config's sizes are consistent.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/check.h"
#include "engine/format/hf_config.h"
#include "engine/format/sentence_transformers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = socle::engine::hf_config_parse(text);
  if (config.is_ok()) {
    SOCLE_CHECK(config->num_heads > 0 && config->num_kv_heads > 0 &&
                    config->num_heads % config->num_kv_heads == 0 && config->head_dim > 0,
                "an accepted config has usable attention sizes");
  }
  (void)socle::engine::sentence_transformers_parse(text, text);
  return 0;
}
