#include "engine/kernels/kernel_path.h"

#include <cpuid.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "base/check.h"

namespace socle::engine {
namespace {

// CPUID leaf 1, ECX bit 29: the F16C half-float conversions (every AVX2 CPU so far has them,
// but nothing promises it). Clang's __builtin_cpu_supports does not know "f16c".
bool cpu_has_f16c() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return false;
  return (ecx & bit_F16C) != 0;
}

bool cpu_has_avx2() {
  // The compiler's probe also checks that the OS saves the AVX registers (XGETBV).
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c();
}

bool cpu_has_avx512() {
  return cpu_has_avx2() && __builtin_cpu_supports("avx512f") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512vnni");
}

}  // namespace

const char* kernel_path_name(KernelPath path) {
  switch (path) {
    case KernelPath::SCALAR:
      return "scalar";
    case KernelPath::AVX2:
      return "avx2";
    case KernelPath::AVX512:
      return "avx512";
  }
  return "?";
}

std::vector<KernelPath> kernel_paths_supported() {
  std::vector<KernelPath> paths = {KernelPath::SCALAR};
  if (cpu_has_avx2()) paths.push_back(KernelPath::AVX2);
  if (cpu_has_avx512()) paths.push_back(KernelPath::AVX512);
  return paths;
}

Result<KernelPath> kernel_path_parse(std::string_view value) {
  auto supported = kernel_paths_supported();
  if (value.empty() || value == "auto") return supported.back();
  for (KernelPath p : {KernelPath::SCALAR, KernelPath::AVX2, KernelPath::AVX512}) {
    if (value != kernel_path_name(p)) continue;
    for (KernelPath s : supported) {
      if (s == p) return p;
    }
    return invalid_argument("SOCLE_KERNELS=" + std::string(value) +
                            ": this CPU lacks the features that path needs");
  }
  return invalid_argument("SOCLE_KERNELS=" + std::string(value) +
                          " is not a kernel path (scalar, avx2, avx512 or auto)");
}

KernelPath kernel_path_active() {
  static const KernelPath ACTIVE = [] {
    const char* env = std::getenv("SOCLE_KERNELS");
    auto path = kernel_path_parse(env == nullptr ? "" : env);
    if (!path.is_ok()) std::fprintf(stderr, "%s\n", path.status().message().c_str());
    SOCLE_CHECK(path.is_ok(), "SOCLE_KERNELS names a path this CPU runs");
    return *path;
  }();
  return ACTIVE;
}

}  // namespace socle::engine
