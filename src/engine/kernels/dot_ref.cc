// The scalar references of the dot kernels: the most naive loops, one value at a time, that
// the AVX2 versions are tested against.
#include "base/check.h"
#include "engine/kernels/dot.h"
#include "engine/kernels/quant.h"

namespace socle::engine {
namespace {

constexpr int64_t Q4_K_SUB = 32;  // values per Q4_K sub-block, one activation block
constexpr int Q6_K_OFFSET = 32;   // Q6_K stores code + 32

// The 4-bit codes of a Q4_K super-block in value order, and its sub-block scales and mins.
void unpack_q4_k(const BlockQ4K& b, uint8_t* codes, uint8_t* sc, uint8_t* m) {
  for (int64_t p = 0; p < QK_K / (2 * Q4_K_SUB); ++p) {
    for (int64_t l = 0; l < Q4_K_SUB; ++l) {
      codes[2 * p * Q4_K_SUB + l] = b.qs[p * Q4_K_SUB + l] & 0xF;
      codes[(2 * p + 1) * Q4_K_SUB + l] = b.qs[p * Q4_K_SUB + l] >> 4;
    }
  }
  for (int j = 0; j < QK_K / Q4_K_SUB; ++j)
    q4_k_scale_min(j, b.scales, &sc[j], &m[j]);
}

// The signed 6-bit codes (-32..31) of a Q6_K super-block in value order.
void unpack_q6_k(const BlockQ6K& b, int8_t* codes) {
  for (int64_t h = 0; h < 2; ++h) {
    const uint8_t* ql = b.ql + 64 * h;
    const uint8_t* qh = b.qh + 32 * h;
    int8_t* c = codes + 128 * h;
    for (int64_t l = 0; l < 32; ++l) {
      c[l] = static_cast<int8_t>(((ql[l] & 0xF) | ((qh[l] & 3) << 4)) - Q6_K_OFFSET);
      c[l + 32] =
          static_cast<int8_t>(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - Q6_K_OFFSET);
      c[l + 64] = static_cast<int8_t>(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - Q6_K_OFFSET);
      c[l + 96] =
          static_cast<int8_t>(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - Q6_K_OFFSET);
    }
  }
}

int block_dot(const int8_t* a, const int8_t* b, int64_t n) {
  int sum = 0;
  for (int64_t i = 0; i < n; ++i)
    sum += a[i] * b[i];
  return sum;
}

}  // namespace

float dot_f32_ref(const void* w, const float* x, int64_t cols) {
  const auto* p = static_cast<const float*>(w);
  float sum = 0.0f;
  for (int64_t c = 0; c < cols; ++c)
    sum += x[c] * p[c];
  return sum;
}

float dot_f16_ref(const void* w, const float* x, int64_t cols) {
  const auto* p = static_cast<const uint16_t*>(w);
  float sum = 0.0f;
  for (int64_t c = 0; c < cols; ++c)
    sum += x[c] * f16_to_f32(p[c]);
  return sum;
}

float dot_bf16_ref(const void* w, const float* x, int64_t cols) {
  const auto* p = static_cast<const uint16_t*>(w);
  float sum = 0.0f;
  for (int64_t c = 0; c < cols; ++c)
    sum += x[c] * bf16_to_f32(p[c]);
  return sum;
}

float dot_q8_0_ref(const void* w, const BlockQ8Act* x, int64_t cols) {
  const auto* b = static_cast<const BlockQ8_0*>(w);
  float sum = 0.0f;
  for (int64_t i = 0; i < cols / QK8_0; ++i) {
    int isum = block_dot(b[i].qs, x[i].qs, QK8_0);
    sum += f16_to_f32(b[i].d) * x[i].d * static_cast<float>(isum);
  }
  return sum;
}

float dot_q4_0_ref(const void* w, const BlockQ8Act* x, int64_t cols) {
  const auto* b = static_cast<const BlockQ4_0*>(w);
  constexpr int64_t HALF = QK4_0 / 2;
  constexpr int Q4_0_OFFSET = 8;
  float sum = 0.0f;
  for (int64_t i = 0; i < cols / QK4_0; ++i) {
    int isum = 0;
    for (int64_t l = 0; l < HALF; ++l) {
      isum += ((b[i].qs[l] & 0xF) - Q4_0_OFFSET) * x[i].qs[l];
      isum += ((b[i].qs[l] >> 4) - Q4_0_OFFSET) * x[i].qs[l + HALF];
    }
    sum += f16_to_f32(b[i].d) * x[i].d * static_cast<float>(isum);
  }
  return sum;
}

float dot_q4_k_ref(const void* w, const BlockQ8Act* x, int64_t cols) {
  const auto* b = static_cast<const BlockQ4K*>(w);
  constexpr int64_t SUBS = QK_K / Q4_K_SUB;
  float sum = 0.0f;
  uint8_t codes[QK_K];
  uint8_t sc[SUBS];
  uint8_t m[SUBS];
  for (int64_t i = 0; i < cols / QK_K; ++i) {
    unpack_q4_k(b[i], codes, sc, m);
    float d = f16_to_f32(b[i].d);
    float dmin = f16_to_f32(b[i].dmin);
    for (int64_t j = 0; j < SUBS; ++j) {
      const BlockQ8Act& a = x[i * SUBS + j];
      int isum = 0;
      for (int64_t l = 0; l < Q4_K_SUB; ++l)
        isum += codes[j * Q4_K_SUB + l] * a.qs[l];
      // value = d sc q - dmin m: the min multiplies the sum of the activation codes.
      int asum = a.sums[0] + a.sums[1];
      sum += a.d * (d * static_cast<float>(sc[j]) * static_cast<float>(isum) -
                    dmin * static_cast<float>(m[j]) * static_cast<float>(asum));
    }
  }
  return sum;
}

float dot_q6_k_ref(const void* w, const BlockQ8Act* x, int64_t cols) {
  const auto* b = static_cast<const BlockQ6K*>(w);
  constexpr int64_t ACT_PER_SUPER = QK_K / Q8_ACT_BLOCK;
  constexpr int64_t SUB = 16;  // values per Q6_K scale: two per activation block
  float sum = 0.0f;
  int8_t codes[QK_K];
  for (int64_t i = 0; i < cols / QK_K; ++i) {
    unpack_q6_k(b[i], codes);
    float d = f16_to_f32(b[i].d);
    for (int64_t j = 0; j < ACT_PER_SUPER; ++j) {
      const BlockQ8Act& a = x[i * ACT_PER_SUPER + j];
      int lo = block_dot(codes + j * Q8_ACT_BLOCK, a.qs, SUB);
      int hi = block_dot(codes + j * Q8_ACT_BLOCK + SUB, a.qs + SUB, SUB);
      int isum = b[i].scales[2 * j] * lo + b[i].scales[2 * j + 1] * hi;
      sum += a.d * d * static_cast<float>(isum);
    }
  }
  return sum;
}

}  // namespace socle::engine
