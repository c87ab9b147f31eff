#include "engine/format/dtype.h"

#include <bit>

#include "base/check.h"

namespace socle::engine {
namespace {

// binary16 layout: 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits.
constexpr uint32_t F16_EXPONENT_MASK = 0x1F;
constexpr uint32_t F16_MANTISSA_BITS = 10;
constexpr uint32_t F16_MANTISSA_MASK = 0x3FF;
constexpr int F16_EXPONENT_BIAS = 15;
// binary32 layout: 1 sign bit, 8 exponent bits (bias 127), 23 mantissa bits.
constexpr uint32_t F32_MANTISSA_BITS = 23;
constexpr int F32_EXPONENT_BIAS = 127;
constexpr uint32_t F32_EXPONENT_ALL_ONES = 0xFF;

}  // namespace

size_t dtype_size(DType type) {
  switch (type) {
    case DType::F32:
      return 4;
    case DType::F16:
      return 2;
    case DType::BF16:
      return 2;
    case DType::I32:
      return 4;
    case DType::I64:
      return 8;
    case DType::Q8_0:
    case DType::Q4_0:
    case DType::Q4_K:
    case DType::Q6_K:
      break;
  }
  SOCLE_CHECK(false, "only unblocked types have a size per element");
  return 0;
}

bool dtype_is_quantized(DType type) {
  return type == DType::Q8_0 || type == DType::Q4_0 || type == DType::Q4_K || type == DType::Q6_K;
}

int64_t dtype_block_values(DType type) {
  // GGUF's QK8_0, QK4_0 (32) and QK_K (256).
  constexpr int64_t SMALL_BLOCK = 32;
  constexpr int64_t SUPER_BLOCK = 256;
  switch (type) {
    case DType::Q8_0:
    case DType::Q4_0:
      return SMALL_BLOCK;
    case DType::Q4_K:
    case DType::Q6_K:
      return SUPER_BLOCK;
    default:
      return 1;
  }
}

size_t dtype_block_bytes(DType type) {
  // The sizes of ggml's block_q8_0, block_q4_0, block_q4_K and block_q6_K; quant.h
  // static_asserts its structs against these.
  constexpr size_t Q8_0_BYTES = 2 + 32;
  constexpr size_t Q4_0_BYTES = 2 + 16;
  constexpr size_t Q4_K_BYTES = 2 + 2 + 12 + 128;
  constexpr size_t Q6_K_BYTES = 128 + 64 + 16 + 2;
  switch (type) {
    case DType::Q8_0:
      return Q8_0_BYTES;
    case DType::Q4_0:
      return Q4_0_BYTES;
    case DType::Q4_K:
      return Q4_K_BYTES;
    case DType::Q6_K:
      return Q6_K_BYTES;
    default:
      return dtype_size(type);
  }
}

size_t dtype_row_bytes(DType type, int64_t n) {
  int64_t block = dtype_block_values(type);
  SOCLE_CHECK(n >= 0 && n % block == 0, "rows of a blocked type hold whole blocks");
  return static_cast<size_t>(n / block) * dtype_block_bytes(type);
}

const char* dtype_name(DType type) {
  switch (type) {
    case DType::F32:
      return "F32";
    case DType::F16:
      return "F16";
    case DType::BF16:
      return "BF16";
    case DType::I32:
      return "I32";
    case DType::I64:
      return "I64";
    case DType::Q8_0:
      return "Q8_0";
    case DType::Q4_0:
      return "Q4_0";
    case DType::Q4_K:
      return "Q4_K";
    case DType::Q6_K:
      return "Q6_K";
  }
  return "?";
}

std::optional<DType> dtype_from_safetensors_name(std::string_view name) {
  if (name == "F32") return DType::F32;
  if (name == "F16") return DType::F16;
  if (name == "BF16") return DType::BF16;
  if (name == "I32") return DType::I32;
  if (name == "I64") return DType::I64;
  return std::nullopt;
}

float f16_to_f32(uint16_t bits) {
  uint32_t sign = static_cast<uint32_t>(bits >> 15) << 31;
  uint32_t exponent = (bits >> F16_MANTISSA_BITS) & F16_EXPONENT_MASK;
  uint32_t mantissa = bits & F16_MANTISSA_MASK;
  uint32_t out = 0;
  if (exponent == F16_EXPONENT_MASK) {
    out = sign | (F32_EXPONENT_ALL_ONES << F32_MANTISSA_BITS) |
          (mantissa << (F32_MANTISSA_BITS - F16_MANTISSA_BITS));
  } else if (exponent != 0) {
    uint32_t e32 = exponent + static_cast<uint32_t>(F32_EXPONENT_BIAS - F16_EXPONENT_BIAS);
    out = sign | (e32 << F32_MANTISSA_BITS) | (mantissa << (F32_MANTISSA_BITS - F16_MANTISSA_BITS));
  } else if (mantissa == 0) {
    out = sign;
  } else {
    // A subnormal half is mantissa * 2^-24, which float32 holds exactly.
    constexpr float F16_SUBNORMAL_UNIT = 1.0f / 16777216.0f;
    float magnitude = static_cast<float>(mantissa) * F16_SUBNORMAL_UNIT;
    return sign ? -magnitude : magnitude;
  }
  return std::bit_cast<float>(out);
}

float bf16_to_f32(uint16_t bits) {
  return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16);
}

uint16_t f32_to_bf16(float value) {
  uint32_t bits = std::bit_cast<uint32_t>(value);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);
  // Round to nearest even: add half an ulp of the kept part, plus one if the kept part is odd.
  uint32_t rounding = 0x7FFFu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>((bits + rounding) >> 16);
}

uint16_t f32_to_f16(float value) {
  uint32_t bits = std::bit_cast<uint32_t>(value);
  uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  uint32_t abs_bits = bits & 0x7FFFFFFFu;
  if (abs_bits > 0x7F800000u) return static_cast<uint16_t>(sign | 0x7E00u);  // NaN
  constexpr uint32_t F16_MAX_FINITE_ROUNDED = 0x477FF000u;  // 65520: rounds to infinity
  if (abs_bits >= F16_MAX_FINITE_ROUNDED) return static_cast<uint16_t>(sign | 0x7C00u);
  constexpr uint32_t F16_MIN_NORMAL_AS_F32 = 0x38800000u;  // 2^-14
  if (abs_bits < F16_MIN_NORMAL_AS_F32) {
    // Subnormal or zero: scale so that one half-ulp (2^-24) is 1, then round to nearest even
    // in float32 arithmetic, which is exact here.
    float scaled = std::bit_cast<float>(abs_bits) * 16777216.0f;
    float floor_value = static_cast<float>(static_cast<uint32_t>(scaled));
    float fraction = scaled - floor_value;
    float rounded = floor_value;
    if (fraction > 0.5f || (fraction == 0.5f && (static_cast<uint32_t>(floor_value) & 1u) != 0)) {
      rounded += 1.0f;
    }
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(rounded));
  }
  uint32_t exponent = (abs_bits >> F32_MANTISSA_BITS) - (F32_EXPONENT_BIAS - F16_EXPONENT_BIAS);
  uint32_t mantissa = abs_bits & 0x7FFFFFu;
  constexpr uint32_t DROPPED_BITS = F32_MANTISSA_BITS - F16_MANTISSA_BITS;
  uint32_t half = (exponent << F16_MANTISSA_BITS) | (mantissa >> DROPPED_BITS);
  uint32_t remainder = mantissa & ((1u << DROPPED_BITS) - 1);
  uint32_t halfway = 1u << (DROPPED_BITS - 1);
  // A carry out of the mantissa correctly bumps the exponent.
  if (remainder > halfway || (remainder == halfway && (half & 1u) != 0)) ++half;
  return static_cast<uint16_t>(sign | half);
}

}  // namespace socle::engine
