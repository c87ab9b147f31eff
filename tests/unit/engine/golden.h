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
#include "engine/models/llama.h"

namespace socle::engine::testing {

inline std::string golden_dir(const std::string& model) {
  return std::string(SOCLE_GOLDEN_DIR) + "/" + model;
}

// A golden decoder folder's model and its ref.safetensors (failures fail the test).
struct GoldenDecoder {
  LlamaModel model;
  SafetensorsFile ref;
};

inline GoldenDecoder load_golden_decoder(const std::string& name) {
  auto model = LlamaModel::load(golden_dir(name));
  EXPECT_TRUE(model.is_ok()) << model.status().to_string();
  auto ref = SafetensorsFile::open(golden_dir(name) + "/ref.safetensors");
  EXPECT_TRUE(ref.is_ok()) << ref.status().to_string();
  return {std::move(model).value(), std::move(ref).value()};
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
