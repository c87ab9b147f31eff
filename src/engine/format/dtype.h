// Element types of tensors in model files, their sizes and names, and the conversions of the
// 16-bit float types to float32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace socle::engine {

enum class DType {
  F32,   // IEEE binary32
  F16,   // IEEE binary16
  BF16,  // bfloat16: the upper half of a binary32
  I32,   // signed 32-bit integer (token ids in reference files)
  I64,   // signed 64-bit integer
};

// Bytes per element.
size_t dtype_size(DType type);

// The name safetensors uses: "F32", "F16", "BF16", "I32", "I64".
const char* dtype_name(DType type);

// The type named `name` in a safetensors header; nullopt for names socle does not read.
std::optional<DType> dtype_from_safetensors_name(std::string_view name);

// Exact widening conversions: every F16 and BF16 value is a float32 value.
float f16_to_f32(uint16_t bits);
float bf16_to_f32(uint16_t bits);

// Narrowing conversions, rounding to nearest with ties to even (as PyTorch does); NaN stays
// NaN and values out of range become infinities.
uint16_t f32_to_f16(float value);
uint16_t f32_to_bf16(float value);

}  // namespace socle::engine
