// libFuzzer target for the safetensors reader: any bytes must be accepted or rejected with a
// Status, never crash or read outside the input; an accepted file's tensors lie inside it.
#include <cstddef>
#include <cstdint>
#include <span>

#include "base/check.h"
#include "engine/format/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  auto file = socle::engine::SafetensorsFile::parse(bytes, "fuzz");
  if (!file.is_ok()) return 0;
  const std::byte* end = bytes.data() + bytes.size();
  for (const auto& t : file->tensors()) {
    SOCLE_CHECK(t.data >= bytes.data() && t.data + t.nbytes <= end,
                "accepted tensors lie inside the file");
    // Reading every byte lets AddressSanitizer catch a range the checks let through.
    volatile std::byte sink{};
    for (size_t i = 0; i < t.nbytes; ++i)
      sink = t.data[i];
    (void)sink;
  }
  return 0;
}
