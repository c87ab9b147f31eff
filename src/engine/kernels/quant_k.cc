// The K-quants (Q4_K, Q6_K): ggml's reference quantisers and dequantisers, reimplemented from
// the format. Each super-block of 256 values picks a scale (and for Q4_K a min) per
// sub-block by a small weighted least-squares search, quantises those scales against the
// super-block's largest, then re-rounds every value against the scales actually stored.
#include <algorithm>
#include <cmath>

#include "base/check.h"
#include "engine/kernels/quant.h"

namespace socle::engine {
namespace {

constexpr int64_t Q4_K_SUB = 32;  // values per Q4_K sub-block
constexpr int64_t Q4_K_SUBS = QK_K / Q4_K_SUB;
constexpr int Q4_K_MAX_CODE = 15;
constexpr int K_SCALE_MAX = 63;  // 6-bit scales and mins
// The search over candidate scales around (max - min) / 15: ggml's rmin, rdelta, nstep.
constexpr float Q4_K_SEARCH_START = -1.0f;
constexpr float Q4_K_SEARCH_STEP = 0.1f;
constexpr int Q4_K_SEARCH_STEPS = 20;

constexpr int64_t Q6_K_SUB = 16;  // values per Q6_K sub-block
constexpr int64_t Q6_K_SUBS = QK_K / Q6_K_SUB;
constexpr int Q6_K_HALF_RANGE = 32;          // codes -32..31, stored +32
constexpr float Q6_K_SCALE_RANGE = -128.0f;  // the largest scale becomes -128 (int8 min)
constexpr int Q6_K_SCALE_MAX = 127;
// ggml's make_qx_quants tries scales nmax + 0.1 * k for k = -9..9 around nmax / max.
constexpr int Q6_K_SEARCH_STEPS = 9;
constexpr float Q6_K_SEARCH_STEP = 0.1f;
constexpr float GROUP_MAX_EPS = 1e-15f;  // below this the sub-block is zero

// Round to nearest, ties to even (ggml's nearest_int, which uses the same float trick).
int nearest_int(float v) {
  return static_cast<int>(std::lrint(v));
}

// Best affine fit x ~ scale * code + min (min <= 0, code in [0, nmax]) under weights w, searching
// scales around the range's; returns scale, writes -min to *neg_min and the codes to `codes`.
float fit_scale_min(int64_t n, int nmax, const float* x, const float* w, uint8_t* codes,
                    float* neg_min) {
  float min = x[0];
  float max = x[0];
  float sum_w = w[0];
  float sum_x = sum_w * x[0];
  for (int64_t i = 1; i < n; ++i) {
    min = std::min(min, x[i]);
    max = std::max(max, x[i]);
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  min = std::min(min, 0.0f);
  if (max == min) {
    std::fill(codes, codes + n, 0);
    *neg_min = -min;
    return 0.0f;
  }
  float iscale = static_cast<float>(nmax) / (max - min);
  float scale = 1.0f / iscale;
  float best_err = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    int l = std::clamp(nearest_int(iscale * (x[i] - min)), 0, nmax);
    codes[i] = static_cast<uint8_t>(l);
    float diff = scale * static_cast<float>(l) + min - x[i];
    best_err += w[i] * diff * diff;
  }
  uint8_t aux[Q4_K_SUB];
  for (int step = 0; step <= Q4_K_SEARCH_STEPS; ++step) {
    iscale = (Q4_K_SEARCH_START + Q4_K_SEARCH_STEP * static_cast<float>(step) +
              static_cast<float>(nmax)) /
             (max - min);
    float sum_l = 0.0f;
    float sum_l2 = 0.0f;
    float sum_xl = 0.0f;
    for (int64_t i = 0; i < n; ++i) {
      int l = std::clamp(nearest_int(iscale * (x[i] - min)), 0, nmax);
      aux[i] = static_cast<uint8_t>(l);
      auto fl = static_cast<float>(l);
      sum_l += w[i] * fl;
      sum_l2 += w[i] * fl * fl;
      sum_xl += w[i] * fl * x[i];
    }
    // Weighted least squares for scale and min given these codes.
    float det = sum_w * sum_l2 - sum_l * sum_l;
    if (det <= 0.0f) continue;
    float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
    float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
    if (this_min > 0.0f) {
      this_min = 0.0f;
      this_scale = sum_xl / sum_l2;
    }
    float err = 0.0f;
    for (int64_t i = 0; i < n; ++i) {
      float diff = this_scale * static_cast<float>(aux[i]) + this_min - x[i];
      err += w[i] * diff * diff;
    }
    if (err < best_err) {
      std::copy(aux, aux + n, codes);
      best_err = err;
      scale = this_scale;
      min = this_min;
    }
  }
  *neg_min = -min;
  return scale;
}

// Best symmetric fit x ~ scale * (code - nmax), weighted by x^2 (ggml's make_qx_quants with
// rmse_type 1); returns the signed scale and writes codes in [0, 2 nmax) to `codes`.
float fit_scale_symmetric(int64_t n, int nmax, const float* x, uint8_t* codes) {
  float max = 0.0f;
  float amax = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  if (amax < GROUP_MAX_EPS) {
    std::fill(codes, codes + n, 0);
    return 0.0f;
  }
  auto code = [&](float iscale, int64_t i) {
    return std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
  };
  auto fit = [&](float iscale, float* sumlx, float* suml2) {
    *sumlx = 0.0f;
    *suml2 = 0.0f;
    for (int64_t i = 0; i < n; ++i) {
      auto l = static_cast<float>(code(iscale, i));
      float w = x[i] * x[i];
      *sumlx += w * x[i] * l;
      *suml2 += w * l * l;
    }
  };
  float iscale = -static_cast<float>(nmax) / max;
  float sumlx = 0.0f;
  float suml2 = 0.0f;
  fit(iscale, &sumlx, &suml2);
  float best_iscale = iscale;
  float scale = sumlx / suml2;
  float best = scale * sumlx;
  for (int step = -Q6_K_SEARCH_STEPS; step <= Q6_K_SEARCH_STEPS; ++step) {
    if (step == 0) continue;
    iscale = -(static_cast<float>(nmax) + Q6_K_SEARCH_STEP * static_cast<float>(step)) / max;
    fit(iscale, &sumlx, &suml2);
    if (suml2 > 0.0f && sumlx * sumlx > best * suml2) {
      best_iscale = iscale;
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  for (int64_t i = 0; i < n; ++i)
    codes[i] = static_cast<uint8_t>(code(best_iscale, i) + nmax);
  return scale;
}

}  // namespace

void q4_k_scale_min(int j, const uint8_t* q, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

void quantize_row_q4_k_ref(const float* x, BlockQ4K* y, int64_t n) {
  SOCLE_CHECK(n % QK_K == 0, "Q4_K rows hold whole super-blocks");
  uint8_t codes[QK_K];
  float weights[Q4_K_SUB];
  float scales[Q4_K_SUBS];
  float mins[Q4_K_SUBS];
  for (int64_t b = 0; b < n / QK_K; ++b, x += QK_K) {
    BlockQ4K& blk = y[b];
    float max_scale = 0.0f;
    float max_min = 0.0f;
    for (int64_t j = 0; j < Q4_K_SUBS; ++j) {
      const float* xs = x + Q4_K_SUB * j;
      float sum_x2 = 0.0f;
      for (int64_t l = 0; l < Q4_K_SUB; ++l)
        sum_x2 += xs[l] * xs[l];
      // Weights favour large values, floored by the sub-block's RMS so small ones still count.
      float av_x = std::sqrt(sum_x2 / static_cast<float>(Q4_K_SUB));
      for (int64_t l = 0; l < Q4_K_SUB; ++l)
        weights[l] = av_x + std::fabs(xs[l]);
      scales[j] =
          fit_scale_min(Q4_K_SUB, Q4_K_MAX_CODE, xs, weights, codes + Q4_K_SUB * j, &mins[j]);
      max_scale = std::max(max_scale, scales[j]);
      max_min = std::max(max_min, mins[j]);
    }
    float inv_scale = max_scale > 0.0f ? static_cast<float>(K_SCALE_MAX) / max_scale : 0.0f;
    float inv_min = max_min > 0.0f ? static_cast<float>(K_SCALE_MAX) / max_min : 0.0f;
    std::fill(blk.scales, blk.scales + K_SCALE_BYTES, 0);
    for (int j = 0; j < Q4_K_SUBS; ++j) {
      auto ls = static_cast<uint8_t>(std::min(K_SCALE_MAX, nearest_int(inv_scale * scales[j])));
      auto lm = static_cast<uint8_t>(std::min(K_SCALE_MAX, nearest_int(inv_min * mins[j])));
      if (j < 4) {
        blk.scales[j] = ls;
        blk.scales[j + 4] = lm;
      } else {
        blk.scales[j + 4] = static_cast<uint8_t>((ls & 0xF) | ((lm & 0xF) << 4));
        blk.scales[j - 4] |= static_cast<uint8_t>((ls >> 4) << 6);
        blk.scales[j] |= static_cast<uint8_t>((lm >> 4) << 6);
      }
    }
    blk.d = f32_to_f16(max_scale / static_cast<float>(K_SCALE_MAX));
    blk.dmin = f32_to_f16(max_min / static_cast<float>(K_SCALE_MAX));
    // Re-round every value against the scale and min as stored (6-bit, f16), not as fitted.
    for (int j = 0; j < Q4_K_SUBS; ++j) {
      uint8_t sc = 0;
      uint8_t m = 0;
      q4_k_scale_min(j, blk.scales, &sc, &m);
      float d = f16_to_f32(blk.d) * static_cast<float>(sc);
      if (d == 0.0f) continue;
      float dm = f16_to_f32(blk.dmin) * static_cast<float>(m);
      for (int64_t l = 0; l < Q4_K_SUB; ++l) {
        int q = nearest_int((x[Q4_K_SUB * j + l] + dm) / d);
        codes[Q4_K_SUB * j + l] = static_cast<uint8_t>(std::clamp(q, 0, Q4_K_MAX_CODE));
      }
    }
    for (int64_t j = 0; j < QK_K; j += 2 * Q4_K_SUB) {
      for (int64_t l = 0; l < Q4_K_SUB; ++l)
        blk.qs[j / 2 + l] = static_cast<uint8_t>(codes[j + l] | (codes[j + l + Q4_K_SUB] << 4));
    }
  }
}

void dequantize_row_q4_k_ref(const BlockQ4K* x, float* y, int64_t n) {
  SOCLE_CHECK(n % QK_K == 0, "Q4_K rows hold whole super-blocks");
  for (int64_t b = 0; b < n / QK_K; ++b) {
    float d = f16_to_f32(x[b].d);
    float dmin = f16_to_f32(x[b].dmin);
    const uint8_t* q = x[b].qs;
    for (int j = 0; j < Q4_K_SUBS; j += 2, q += Q4_K_SUB) {
      uint8_t sc = 0;
      uint8_t m = 0;
      q4_k_scale_min(j, x[b].scales, &sc, &m);
      float d1 = d * static_cast<float>(sc);
      float m1 = dmin * static_cast<float>(m);
      q4_k_scale_min(j + 1, x[b].scales, &sc, &m);
      float d2 = d * static_cast<float>(sc);
      float m2 = dmin * static_cast<float>(m);
      for (int64_t l = 0; l < Q4_K_SUB; ++l)
        *y++ = d1 * static_cast<float>(q[l] & 0xF) - m1;
      for (int64_t l = 0; l < Q4_K_SUB; ++l)
        *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
    }
  }
}

void quantize_row_q6_k_ref(const float* x, BlockQ6K* y, int64_t n) {
  SOCLE_CHECK(n % QK_K == 0, "Q6_K rows hold whole super-blocks");
  uint8_t codes[QK_K];
  float scales[Q6_K_SUBS];
  for (int64_t b = 0; b < n / QK_K; ++b, x += QK_K) {
    BlockQ6K& blk = y[b];
    float max_scale = 0.0f;
    float max_abs_scale = 0.0f;
    for (int64_t j = 0; j < Q6_K_SUBS; ++j) {
      scales[j] =
          fit_scale_symmetric(Q6_K_SUB, Q6_K_HALF_RANGE, x + Q6_K_SUB * j, codes + Q6_K_SUB * j);
      if (std::fabs(scales[j]) > max_abs_scale) {
        max_abs_scale = std::fabs(scales[j]);
        max_scale = scales[j];
      }
    }
    if (max_abs_scale < GROUP_MAX_EPS) {
      blk = BlockQ6K{};
      blk.d = f32_to_f16(0.0f);
      continue;
    }
    float iscale = Q6_K_SCALE_RANGE / max_scale;
    blk.d = f32_to_f16(1.0f / iscale);
    for (int64_t j = 0; j < Q6_K_SUBS; ++j)
      blk.scales[j] =
          static_cast<int8_t>(std::min(Q6_K_SCALE_MAX, nearest_int(iscale * scales[j])));
    for (int64_t j = 0; j < Q6_K_SUBS; ++j) {
      float d = f16_to_f32(blk.d) * static_cast<float>(blk.scales[j]);
      if (d == 0.0f) continue;
      for (int64_t l = 0; l < Q6_K_SUB; ++l) {
        int q =
            std::clamp(nearest_int(x[Q6_K_SUB * j + l] / d), -Q6_K_HALF_RANGE, Q6_K_HALF_RANGE - 1);
        codes[Q6_K_SUB * j + l] = static_cast<uint8_t>(q + Q6_K_HALF_RANGE);
      }
    }
    // Each 128-value half: value l, l+32, l+64, l+96 share ql[l], ql[l+32] (nibbles) and
    // qh[l] (four 2-bit high parts).
    uint8_t* ql = blk.ql;
    uint8_t* qh = blk.qh;
    for (int64_t j = 0; j < QK_K; j += 128, ql += 64, qh += 32) {
      for (int64_t l = 0; l < 32; ++l) {
        const uint8_t* c = codes + j + l;
        ql[l] = static_cast<uint8_t>((c[0] & 0xF) | ((c[64] & 0xF) << 4));
        ql[l + 32] = static_cast<uint8_t>((c[32] & 0xF) | ((c[96] & 0xF) << 4));
        qh[l] = static_cast<uint8_t>((c[0] >> 4) | ((c[32] >> 4) << 2) | ((c[64] >> 4) << 4) |
                                     ((c[96] >> 4) << 6));
      }
    }
  }
}

void dequantize_row_q6_k_ref(const BlockQ6K* x, float* y, int64_t n) {
  SOCLE_CHECK(n % QK_K == 0, "Q6_K rows hold whole super-blocks");
  for (int64_t b = 0; b < n / QK_K; ++b) {
    float d = f16_to_f32(x[b].d);
    const uint8_t* ql = x[b].ql;
    const uint8_t* qh = x[b].qh;
    const int8_t* sc = x[b].scales;
    for (int64_t half = 0; half < 2; ++half, y += 128, ql += 64, qh += 32, sc += 8) {
      for (int64_t l = 0; l < 32; ++l) {
        int64_t is = l / 16;
        int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - Q6_K_HALF_RANGE;
        int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - Q6_K_HALF_RANGE;
        int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - Q6_K_HALF_RANGE;
        int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - Q6_K_HALF_RANGE;
        y[l] = d * static_cast<float>(sc[is]) * static_cast<float>(q1);
        y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
        y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
        y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
      }
    }
  }
}

}  // namespace socle::engine
