#include "rag/index/dense_distance.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "base/check.h"
#include "engine/kernels/dot.h"

namespace socle::rag {
namespace {

// The largest INT8 code magnitude: symmetric, so -128 is never used and c and -c always
// both exist.
constexpr int INT8_MAX_CODE = 127;
// INT8 codes start with their float32 scale.
constexpr size_t INT8_SCALE_BYTES = sizeof(float);
// Codes are padded to this so that consecutive codes keep their float32 fields aligned.
constexpr size_t CODE_ALIGN = alignof(float);

using DotI8Fn = int32_t (*)(const int8_t*, const int8_t*, int64_t);

template <engine::DotFloatFn Dot>
float score_f32(const void* a, const void* b, int64_t dim) {
  return Dot(b, static_cast<const float*>(a), dim);
}

template <DotI8Fn Dot>
float score_i8(const void* a, const void* b, int64_t dim) {
  float scale_a = 0, scale_b = 0;
  std::memcpy(&scale_a, a, sizeof scale_a);
  std::memcpy(&scale_b, b, sizeof scale_b);
  const auto* codes_a = static_cast<const int8_t*>(a) + INT8_SCALE_BYTES;
  const auto* codes_b = static_cast<const int8_t*>(b) + INT8_SCALE_BYTES;
  return scale_a * scale_b * static_cast<float>(Dot(codes_a, codes_b, dim));
}

ScoreFn score_fn_for(DensePrecision precision, engine::KernelPath path) {
  using engine::KernelPath;
  if (precision == DensePrecision::FLOAT32) {
    switch (path) {
      case KernelPath::SCALAR:
        return score_f32<engine::dot_f32_ref>;
      case KernelPath::AVX2:
        return score_f32<engine::dot_f32_avx2>;
      case KernelPath::AVX512:
        return score_f32<engine::dot_f32_avx512>;
    }
  }
  switch (path) {
    case KernelPath::SCALAR:
      return score_i8<dot_i8_ref>;
    case KernelPath::AVX2:
      return score_i8<dot_i8_avx2>;
    case KernelPath::AVX512:
      return score_i8<dot_i8_avx512>;
  }
  SOCLE_CHECK(false, "every kernel path has a score function");
  return nullptr;
}

}  // namespace

const char* dense_precision_name(DensePrecision precision) {
  return precision == DensePrecision::FLOAT32 ? "float32" : "int8";
}

size_t dense_code_bytes(int64_t dim, DensePrecision precision) {
  auto n = static_cast<size_t>(dim);
  if (precision == DensePrecision::FLOAT32) return n * sizeof(float);
  return INT8_SCALE_BYTES + (n + CODE_ALIGN - 1) / CODE_ALIGN * CODE_ALIGN;
}

int32_t dot_i8_ref(const int8_t* a, const int8_t* b, int64_t n) {
  int32_t sum = 0;
  for (int64_t i = 0; i < n; ++i)
    sum += int32_t{a[i]} * int32_t{b[i]};
  return sum;
}

VectorCodec::VectorCodec(int64_t dim, DensePrecision precision, engine::KernelPath path)
    : dim_(dim),
      precision_(precision),
      path_(path),
      code_bytes_(dense_code_bytes(dim, precision)),
      score_fn_(score_fn_for(precision, path)) {
  SOCLE_CHECK(dim >= 1 && dim <= DENSE_MAX_DIM, "the index checked the dimension when opening");
}

Status VectorCodec::encode(const float* v, void* code) const {
  // The norm in double: float32 squares of a 4096-dimension vector lose about 1e-4 relative.
  double sum_sq = 0;
  double max_abs = 0;
  for (int64_t i = 0; i < dim_; ++i) {
    if (!std::isfinite(v[i])) {
      return invalid_argument("vector value " + std::to_string(i) + " is not a finite number");
    }
    double x = v[i];
    sum_sq += x * x;
    max_abs = std::max(max_abs, std::abs(x));
  }
  if (sum_sq == 0) return invalid_argument("a zero vector has no direction to compare");
  double inv_norm = 1.0 / std::sqrt(sum_sq);

  if (precision_ == DensePrecision::FLOAT32) {
    auto* out = static_cast<float*>(code);
    for (int64_t i = 0; i < dim_; ++i)
      out[i] = static_cast<float>(v[i] * inv_norm);
    return Status::ok();
  }

  auto* bytes = static_cast<uint8_t*>(code);
  double scale = max_abs * inv_norm / INT8_MAX_CODE;  // > 0: the norm is
  auto scale_f = static_cast<float>(scale);
  std::memcpy(bytes, &scale_f, sizeof scale_f);
  auto* codes = reinterpret_cast<int8_t*>(bytes + INT8_SCALE_BYTES);
  for (int64_t i = 0; i < dim_; ++i) {
    double q = std::nearbyint(v[i] * inv_norm / scale);
    codes[i] = static_cast<int8_t>(std::clamp(q, double{-INT8_MAX_CODE}, double{INT8_MAX_CODE}));
  }
  std::memset(codes + dim_, 0, code_bytes_ - INT8_SCALE_BYTES - static_cast<size_t>(dim_));
  return Status::ok();
}

}  // namespace socle::rag
