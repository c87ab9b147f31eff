// libFuzzer target for the GGUF reader: any bytes must be accepted or rejected with a Status,
// never crash or read outside the input; an accepted file's tensors lie inside it, and
// writing its tensors and metadata back gives a file the reader accepts again.
#include <cstddef>
#include <cstdint>
#include <span>

#include "base/check.h"
#include "engine/format/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  auto file = socle::engine::GgufFile::parse(bytes, "fuzz");
  if (!file.is_ok()) return 0;
  const std::byte* end = bytes.data() + bytes.size();
  std::vector<socle::engine::GgufTensorData> tensors;
  for (const auto& t : file->tensors()) {
    SOCLE_CHECK(t.data >= bytes.data() && t.data + t.nbytes <= end,
                "accepted tensors lie inside the file");
    // Reading every byte lets AddressSanitizer catch a range the checks let through.
    volatile std::byte sink{};
    for (size_t i = 0; i < t.nbytes; ++i)
      sink = t.data[i];
    (void)sink;
    tensors.push_back({t.name, t.type, t.dims, {reinterpret_cast<const char*>(t.data), t.nbytes}});
  }
  std::vector<std::pair<std::string, socle::engine::GgufValue>> metadata(file->metadata().begin(),
                                                                         file->metadata().end());
  auto again = socle::engine::gguf_serialize(metadata, tensors);
  SOCLE_CHECK(again.is_ok(), "what the reader accepts, the writer writes");
  std::span<const std::byte> again_bytes(reinterpret_cast<const std::byte*>(again->data()),
                                         again->size());
  SOCLE_CHECK(socle::engine::GgufFile::parse(again_bytes, "fuzz-again").is_ok(),
              "what the writer writes, the reader accepts");
  return 0;
}
