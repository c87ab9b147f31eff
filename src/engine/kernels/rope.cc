#include "engine/kernels/rope.h"

#include <cmath>
#include <numbers>
#include <vector>

namespace socle::engine {

void rope_inv_freq(float* inv_freq, int64_t head_dim, double theta) {
  for (int64_t i = 0; i < head_dim / 2; ++i) {
    double exponent = static_cast<double>(2 * i) / static_cast<double>(head_dim);
    inv_freq[i] = static_cast<float>(1.0 / std::pow(theta, exponent));
  }
}

void rope_scale_linear(float* inv_freq, int64_t n, double factor) {
  for (int64_t i = 0; i < n; ++i)
    inv_freq[i] = static_cast<float>(inv_freq[i] / factor);
}

void rope_scale_llama3(float* inv_freq, int64_t n, double factor, double low_freq_factor,
                       double high_freq_factor, double original_max_positions) {
  // The same piecewise rule as transformers' _compute_llama3_parameters.
  double low_freq_wavelen = original_max_positions / low_freq_factor;
  double high_freq_wavelen = original_max_positions / high_freq_factor;
  for (int64_t i = 0; i < n; ++i) {
    double freq = inv_freq[i];
    double wavelen = 2.0 * std::numbers::pi / freq;
    if (wavelen < high_freq_wavelen) continue;
    if (wavelen > low_freq_wavelen) {
      inv_freq[i] = static_cast<float>(freq / factor);
      continue;
    }
    double smooth =
        (original_max_positions / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor);
    inv_freq[i] = static_cast<float>((1.0 - smooth) * freq / factor + smooth * freq);
  }
}

void rope_cos_sin(float* cos, float* sin, int64_t n, int64_t pos, const float* inv_freq) {
  for (int64_t i = 0; i < n; ++i) {
    float angle = static_cast<float>(pos) * inv_freq[i];
    cos[i] = static_cast<float>(std::cos(static_cast<double>(angle)));
    sin[i] = static_cast<float>(std::sin(static_cast<double>(angle)));
  }
}

void rope_apply_ref(float* x, int64_t n_heads, int64_t head_dim, int64_t pos, const float* inv_freq,
                    RopePairing pairing) {
  int64_t half = head_dim / 2;
  std::vector<float> cos(static_cast<size_t>(half));
  std::vector<float> sin(static_cast<size_t>(half));
  rope_cos_sin(cos.data(), sin.data(), half, pos, inv_freq);
  for (int64_t i = 0; i < half; ++i) {
    float c = cos[static_cast<size_t>(i)];
    float s = sin[static_cast<size_t>(i)];
    int64_t a = pairing == RopePairing::HALF ? i : 2 * i;
    int64_t b = pairing == RopePairing::HALF ? i + half : 2 * i + 1;
    for (int64_t h = 0; h < n_heads; ++h) {
      float* xh = x + h * head_dim;
      float x0 = xh[a];
      float x1 = xh[b];
      xh[a] = x0 * c - x1 * s;
      xh[b] = x1 * c + x0 * s;
    }
  }
}

void rope_apply(float* x, int64_t n_heads, int64_t head_dim, int64_t pos, const float* inv_freq,
                RopePairing pairing, KernelPath path) {
  switch (path) {
    case KernelPath::SCALAR:
      rope_apply_ref(x, n_heads, head_dim, pos, inv_freq, pairing);
      return;
    case KernelPath::AVX2:
      rope_apply_avx2(x, n_heads, head_dim, pos, inv_freq, pairing);
      return;
    case KernelPath::AVX512:
      rope_apply_avx512(x, n_heads, head_dim, pos, inv_freq, pairing);
      return;
  }
}

void rope_apply(float* x, int64_t n_heads, int64_t head_dim, int64_t pos, const float* inv_freq,
                RopePairing pairing) {
  rope_apply(x, n_heads, head_dim, pos, inv_freq, pairing, kernel_path_active());
}

}  // namespace socle::engine
