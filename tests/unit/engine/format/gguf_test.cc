#include "engine/format/gguf.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "engine/kernels/quant.h"
#include "unit/engine/temp_dir.h"

namespace socle::engine {
namespace {

std::span<const std::byte> as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

// Builds GGUF bytes by hand, field by field, independently of the writer, so that each
// malformed file differs from a valid one in exactly one place.
class Raw {
 public:
  template <typename T>
  Raw& put(T v) {
    char buf[sizeof(T)];
    std::memcpy(buf, &v, sizeof(T));
    bytes_.append(buf, sizeof(T));
    return *this;
  }
  Raw& str(const std::string& s) {
    put<uint64_t>(s.size());
    bytes_ += s;
    return *this;
  }
  Raw& header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    bytes_ += "GGUF";
    return put<uint32_t>(version).put<uint64_t>(n_tensors).put<uint64_t>(n_kv);
  }
  Raw& kv_u32(const std::string& key, uint32_t v) {
    return str(key).put<uint32_t>(4).put<uint32_t>(v);
  }
  Raw& tensor(const std::string& name, std::vector<int64_t> dims, uint32_t type, uint64_t offset) {
    str(name).put<uint32_t>(static_cast<uint32_t>(dims.size()));
    for (int64_t d : dims)
      put<int64_t>(d);
    return put<uint32_t>(type).put<uint64_t>(offset);
  }
  Raw& pad(size_t alignment = 32) {
    bytes_.resize((bytes_.size() + alignment - 1) / alignment * alignment, '\0');
    return *this;
  }
  Raw& zeros(size_t n) {
    bytes_.append(n, '\0');
    return *this;
  }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

TEST(Gguf, HandBuiltFileReads) {
  Raw r;
  r.header(2, 2).kv_u32("a.count", 7).str("a.name").put<uint32_t>(8).str("tiny");
  r.tensor("w", {4, 2}, 0, 0).tensor("v", {3}, 0, 32).pad().zeros(32).zeros(12).pad();
  auto f = GgufFile::parse(as_bytes(r.bytes()), "mem");
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  ASSERT_EQ(f->tensors().size(), 2u);
  EXPECT_EQ(f->find("w")->rows(), 2);
  EXPECT_EQ(f->find("w")->cols(), 4);
  EXPECT_EQ(f->find("v")->nbytes, 12u);
  EXPECT_EQ(f->value("a.count")->as_count(), 7u);
  EXPECT_EQ(f->value("a.name")->s, "tiny");
}

TEST(Gguf, WriterRoundTripsEveryTypeAndValue) {
  std::vector<std::pair<std::string, GgufValue>> meta = {
      {"general.architecture", GgufValue::str("llama")},
      {"u32", GgufValue::u32(42)},
      {"u64", GgufValue::u64(1ull << 40)},
      {"i32", GgufValue::i32(-5)},
      {"f32", GgufValue::f32(0.25f)},
      {"flag", GgufValue::boolean(true)},
      {"words", GgufValue::strings({"a", "", "ccc"})},
      {"scores", GgufValue::f32s({1.5f, -2.0f})},
      {"ids", GgufValue::i32s({3, 1, 4})},
  };
  GgufValue small;
  small.type = GgufType::INT8;
  small.i = -5;
  meta.emplace_back("i8", small);
  std::vector<std::string> storage;
  std::vector<GgufTensorData> tensors;
  for (DType t :
       {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q6_K}) {
    int64_t cols = dtype_block_values(t) == 1 ? 7 : 256;
    std::vector<float> x(static_cast<size_t>(cols * 3));
    for (size_t i = 0; i < x.size(); ++i)
      x[i] = static_cast<float>(i % 17) - 8.0f;
    std::string bytes(dtype_row_bytes(t, cols) * 3, '\0');
    for (int64_t r = 0; r < 3; ++r)
      quantize_row(t, x.data() + r * cols, bytes.data() + r * dtype_row_bytes(t, cols), cols);
    storage.push_back(std::move(bytes));
  }
  size_t k = 0;
  for (DType t :
       {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q6_K}) {
    int64_t cols = dtype_block_values(t) == 1 ? 7 : 256;
    tensors.push_back({std::string("t.") + dtype_name(t), t, {cols, 3}, storage[k++]});
  }
  auto bytes = gguf_serialize(meta, tensors);
  ASSERT_TRUE(bytes.is_ok()) << bytes.status().to_string();
  auto f = GgufFile::parse(as_bytes(*bytes), "mem");
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  EXPECT_EQ(f->value("u64")->u, 1ull << 40);
  EXPECT_EQ(f->value("i32")->i, -5);
  EXPECT_EQ(f->value("i8")->i, -5);
  EXPECT_EQ(f->value("f32")->f, 0.25);
  EXPECT_TRUE(f->value("flag")->b);
  EXPECT_EQ(f->value("words")->array[2].s, "ccc");
  EXPECT_EQ(f->value("ids")->array.size(), 3u);
  for (size_t i = 0; i < tensors.size(); ++i) {
    const GgufTensor* t = f->find(tensors[i].name);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->type, tensors[i].type);
    EXPECT_EQ(t->dims, tensors[i].dims);
    EXPECT_EQ(t->offset % 32, 0u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t->data) % 32, 0u) << "mapped data keeps alignment";
    ASSERT_EQ(std::string_view(reinterpret_cast<const char*>(t->data), t->nbytes),
              tensors[i].bytes);
  }
}

TEST(Gguf, CustomAlignmentAndFiles) {
  testing::TempDir dir;
  std::string data(12, 'x');
  GgufTensorData t{"a", DType::F32, {3}, data};
  GgufTensorData u{"b", DType::F32, {3}, data};
  std::vector<GgufTensorData> ts = {t, u};
  ASSERT_TRUE(
      gguf_write(dir.file("m.gguf"), {{"general.alignment", GgufValue::u32(64)}}, ts).is_ok());
  auto f = GgufFile::open(dir.file("m.gguf"));
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  EXPECT_EQ(f->alignment(), 64u);
  EXPECT_EQ(f->find("b")->offset, 64u);
  EXPECT_FALSE(gguf_serialize({{"k", GgufValue::u32(1)}, {"k", GgufValue::u32(2)}}, {}).is_ok());
  EXPECT_FALSE(gguf_serialize({}, std::vector<GgufTensorData>{t, t}).is_ok());
  GgufTensorData short_bytes{"c", DType::F32, {4}, data};
  EXPECT_FALSE(gguf_serialize({}, std::vector<GgufTensorData>{short_bytes}).is_ok());
}

struct Malformed {
  const char* what;
  std::string bytes;
  const char* error;  // a part of the message that says what and where
};

std::vector<Malformed> malformed_files() {
  auto valid_prefix = [] { return Raw().header(1, 0); };
  std::vector<Malformed> out;
  out.push_back({"empty", "", "at byte 0: the magic needs 4 bytes but 0 are left"});
  out.push_back({"bad magic", "GGML" + Raw().put<uint32_t>(3).bytes() + std::string(16, '\0'),
                 "does not start with \"GGUF\""});
  out.push_back(
      {"version 2", Raw().header(0, 0, 2).bytes(), "at byte 4: version 2 is not supported"});
  out.push_back({"truncated header", Raw().header(0, 0).bytes().substr(0, 20),
                 "the metadata count needs 8 bytes"});
  out.push_back({"tensor count past the bytes", Raw().header(1ull << 60, 0).bytes(),
                 "at byte 8: the tensor count 1152921504606846976 is more than"});
  out.push_back({"metadata count past the bytes", Raw().header(0, 1000).zeros(100).bytes(),
                 "at byte 16: the metadata count 1000 is more than the 100 bytes left"});
  out.push_back({"key length past the end",
                 Raw().header(0, 1).put<uint64_t>(1ull << 40).zeros(8).bytes(),
                 "at byte 24: metadata key 0 has length 1099511627776 but only 8 bytes"});
  out.push_back({"unknown value type",
                 Raw().header(0, 1).str("k").put<uint32_t>(13).zeros(8).bytes(),
                 "at byte 33: metadata 'k' has unknown value type 13"});
  out.push_back({"array longer than the file",
                 Raw()
                     .header(0, 1)
                     .str("k")
                     .put<uint32_t>(9)
                     .put<uint32_t>(4)
                     .put<uint64_t>(1000)
                     .zeros(8)
                     .bytes(),
                 "metadata 'k' claims 1000 elements, more than the 8 bytes left"});
  out.push_back(
      {"nested array",
       Raw().header(0, 1).str("k").put<uint32_t>(9).put<uint32_t>(9).put<uint64_t>(0).bytes(),
       "arrays of arrays are not supported"});
  out.push_back({"bool out of range",
                 Raw().header(0, 1).str("k").put<uint32_t>(7).put<uint8_t>(2).zeros(8).bytes(),
                 "metadata 'k' is a bool of value 2"});
  out.push_back({"duplicate key", Raw().header(0, 2).kv_u32("k", 1).kv_u32("k", 2).bytes(),
                 "at byte 41: metadata key 'k' repeats"});
  out.push_back({"alignment not a power of two",
                 Raw().header(0, 1).kv_u32("general.alignment", 48).bytes(),
                 "general.alignment must be a uint32 power of two"});
  out.push_back({"too many dimensions",
                 valid_prefix().tensor("w", {1, 1, 1, 1, 1}, 0, 0).pad().zeros(32).bytes(),
                 "at byte 33: tensor 'w' has 5 dimensions (1 to 4)"});
  out.push_back({"negative dimension",
                 valid_prefix().tensor("w", {4, -1}, 0, 0).pad().zeros(32).bytes(),
                 "tensor 'w' has a negative dimension"});
  out.push_back({"dimensions overflow",
                 valid_prefix().tensor("w", {1ll << 40, 1ll << 40}, 0, 0).pad().bytes(),
                 "tensor 'w''s dimensions overflow 64 bits"});
  out.push_back({"unsupported ggml type (Q4_1)",
                 valid_prefix().tensor("w", {32}, 3, 0).pad().zeros(32).bytes(),
                 "tensor 'w' has ggml type 3, which socle does not read"});
  out.push_back({"unknown ggml type",
                 valid_prefix().tensor("w", {32}, 999, 0).pad().zeros(32).bytes(),
                 "tensor 'w' has ggml type 999"});
  out.push_back({"K-quant row not whole blocks",
                 valid_prefix().tensor("w", {100}, 12, 0).pad().zeros(160).bytes(),
                 "tensor 'w': rows of 100 values are not whole Q4_K blocks of 256"});
  out.push_back({"tensor bigger than the file",
                 valid_prefix().tensor("w", {1ll << 40}, 0, 0).pad().bytes(),
                 "tensor 'w' needs more bytes than the file has"});
  out.push_back(
      {"duplicate tensor name",
       Raw().header(2, 0).tensor("w", {4}, 0, 0).tensor("w", {4}, 0, 32).pad().zeros(64).bytes(),
       "tensor 'w' repeats"});
  out.push_back(
      {"offset not the running sum",
       Raw().header(2, 0).tensor("a", {4}, 0, 0).tensor("b", {4}, 0, 16).pad().zeros(64).bytes(),
       "tensor 'b' has offset 16 but the tensors before it end at 32 (padded to 32)"});
  out.push_back({"first offset not zero",
                 valid_prefix().tensor("w", {4}, 0, 32).pad().zeros(64).bytes(),
                 "tensor 'w' has offset 32 but the tensors before it end at 0"});
  out.push_back(
      {"data truncated", valid_prefix().tensor("w", {8}, 0, 0).pad().zeros(31).bytes(),
       "at byte 64: the data section has 31 bytes but the tensors take 32 (each padded to 32)"});
  out.push_back({"data section past the end", valid_prefix().tensor("w", {0}, 0, 0).bytes(),
                 "the data section would start at byte 64, past the end of the file (57 bytes)"});
  return out;
}

TEST(Gguf, MalformedFilesAreRejectedWithWhatAndWhere) {
  for (const Malformed& m : malformed_files()) {
    auto f = GgufFile::parse(as_bytes(m.bytes), "bad.gguf");
    ASSERT_FALSE(f.is_ok()) << m.what;
    EXPECT_EQ(f.status().code(), StatusCode::INVALID_ARGUMENT) << m.what;
    EXPECT_NE(f.status().message().find(m.error), std::string::npos)
        << m.what << ": " << f.status().message();
    EXPECT_EQ(f.status().message().rfind("bad.gguf: ", 0), 0u) << m.what;
  }
}

// Every prefix of a valid file is rejected cleanly, never read past.
TEST(Gguf, EveryTruncationIsRejected) {
  std::string data(48, 'x');
  std::vector<GgufTensorData> ts = {{"a", DType::F32, {3, 4}, data}};
  auto bytes = gguf_serialize(
      {{"general.architecture", GgufValue::str("llama")}, {"v", GgufValue::f32s({1, 2, 3})}}, ts);
  ASSERT_TRUE(bytes.is_ok());
  for (size_t n = 0; n < bytes->size(); ++n) {
    std::string cut = bytes->substr(0, n);
    ASSERT_FALSE(GgufFile::parse(as_bytes(cut), "cut").is_ok()) << n;
  }
  EXPECT_TRUE(GgufFile::parse(as_bytes(*bytes), "whole").is_ok());
}

}  // namespace
}  // namespace socle::engine
