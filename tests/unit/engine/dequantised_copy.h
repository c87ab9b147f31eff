// A GGUF file rewritten with every tensor dequantised to F32: the same weights on socle's
// float path, where no matmul input is rounded. Quantised-model tests compare against it so
// that only what the quantised path adds is measured.
#pragma once

#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "engine/format/gguf.h"
#include "engine/kernels/quant.h"
#include "unit/engine/temp_dir.h"

namespace socle::engine::testing {

inline std::string dequantised_copy(const std::string& path, const TempDir& dir) {
  auto file = GgufFile::open(path);
  EXPECT_TRUE(file.is_ok()) << file.status().to_string();
  if (!file.is_ok()) return path;
  std::deque<std::string> storage;
  std::vector<GgufTensorData> tensors;
  for (const GgufTensor& t : file->tensors()) {
    std::string bytes(static_cast<size_t>(t.numel()) * sizeof(float), '\0');
    size_t row_in = dtype_row_bytes(t.type, t.cols());
    for (int64_t r = 0; r < t.rows(); ++r) {
      dequantize_row(t.type, t.data + static_cast<size_t>(r) * row_in,
                     reinterpret_cast<float*>(bytes.data()) + r * t.cols(), t.cols());
    }
    storage.push_back(std::move(bytes));
    tensors.push_back({t.name, DType::F32, t.dims, storage.back()});
  }
  std::vector<std::pair<std::string, GgufValue>> meta(file->metadata().begin(),
                                                      file->metadata().end());
  std::string out = dir.file("dequantised.gguf");
  EXPECT_TRUE(gguf_write(out, meta, tensors).is_ok());
  return out;
}

}  // namespace socle::engine::testing
