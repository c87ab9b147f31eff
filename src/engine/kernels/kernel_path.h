// Which implementation of the kernels runs: the scalar references or a SIMD set, chosen at
// run time from the CPU's features so that one binary runs on any x86-64. The environment
// variable SOCLE_KERNELS=scalar|avx2|avx512 forces a path, so tests and comparisons can run every
// path the machine has.
#pragma once

#include <string_view>
#include <vector>

#include "base/status.h"

namespace socle::engine {

enum class KernelPath {
  SCALAR,  // the `_ref` functions
  AVX2,    // AVX2 + FMA + F16C
  AVX512,  // AVX-512 F, BW, VL and VNNI, with the AVX2 set's features
};

const char* kernel_path_name(KernelPath path);

// The paths this CPU can run, SCALAR first and the fastest last.
std::vector<KernelPath> kernel_paths_supported();

// The path that SOCLE_KERNELS names (`value`; empty or "auto": the fastest supported).
// INVALID_ARGUMENT for an unknown name or a path this CPU cannot run.
Result<KernelPath> kernel_path_parse(std::string_view value);

// The path every kernel call without an explicit one takes: SOCLE_KERNELS as read once at the
// first call. A value kernel_path_parse rejects stops the process with its message, as any
// broken start-up setting does.
KernelPath kernel_path_active();

}  // namespace socle::engine
