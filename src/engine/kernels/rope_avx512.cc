// AVX-512 twin of rope_apply_ref: the cosines and sines come from rope_cos_sin (shared with the
// reference), the rotations run in sixteen lanes. The function carries its own target
// attribute, so the rest of the binary stays baseline x86-64.
#include <immintrin.h>

#include <vector>

#include "engine/kernels/rope.h"

#define SOCLE_AVX512 __attribute__((target("avx512f,avx2,fma")))

namespace socle::engine {
namespace {

constexpr int64_t LANES = 16;  // float32 values per __m512
// Swaps the two values of each adjacent pair: lanes (1, 0, 3, 2).
constexpr int SWAP_PAIRS = 0xB1;

}  // namespace

SOCLE_AVX512 void rope_apply_avx512(float* x, int64_t n_heads, int64_t head_dim, int64_t pos,
                                    const float* inv_freq, RopePairing pairing) {
  int64_t half = head_dim / 2;
  std::vector<float> cos(static_cast<size_t>(half));
  std::vector<float> sin(static_cast<size_t>(half));
  rope_cos_sin(cos.data(), sin.data(), half, pos, inv_freq);
  if (pairing == RopePairing::HALF) {
    for (int64_t h = 0; h < n_heads; ++h) {
      float* x0 = x + h * head_dim;
      float* x1 = x0 + half;
      int64_t i = 0;
      for (; i + LANES <= half; i += LANES) {
        __m512 a = _mm512_loadu_ps(x0 + i);
        __m512 b = _mm512_loadu_ps(x1 + i);
        __m512 c = _mm512_loadu_ps(cos.data() + i);
        __m512 s = _mm512_loadu_ps(sin.data() + i);
        _mm512_storeu_ps(x0 + i, _mm512_sub_ps(_mm512_mul_ps(a, c), _mm512_mul_ps(b, s)));
        _mm512_storeu_ps(x1 + i, _mm512_add_ps(_mm512_mul_ps(b, c), _mm512_mul_ps(a, s)));
      }
      for (; i < half; ++i) {
        float a = x0[i];
        float b = x1[i];
        x0[i] = a * cos[static_cast<size_t>(i)] - b * sin[static_cast<size_t>(i)];
        x1[i] = b * cos[static_cast<size_t>(i)] + a * sin[static_cast<size_t>(i)];
      }
    }
    return;
  }
  // Interleaved pairs: with c = (c0, c0, c1, c1, ...) and s = (-s0, s0, -s1, s1, ...), the
  // rotation is x * c + swap_pairs(x) * s.
  std::vector<float> c2(static_cast<size_t>(head_dim));
  std::vector<float> s2(static_cast<size_t>(head_dim));
  for (int64_t i = 0; i < half; ++i) {
    c2[static_cast<size_t>(2 * i)] = c2[static_cast<size_t>(2 * i + 1)] =
        cos[static_cast<size_t>(i)];
    s2[static_cast<size_t>(2 * i)] = -sin[static_cast<size_t>(i)];
    s2[static_cast<size_t>(2 * i + 1)] = sin[static_cast<size_t>(i)];
  }
  for (int64_t h = 0; h < n_heads; ++h) {
    float* xh = x + h * head_dim;
    int64_t d = 0;
    for (; d + LANES <= head_dim; d += LANES) {
      __m512 v = _mm512_loadu_ps(xh + d);
      __m512 swapped = _mm512_permute_ps(v, SWAP_PAIRS);
      __m512 rotated = _mm512_add_ps(_mm512_mul_ps(v, _mm512_loadu_ps(c2.data() + d)),
                                     _mm512_mul_ps(swapped, _mm512_loadu_ps(s2.data() + d)));
      _mm512_storeu_ps(xh + d, rotated);
    }
    for (; d + 1 < head_dim; d += 2) {
      float a = xh[d];
      float b = xh[d + 1];
      float c = c2[static_cast<size_t>(d)];
      float s = s2[static_cast<size_t>(d + 1)];
      xh[d] = a * c - b * s;
      xh[d + 1] = b * c + a * s;
    }
  }
}

}  // namespace socle::engine
