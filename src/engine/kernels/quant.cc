#include "engine/kernels/quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/check.h"

namespace socle::engine {
namespace {

constexpr float Q8_0_MAX = 127.0f;   // largest int8 magnitude used, so -127..127 is symmetric
constexpr float Q4_0_LEVELS = 8.0f;  // the value of largest magnitude maps to -8
constexpr float Q4_0_OFFSET = 8.5f;  // +8 to make it unsigned, +0.5 so truncation rounds
constexpr int Q4_0_MAX_CODE = 15;

}  // namespace

void quantize_row_q8_0_ref(const float* x, BlockQ8_0* y, int64_t n) {
  SOCLE_CHECK(n % QK8_0 == 0, "Q8_0 rows hold whole blocks");
  for (int64_t b = 0; b < n / QK8_0; ++b, x += QK8_0) {
    float amax = 0.0f;
    for (int64_t i = 0; i < QK8_0; ++i)
      amax = std::fmax(amax, std::fabs(x[i]));
    float d = amax / Q8_0_MAX;
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    // ggml computes the codes from the float32 scale and then stores it as f16: the codes
    // are those of the unrounded scale.
    y[b].d = f32_to_f16(d);
    for (int64_t i = 0; i < QK8_0; ++i)
      y[b].qs[i] = static_cast<int8_t>(std::round(x[i] * id));
  }
}

void dequantize_row_q8_0_ref(const BlockQ8_0* x, float* y, int64_t n) {
  SOCLE_CHECK(n % QK8_0 == 0, "Q8_0 rows hold whole blocks");
  for (int64_t b = 0; b < n / QK8_0; ++b) {
    float d = f16_to_f32(x[b].d);
    for (int64_t i = 0; i < QK8_0; ++i)
      *y++ = d * static_cast<float>(x[b].qs[i]);
  }
}

void quantize_row_q4_0_ref(const float* x, BlockQ4_0* y, int64_t n) {
  SOCLE_CHECK(n % QK4_0 == 0, "Q4_0 rows hold whole blocks");
  constexpr int64_t HALF = QK4_0 / 2;
  for (int64_t b = 0; b < n / QK4_0; ++b, x += QK4_0) {
    // The value of largest magnitude, with its sign, becomes exactly -8: the asymmetric
    // range [-8, 7] loses nothing at that end.
    float amax = 0.0f;
    float max = 0.0f;
    for (int64_t i = 0; i < QK4_0; ++i) {
      if (std::fabs(x[i]) > amax) {
        amax = std::fabs(x[i]);
        max = x[i];
      }
    }
    float d = max / -Q4_0_LEVELS;
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = f32_to_f16(d);
    for (int64_t i = 0; i < HALF; ++i) {
      int lo = std::min(Q4_0_MAX_CODE, static_cast<int>(x[i] * id + Q4_0_OFFSET));
      int hi = std::min(Q4_0_MAX_CODE, static_cast<int>(x[i + HALF] * id + Q4_0_OFFSET));
      y[b].qs[i] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}

void dequantize_row_q4_0_ref(const BlockQ4_0* x, float* y, int64_t n) {
  SOCLE_CHECK(n % QK4_0 == 0, "Q4_0 rows hold whole blocks");
  constexpr int64_t HALF = QK4_0 / 2;
  for (int64_t b = 0; b < n / QK4_0; ++b, y += QK4_0) {
    float d = f16_to_f32(x[b].d);
    for (int64_t i = 0; i < HALF; ++i) {
      y[i] = d * static_cast<float>((x[b].qs[i] & 0xF) - 8);
      y[i + HALF] = d * static_cast<float>((x[b].qs[i] >> 4) - 8);
    }
  }
}

void quantize_row(DType type, const float* x, void* out, int64_t n) {
  switch (type) {
    case DType::F32:
      std::memcpy(out, x, static_cast<size_t>(n) * sizeof(float));
      return;
    case DType::F16: {
      auto* o = static_cast<uint16_t*>(out);
      for (int64_t i = 0; i < n; ++i)
        o[i] = f32_to_f16(x[i]);
      return;
    }
    case DType::BF16: {
      auto* o = static_cast<uint16_t*>(out);
      for (int64_t i = 0; i < n; ++i)
        o[i] = f32_to_bf16(x[i]);
      return;
    }
    case DType::Q8_0:
      return quantize_row_q8_0_ref(x, static_cast<BlockQ8_0*>(out), n);
    case DType::Q4_0:
      return quantize_row_q4_0_ref(x, static_cast<BlockQ4_0*>(out), n);
    case DType::Q4_K:
      return quantize_row_q4_k_ref(x, static_cast<BlockQ4K*>(out), n);
    case DType::Q6_K:
      return quantize_row_q6_k_ref(x, static_cast<BlockQ6K*>(out), n);
    case DType::I32:
    case DType::I64:
      break;
  }
  SOCLE_CHECK(false, "weights are float or quantised types");
}

void dequantize_row(DType type, const void* in, float* y, int64_t n) {
  switch (type) {
    case DType::F32:
      std::memcpy(y, in, static_cast<size_t>(n) * sizeof(float));
      return;
    case DType::F16: {
      const auto* p = static_cast<const uint16_t*>(in);
      for (int64_t i = 0; i < n; ++i)
        y[i] = f16_to_f32(p[i]);
      return;
    }
    case DType::BF16: {
      const auto* p = static_cast<const uint16_t*>(in);
      for (int64_t i = 0; i < n; ++i)
        y[i] = bf16_to_f32(p[i]);
      return;
    }
    case DType::Q8_0:
      return dequantize_row_q8_0_ref(static_cast<const BlockQ8_0*>(in), y, n);
    case DType::Q4_0:
      return dequantize_row_q4_0_ref(static_cast<const BlockQ4_0*>(in), y, n);
    case DType::Q4_K:
      return dequantize_row_q4_k_ref(static_cast<const BlockQ4K*>(in), y, n);
    case DType::Q6_K:
      return dequantize_row_q6_k_ref(static_cast<const BlockQ6K*>(in), y, n);
    case DType::I32:
    case DType::I64:
      break;
  }
  SOCLE_CHECK(false, "weights are float or quantised types");
}

DType quant_type_for_row(DType wanted, int64_t cols) {
  if (!dtype_is_quantized(wanted)) return wanted;
  // llama.cpp (llama_tensor_get_type) swaps a K-quant whose rows do not split into 256-value
  // blocks for a 32-block type, and that for F16 when even 32 does not divide the row.
  DType type = wanted;
  if (cols % QK_K != 0 && (type == DType::Q4_K || type == DType::Q6_K)) type = DType::Q8_0;
  if (cols % QK8_0 != 0) type = DType::F16;
  return type;
}

}  // namespace socle::engine
