#include "random_gguf.h"

#include <cmath>
#include <deque>
#include <utility>
#include <vector>

#include "bench_vocab.h"
#include "engine/format/gguf.h"
#include "engine/kernels/quant.h"
#include "engine/models/gguf_requantize.h"

namespace socle::engine::bench {
namespace {

constexpr char ARCH[] = "llama";
constexpr double ROPE_THETA = 10000.0;
constexpr float NORM_EPS = 1e-5f;

struct Matrix {
  std::string name;
  int64_t rows;
  int64_t cols;
};

std::vector<Matrix> matrices(const RandomGgufShape& s) {
  const int64_t head_dim = s.hidden / s.heads;
  std::vector<Matrix> m = {{"token_embd.weight", s.vocab, s.hidden}};
  for (int64_t l = 0; l < s.layers; ++l) {
    std::string b = "blk." + std::to_string(l) + ".";
    m.push_back({b + "attn_q.weight", s.heads * head_dim, s.hidden});
    m.push_back({b + "attn_k.weight", s.kv_heads * head_dim, s.hidden});
    m.push_back({b + "attn_v.weight", s.kv_heads * head_dim, s.hidden});
    m.push_back({b + "attn_output.weight", s.hidden, s.heads * head_dim});
    m.push_back({b + "ffn_gate.weight", s.ffn, s.hidden});
    m.push_back({b + "ffn_up.weight", s.ffn, s.hidden});
    m.push_back({b + "ffn_down.weight", s.hidden, s.ffn});
  }
  m.push_back({"output.weight", s.vocab, s.hidden});
  return m;
}

// splitmix64: fast, seeded, and good enough for weights nobody trains.
uint64_t next_random(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::string key(const char* suffix) {
  return std::string(ARCH) + "." + suffix;
}

}  // namespace

uint64_t random_gguf_matrix_bytes(const RandomGgufShape& shape, DType type) {
  uint64_t bytes = 0;
  for (const Matrix& m : matrices(shape))
    bytes += dtype_row_bytes(type, m.cols) * static_cast<uint64_t>(m.rows);
  return bytes;
}

uint64_t random_gguf_decode_bytes(const RandomGgufShape& shape, DType type) {
  return random_gguf_matrix_bytes(shape, type) -
         dtype_row_bytes(type, shape.hidden) * static_cast<uint64_t>(shape.vocab - 1);
}

Status random_gguf_write(const std::string& path, const RandomGgufShape& shape, DType type,
                         uint64_t seed) {
  if (shape.heads <= 0 || shape.hidden % shape.heads != 0 || shape.kv_heads <= 0 ||
      shape.heads % shape.kv_heads != 0) {
    return invalid_argument("hidden must be a multiple of heads, and heads of kv_heads");
  }
  const int64_t block = dtype_block_values(type);
  if (shape.hidden % block != 0 || shape.ffn % block != 0) {
    return invalid_argument(std::string("hidden and ffn must be multiples of ") +
                            std::to_string(block) + " for " + dtype_name(type));
  }
  SOCLE_ASSIGN_OR_RETURN(tokenizer::GgufMetadata vocab, bench_vocab_keys(shape.vocab));
  const int64_t head_dim = shape.hidden / shape.heads;
  std::vector<std::pair<std::string, GgufValue>> meta = {
      {"general.architecture", GgufValue::str(ARCH)},
      {"general.name", GgufValue::str("socle-bench-random-llama")},
      {"general.file_type", GgufValue::u32(gguf_file_type_of(type))},
      {key("vocab_size"), GgufValue::u32(static_cast<uint32_t>(shape.vocab))},
      {key("context_length"), GgufValue::u32(static_cast<uint32_t>(shape.context))},
      {key("embedding_length"), GgufValue::u32(static_cast<uint32_t>(shape.hidden))},
      {key("feed_forward_length"), GgufValue::u32(static_cast<uint32_t>(shape.ffn))},
      {key("block_count"), GgufValue::u32(static_cast<uint32_t>(shape.layers))},
      {key("attention.head_count"), GgufValue::u32(static_cast<uint32_t>(shape.heads))},
      {key("attention.head_count_kv"), GgufValue::u32(static_cast<uint32_t>(shape.kv_heads))},
      {key("attention.key_length"), GgufValue::u32(static_cast<uint32_t>(head_dim))},
      {key("attention.value_length"), GgufValue::u32(static_cast<uint32_t>(head_dim))},
      {key("attention.layer_norm_rms_epsilon"), GgufValue::f32(NORM_EPS)},
      {key("rope.freq_base"), GgufValue::f32(static_cast<float>(ROPE_THETA))},
      {key("rope.dimension_count"), GgufValue::u32(static_cast<uint32_t>(head_dim))},
  };
  meta.insert(meta.end(), vocab.begin(), vocab.end());

  std::deque<std::string> storage;  // the bytes `tensors` views; a deque never moves them
  std::vector<GgufTensorData> tensors;
  uint64_t state = seed;
  std::vector<float> row;
  for (const Matrix& m : matrices(shape)) {
    // Uniform on [-a, a] has variance a^2 / 3: a = sqrt(3 / cols) gives 1 / cols.
    const float a = std::sqrt(3.0f / static_cast<float>(m.cols));
    row.resize(static_cast<size_t>(m.cols));
    const size_t row_bytes = dtype_row_bytes(type, m.cols);
    std::string bytes(row_bytes * static_cast<size_t>(m.rows), '\0');
    for (int64_t r = 0; r < m.rows; ++r) {
      for (float& v : row) {
        // The top 24 bits as a fraction in [0, 1), mapped to [-a, a).
        float u = static_cast<float>(next_random(state) >> 40) * 0x1p-24f;
        v = a * (2.0f * u - 1.0f);
      }
      quantize_row(type, row.data(), bytes.data() + static_cast<size_t>(r) * row_bytes, m.cols);
    }
    storage.push_back(std::move(bytes));
    tensors.push_back({m.name, type, {m.cols, m.rows}, storage.back()});
  }
  // Norms: ones, in F32 as llama.cpp keeps vectors.
  std::vector<float> ones(static_cast<size_t>(shape.hidden), 1.0f);
  std::string_view ones_bytes(reinterpret_cast<const char*>(ones.data()),
                              ones.size() * sizeof(float));
  tensors.push_back({"output_norm.weight", DType::F32, {shape.hidden}, ones_bytes});
  for (int64_t l = 0; l < shape.layers; ++l) {
    std::string b = "blk." + std::to_string(l) + ".";
    tensors.push_back({b + "attn_norm.weight", DType::F32, {shape.hidden}, ones_bytes});
    tensors.push_back({b + "ffn_norm.weight", DType::F32, {shape.hidden}, ones_bytes});
  }
  return gguf_write(path, meta, tensors);
}

}  // namespace socle::engine::bench
