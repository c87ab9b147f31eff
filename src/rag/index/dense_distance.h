// How the dense index stores vectors and scores them. Every vector, stored or queried, is
// L2-normalised first, so the score of two vectors is their cosine similarity: the dot product
// of the normalised vectors, in [-1, 1], higher is closer. (HNSW, which minimises, uses the
// distance 1 - score.)
//
// A vector's stored form is its "code", code_bytes() bytes:
// - FLOAT32: the normalised vector, dim float32 values.
// - INT8: a float32 scale s, then dim int8 values c with v[i] ~= s * c[i], |c[i]| <= 127
//   (symmetric quantisation with one scale per vector, s = max |v[i]| / 127), zero-padded to
//   a multiple of 4 bytes so that codes laid end to end keep their scales aligned. Two INT8
//   codes score s_a * s_b * sum(c_a[i] * c_b[i]), the sum exact in int32.
//
// Scoring runs on one of the engine's kernel paths (engine/kernels/kernel_path.h): FLOAT32
// uses the engine's dot_f32 kernels; INT8 uses the dot_i8 kernels below, whose scalar
// reference is dot_i8_ref.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/status.h"
#include "engine/kernels/kernel_path.h"

namespace socle::rag {

enum class DensePrecision {
  FLOAT32,  // 4 bytes per dimension
  INT8,     // 1 byte per dimension and 4 per vector; scores within about 1e-2 of FLOAT32's
};

const char* dense_precision_name(DensePrecision precision);

// The largest dimension accepted: the INT8 sum of dim products of at most 127 * 127 stays
// below 2^31 up to 133,000 dimensions; embedding models stay far below this.
constexpr int64_t DENSE_MAX_DIM = 65536;

// The score of two codes of `dim` dimensions (both of the same precision).
using ScoreFn = float (*)(const void* a, const void* b, int64_t dim);

// Sums a[i] * b[i] in int32. a, b: (n)
int32_t dot_i8_ref(const int8_t* a, const int8_t* b, int64_t n);
// The same with AVX2 (sixteen products per step) and AVX-512 BW (thirty-two); integer sums
// are exact, so every path returns the reference's value. Call them only where the CPU has
// the features (engine::kernel_paths_supported).
int32_t dot_i8_avx2(const int8_t* a, const int8_t* b, int64_t n);
int32_t dot_i8_avx512(const int8_t* a, const int8_t* b, int64_t n);

// Encodes vectors of one dimension and precision, and scores their codes on one kernel path.
class VectorCodec {
 public:
  // dim in [1, DENSE_MAX_DIM] (checked by the caller: a broken one is a bug here).
  VectorCodec(int64_t dim, DensePrecision precision, engine::KernelPath path);

  int64_t dim() const { return dim_; }
  DensePrecision precision() const { return precision_; }
  engine::KernelPath path() const { return path_; }
  size_t code_bytes() const { return code_bytes_; }
  ScoreFn score_fn() const { return score_fn_; }

  // Normalises v (dim values) and writes its code to `code` (code_bytes() bytes, aligned for
  // float). INVALID_ARGUMENT for a vector with a non-finite value or a zero norm.
  Status encode(const float* v, void* code) const;

  float score(const void* a, const void* b) const { return score_fn_(a, b, dim_); }

 private:
  int64_t dim_;
  DensePrecision precision_;
  engine::KernelPath path_;
  size_t code_bytes_;
  ScoreFn score_fn_;
};

// Bytes of one code of `dim` dimensions.
size_t dense_code_bytes(int64_t dim, DensePrecision precision);

}  // namespace socle::rag
