// Element types of tensors in model files, their sizes and names, and the conversions of the
// 16-bit float types to float32. The quantised types store values in blocks (GGUF's layouts,
// engine/kernels/quant.h): a row of n values takes n / block_values blocks of block_bytes.
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
  Q8_0,  // blocks of 32: an f16 scale and 32 int8 values (34 bytes)
  Q4_0,  // blocks of 32: an f16 scale and 32 4-bit values (18 bytes)
  Q4_K,  // blocks of 256: 8 sub-blocks of 32 with 6-bit scales and mins, 4-bit values (144)
  Q6_K,  // blocks of 256: 16 sub-blocks of 16 with int8 scales, 6-bit values (210 bytes)
};

// Bytes per element of an unblocked type (F32, F16, BF16, I32, I64); callers never ask it of
// a quantised type.
size_t dtype_size(DType type);

// True for Q8_0, Q4_0, Q4_K and Q6_K.
bool dtype_is_quantized(DType type);

// Values per block: 1 for the unblocked types, 32 for Q8_0 and Q4_0, 256 for the K-quants.
int64_t dtype_block_values(DType type);

// Bytes per block: dtype_size for the unblocked types; 34, 18, 144, 210 for the quantised.
size_t dtype_block_bytes(DType type);

// Bytes of a row of `n` values, which must be a multiple of dtype_block_values(type).
size_t dtype_row_bytes(DType type, int64_t n);

// "F32", "F16", "BF16", "I32", "I64" (as safetensors names them), "Q8_0", "Q4_0", "Q4_K",
// "Q6_K" (as GGUF does).
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
