#include "engine/models/weight_loader.h"

#include <gtest/gtest.h>

#include <cstring>

#include "base/file.h"
#include "engine/format/safetensors_writer.h"
#include "unit/engine/temp_dir.h"

namespace socle::engine {
namespace {

class WeightLoaderTest : public ::testing::Test {
 protected:
  // Writes a file whose data region starts one byte after an 8-byte boundary, so that its
  // F32 tensors are misaligned in memory, as an older or hand-made file may be.
  void SetUp() override {
    std::vector<TensorData> tensors = {
        {"w", DType::F32, {2, 3}, std::string_view(reinterpret_cast<const char*>(w_), sizeof(w_))},
        {"b", DType::BF16, {2}, std::string_view(reinterpret_cast<const char*>(b_), sizeof(b_))},
        {"i", DType::I32, {1}, std::string_view(reinterpret_cast<const char*>(&i_), sizeof(i_))},
    };
    auto bytes = safetensors_serialize(tensors);
    ASSERT_TRUE(bytes.is_ok());
    std::string file = *bytes;
    uint64_t header_len = 0;
    std::memcpy(&header_len, file.data(), 8);
    file.insert(8 + header_len, " ");
    ++header_len;
    std::memcpy(file.data(), &header_len, 8);
    ASSERT_TRUE(write_file_atomic(dir_.file("odd.safetensors"), file).is_ok());
    auto model = SafetensorsModel::open_file(dir_.file("odd.safetensors"));
    ASSERT_TRUE(model.is_ok()) << model.status().to_string();
    loader_.emplace(std::move(model).value());
  }

  testing::TempDir dir_;
  float w_[6] = {1, 2, 3, 4, 5, 6};
  uint16_t b_[2] = {0x3F80, 0xC040};  // 1, -3
  int32_t i_ = 7;
  std::optional<WeightLoader> loader_;
};

TEST_F(WeightLoaderTest, CopiesMisalignedMatricesAndWidensVectors) {
  auto w = loader_->matrix("w", 2, 3);
  ASSERT_TRUE(w.is_ok()) << w.status().to_string();
  EXPECT_EQ(reinterpret_cast<uintptr_t>(w->data) % alignof(float), 0u);
  EXPECT_EQ(std::memcmp(w->data, w_, sizeof(w_)), 0);
  auto b = loader_->vector("b", 2);
  ASSERT_TRUE(b.is_ok()) << b.status().to_string();
  EXPECT_EQ(*b, (std::vector<float>{1.0f, -3.0f}));
}

TEST_F(WeightLoaderTest, NamesTheTensorAtFault) {
  auto shape = loader_->matrix("w", 3, 2);
  ASSERT_FALSE(shape.is_ok());
  EXPECT_NE(
      shape.status().message().find("tensor 'w' has shape [2, 3] but the config implies [3, 2]"),
      std::string::npos)
      << shape.status().message();
  auto type = loader_->vector("i", 1);
  ASSERT_FALSE(type.is_ok());
  EXPECT_NE(type.status().message().find("tensor 'i' is I32"), std::string::npos);
  auto missing = loader_->vector("nope", 1);
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().code(), StatusCode::NOT_FOUND);
  auto absent = loader_->optional_vector("nope", 1, false);
  ASSERT_TRUE(absent.is_ok());
  EXPECT_TRUE(absent->empty());
}

}  // namespace
}  // namespace socle::engine
