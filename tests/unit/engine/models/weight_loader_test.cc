#include "engine/models/weight_loader.h"

#include <gtest/gtest.h>

#include <cstring>

#include "base/file.h"
#include "engine/format/safetensors_writer.h"
#include "engine/kernels/kernel_path.h"
#include "engine/kernels/packed_weights.h"
#include "engine/kernels/quant.h"
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

// Quantised matrices get the packed layout on the AVX512 path, and only there; float ones
// and the stored rows are left as they are.
TEST(WeightLoaderPacking, PacksQuantisedMatricesForTheAvx512Path) {
  testing::TempDir dir;
  std::vector<float> w(20 * 64);
  for (size_t i = 0; i < w.size(); ++i)
    w[i] = static_cast<float>(static_cast<int>(i % 17) - 8) / 8.0f;
  std::vector<TensorData> tensors = {
      {"w",
       DType::F32,
       {20, 64},
       std::string_view(reinterpret_cast<const char*>(w.data()), w.size() * sizeof(float))}};
  auto bytes = safetensors_serialize(tensors);
  ASSERT_TRUE(bytes.is_ok());
  ASSERT_TRUE(write_file_atomic(dir.file("m.safetensors"), *bytes).is_ok());
  auto model = SafetensorsModel::open_file(dir.file("m.safetensors"));
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  WeightLoader loader(std::move(model).value());
  auto f32 = loader.matrix("w", 20, 64);
  ASSERT_TRUE(f32.is_ok());
  WeightView float_view = *f32;
  loader.pack_for_matmul(&float_view);
  EXPECT_EQ(float_view.packed, nullptr);
  loader.quantize_matrices_to(DType::Q8_0);
  auto q = loader.matrix("w", 20, 64);
  ASSERT_TRUE(q.is_ok());
  WeightView view = *q;
  ASSERT_EQ(view.type, DType::Q8_0);
  loader.pack_for_matmul(&view);
  EXPECT_EQ(view.data, q->data);
  EXPECT_EQ(view.packed != nullptr, kernel_path_active() == KernelPath::AVX512);
  if (view.packed == nullptr) return;
  EXPECT_EQ(reinterpret_cast<uintptr_t>(view.packed) % PACKED_ALIGNMENT, 0u);
  // Row 17's first block: its scale is lane 1 of group 1's scales, its first code lane 1 of
  // group 1's first quad, + 128.
  const auto* group =
      static_cast<const uint8_t*>(view.packed) + packed_group_bytes(DType::Q8_0, 64);
  const auto* row = static_cast<const BlockQ8_0*>(view.row(17));
  uint16_t scale = 0;
  std::memcpy(&scale, group + 2 * 512 + 2, sizeof(scale));
  EXPECT_EQ(scale, row[0].d);
  EXPECT_EQ(group[4], static_cast<uint8_t>(static_cast<uint8_t>(row[0].qs[0]) ^ 0x80));
  EXPECT_EQ(group[4 + 64 + 1], static_cast<uint8_t>(static_cast<uint8_t>(row[0].qs[5]) ^ 0x80));
}

}  // namespace
}  // namespace socle::engine
