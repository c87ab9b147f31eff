// Writes safetensors files: for tools that export tensors (logits, converted weights) and for
// tests that build files, well-formed or not.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "engine/format/dtype.h"

namespace socle::engine {

struct TensorData {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::string_view bytes;  // numel * dtype_size bytes, little-endian
};

// The file's bytes: tensors laid out in the order given, the header padded with spaces to a
// multiple of 8 bytes so that the data region is aligned as the reference writer does.
// INVALID_ARGUMENT if a tensor's byte count disagrees with its dtype and shape, or a name
// repeats.
Result<std::string> safetensors_serialize(std::span<const TensorData> tensors,
                                          const std::map<std::string, std::string>& metadata = {});

// Serialises and writes atomically to `path`.
Status safetensors_write(const std::string& path, std::span<const TensorData> tensors,
                         const std::map<std::string, std::string>& metadata = {});

}  // namespace socle::engine
