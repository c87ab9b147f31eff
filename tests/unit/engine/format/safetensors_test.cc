#include "engine/format/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "base/file.h"
#include "engine/format/safetensors_writer.h"
#include "unit/engine/golden.h"
#include "unit/engine/temp_dir.h"

namespace socle::engine {
namespace {

// A file whose header is `header` verbatim, followed by `data_size` zero bytes.
std::string make_file(const std::string& header, size_t data_size) {
  std::string out(8, '\0');
  uint64_t len = header.size();
  std::memcpy(out.data(), &len, 8);
  out += header;
  out.append(data_size, '\0');
  return out;
}

std::span<const std::byte> as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

// A view of `v`'s bytes, valid while `v` is.
std::string_view f32_bytes(const std::vector<float>& v) {
  return {reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)};
}

using testing::TempDir;

struct MalformedCase {
  const char* what;
  std::string bytes;
  const char* error;  // a fragment the error message must contain
};

std::vector<MalformedCase> malformed_cases() {
  std::string huge_length(8, '\0');
  uint64_t huge = SAFETENSORS_MAX_HEADER_BYTES + 1;
  std::memcpy(huge_length.data(), &huge, 8);
  huge_length += "{}";
  std::string past_end(8, '\0');
  uint64_t ten = 10;
  std::memcpy(past_end.data(), &ten, 8);
  past_end += "{}";
  return {
      {"shorter than the length field", std::string(5, '\0'), "fewer than the 8-byte header"},
      {"header length over the limit", huge_length, "exceeds the limit"},
      {"header length past the end", past_end, "runs past the end of the file"},
      {"header not JSON", make_file("{\"a\": ", 0), "not valid JSON"},
      {"header an array", make_file("[1, 2]", 0), "does not start with '{'"},
      {"empty header", make_file("", 0), "does not start with '{'"},
      {"entry not an object", make_file(R"({"w": 3})", 0), "tensor 'w': the header entry is not"},
      {"unknown dtype",
       make_file(R"({"w": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}})", 8),
       "tensor 'w': dtype 'F64' is not supported"},
      {"dtype not a string",
       make_file(R"({"w": {"dtype": 4, "shape": [1], "data_offsets": [0, 4]}})", 4),
       "tensor 'w': missing or non-string \"dtype\""},
      {"missing shape", make_file(R"({"w": {"dtype": "F32", "data_offsets": [0, 4]}})", 4),
       "tensor 'w': missing or non-array \"shape\""},
      {"negative dimension",
       make_file(R"({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", 4),
       "not a non-negative integer"},
      {"shape overflows",
       make_file(
           R"({"w": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 4]}})",
           4),
       "overflows 64 bits"},
      {"three offsets",
       make_file(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4, 8]}})", 8),
       "must be an array of two integers"},
      {"fractional offset",
       make_file(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0.5, 4]}})", 4),
       "are not non-negative integers"},
      {"offsets reversed",
       make_file(R"({"w": {"dtype": "F32", "shape": [0], "data_offsets": [4, 0]}})", 4),
       "end before they begin"},
      {"offsets past the data",
       make_file(R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", 8),
       "run past the data region of 8 bytes"},
      {"bytes disagree with shape",
       make_file(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}})", 4),
       "F32 shape [2] needs 2 x 4 bytes but data_offsets [0,4] hold 4"},
      {"bf16 bytes disagree with shape",
       make_file(R"({"w": {"dtype": "BF16", "shape": [3], "data_offsets": [0, 4]}})", 4),
       "needs 3 x 2 bytes"},
      {"overlapping tensors",
       make_file(
           R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
           12),
       "tensor 'b': data_offsets [4, 12] overlap the previous tensor, which ends at 8"},
      {"gap between tensors",
       make_file(
           R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}})",
           12),
       "tensor 'b': data_offsets [8, 12] leave a gap after byte 4"},
      {"unaccounted trailing bytes",
       make_file(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})", 8),
       "the tensors cover 4 bytes but the data region holds 8"},
      {"metadata value not a string", make_file(R"({"__metadata__": {"format": 1}})", 0),
       "\"__metadata__\" value of 'format' is not a string"},
      {"unknown entry field",
       make_file(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "x": 1}})", 4),
       "tensor 'w': unknown field 'x'"},
  };
}

TEST(Safetensors, RejectsEachMalformedFileWithItsError) {
  for (const MalformedCase& c : malformed_cases()) {
    SCOPED_TRACE(c.what);
    auto file = SafetensorsFile::parse(as_bytes(c.bytes), "bad.safetensors");
    ASSERT_FALSE(file.is_ok());
    EXPECT_EQ(file.status().code(), StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(file.status().message().find(c.error), std::string::npos) << file.status().message();
    EXPECT_EQ(file.status().message().rfind("bad.safetensors: ", 0), 0u) << file.status().message();
  }
}

TEST(Safetensors, RejectsEveryTruncationOfAValidFile) {
  std::vector<float> a = {1, 2, 3, 4, 5, 6};
  std::vector<TensorData> tensors = {{"a", DType::F32, {2, 3}, f32_bytes(a)}};
  auto bytes = safetensors_serialize(tensors);
  ASSERT_TRUE(bytes.is_ok());
  for (size_t n = 0; n < bytes->size(); ++n) {
    std::string cut = bytes->substr(0, n);
    EXPECT_FALSE(SafetensorsFile::parse(as_bytes(cut), "cut").is_ok()) << n;
  }
}

TEST(Safetensors, WriterOutputReadsBack) {
  std::vector<float> a = {1.5f, -2.0f, 3.25f, 0.0f, 5.0f, 6.0f};
  std::vector<uint16_t> b = {0x3F80, 0xC040};
  std::vector<TensorData> tensors = {
      {"a", DType::F32, {2, 3}, f32_bytes(a)},
      {"b", DType::BF16, {2}, std::string_view(reinterpret_cast<const char*>(b.data()), 4)},
      {"empty", DType::F16, {0, 7}, ""},
  };
  auto bytes = safetensors_serialize(tensors, {{"format", "pt"}});
  ASSERT_TRUE(bytes.is_ok()) << bytes.status().to_string();
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes->data(), 8);
  EXPECT_EQ(header_len % 8, 0u);
  auto file = SafetensorsFile::parse(as_bytes(*bytes), "mem");
  ASSERT_TRUE(file.is_ok()) << file.status().to_string();
  EXPECT_EQ(file->metadata().at("format"), "pt");
  ASSERT_EQ(file->tensors().size(), 3u);
  const TensorView* ta = file->find("a");
  ASSERT_NE(ta, nullptr);
  EXPECT_EQ(ta->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(ta->numel(), 6);
  EXPECT_EQ(std::memcmp(ta->data, a.data(), 24), 0);
  const TensorView* tb = file->find("b");
  ASSERT_NE(tb, nullptr);
  EXPECT_EQ(tb->dtype, DType::BF16);
  EXPECT_EQ(tb->nbytes, 4u);
  EXPECT_EQ(file->find("empty")->numel(), 0);
  EXPECT_EQ(file->find("missing"), nullptr);
}

TEST(Safetensors, ReadsTheGoldenModels) {
  auto model = SafetensorsModel::open_dir(testing::golden_dir("llama3"));
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  EXPECT_EQ(model->names().size(), 2u + 1u + 3u * 9u);
  const TensorView* q = model->find("model.layers.2.self_attn.q_proj.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->dtype, DType::F32);
  EXPECT_EQ(q->shape, (std::vector<int64_t>{64, 64}));

  auto bf16 = SafetensorsModel::open_dir(testing::golden_dir("llama3-bf16"));
  ASSERT_TRUE(bf16.is_ok()) << bf16.status().to_string();
  const TensorView* k = bf16->find("model.layers.0.self_attn.k_proj.weight");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->dtype, DType::BF16);
  EXPECT_EQ(k->shape, (std::vector<int64_t>{32, 64}));
  EXPECT_EQ(k->nbytes, 32u * 64u * 2u);
}

TEST(Safetensors, MissingFileIsNotFound) {
  auto file = SafetensorsFile::open(testing::golden_dir("no-such-model") + "/model.safetensors");
  ASSERT_FALSE(file.is_ok());
  EXPECT_EQ(file.status().code(), StatusCode::NOT_FOUND);
  auto dir = SafetensorsModel::open_dir(testing::golden_dir("no-such-model"));
  ASSERT_FALSE(dir.is_ok());
  EXPECT_EQ(dir.status().code(), StatusCode::NOT_FOUND);
}

// Two shards and an index, as transformers writes a large model.
class ShardedSafetensors : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<TensorData> first = {{"a", DType::F32, {2}, f32_bytes(a_)},
                                     {"b", DType::F32, {1}, f32_bytes(b_)}};
    std::vector<TensorData> second = {{"c", DType::F32, {3}, f32_bytes(c_)}};
    ASSERT_TRUE(safetensors_write(dir_.file("model-00001-of-00002.safetensors"), first).is_ok());
    ASSERT_TRUE(safetensors_write(dir_.file("model-00002-of-00002.safetensors"), second).is_ok());
  }
  void write_index(const std::string& weight_map) {
    std::string text = R"({"metadata": {"total_size": 24}, "weight_map": )" + weight_map + "}";
    ASSERT_TRUE(write_file_atomic(dir_.file("model.safetensors.index.json"), text).is_ok());
  }

  TempDir dir_;
  std::vector<float> a_ = {1, 2};
  std::vector<float> b_ = {3};
  std::vector<float> c_ = {4, 5, 6};
};

TEST_F(ShardedSafetensors, OpensEveryShard) {
  write_index(R"({"a": "model-00001-of-00002.safetensors", "b": "model-00001-of-00002.safetensors",
                  "c": "model-00002-of-00002.safetensors"})");
  auto model = SafetensorsModel::open_dir(dir_.path());
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  EXPECT_EQ(model->shard_count(), 2u);
  EXPECT_EQ(model->names(), (std::vector<std::string>{"a", "b", "c"}));
  const TensorView* c = model->find("c");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(std::memcmp(c->data, c_.data(), 12), 0);
}

TEST_F(ShardedSafetensors, RejectsATensorPlacedInTheWrongShard) {
  write_index(R"({"a": "model-00001-of-00002.safetensors", "b": "model-00001-of-00002.safetensors",
                  "c": "model-00001-of-00002.safetensors"})");
  auto model = SafetensorsModel::open_dir(dir_.path());
  ASSERT_FALSE(model.is_ok());
  EXPECT_NE(
      model.status().message().find("places tensor 'c' in 'model-00001-of-00002.safetensors'"),
      std::string::npos)
      << model.status().message();
}

TEST_F(ShardedSafetensors, RejectsAShardHoldingUnlistedTensors) {
  write_index(
      R"({"a": "model-00001-of-00002.safetensors", "c": "model-00002-of-00002.safetensors"})");
  auto model = SafetensorsModel::open_dir(dir_.path());
  ASSERT_FALSE(model.is_ok());
  EXPECT_NE(model.status().message().find("holds 2 tensors but weight_map places 1"),
            std::string::npos)
      << model.status().message();
}

TEST_F(ShardedSafetensors, RejectsShardPathsOutsideTheFolder) {
  write_index(R"({"a": "../model-00001-of-00002.safetensors"})");
  auto model = SafetensorsModel::open_dir(dir_.path());
  ASSERT_FALSE(model.is_ok());
  EXPECT_NE(model.status().message().find("not a plain file name"), std::string::npos)
      << model.status().message();
}

TEST_F(ShardedSafetensors, RejectsAMissingShard) {
  write_index(R"({"a": "model-00003-of-00002.safetensors"})");
  auto model = SafetensorsModel::open_dir(dir_.path());
  ASSERT_FALSE(model.is_ok());
  EXPECT_EQ(model.status().code(), StatusCode::NOT_FOUND);
}

TEST_F(ShardedSafetensors, RejectsAnIndexWithoutWeightMap) {
  ASSERT_TRUE(write_file_atomic(dir_.file("model.safetensors.index.json"), "{}").is_ok());
  auto model = SafetensorsModel::open_dir(dir_.path());
  ASSERT_FALSE(model.is_ok());
  EXPECT_NE(model.status().message().find("weight_map"), std::string::npos);
}

}  // namespace
}  // namespace socle::engine
