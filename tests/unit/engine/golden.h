// Helpers for the engine's tests against ../shared/golden: reading reference tensors and
// measuring relative error as the golden README defines it.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "engine/format/safetensors.h"

namespace socle::engine::testing {

inline std::string golden_dir(const std::string& model) {
  return std::string(SOCLE_GOLDEN_DIR) + "/" + model;
}

// The tensor `name` of `file`, which must be F32, widened to a vector.
inline std::vector<float> tensor_f32(const SafetensorsFile& file, const std::string& name) {
  const TensorView* t = file.find(name);
  EXPECT_NE(t, nullptr) << name;
  if (t == nullptr || t->dtype != DType::F32) return {};
  std::vector<float> out(static_cast<size_t>(t->numel()));
  std::memcpy(out.data(), t->data, t->nbytes);
  return out;
}

inline std::vector<int32_t> tensor_i32(const SafetensorsFile& file, const std::string& name) {
  const TensorView* t = file.find(name);
  EXPECT_NE(t, nullptr) << name;
  if (t == nullptr || t->dtype != DType::I32) return {};
  std::vector<int32_t> out(static_cast<size_t>(t->numel()));
  std::memcpy(out.data(), t->data, t->nbytes);
  return out;
}

// ||got - ref|| / ||ref||, in double.
inline double relative_error(std::span<const float> got, std::span<const float> ref) {
  EXPECT_EQ(got.size(), ref.size());
  double diff = 0;
  double norm = 0;
  for (size_t i = 0; i < ref.size() && i < got.size(); ++i) {
    double d = static_cast<double>(got[i]) - static_cast<double>(ref[i]);
    diff += d * d;
    norm += static_cast<double>(ref[i]) * static_cast<double>(ref[i]);
  }
  return std::sqrt(diff) / std::sqrt(norm);
}

}  // namespace socle::engine::testing
