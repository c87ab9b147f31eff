// Turning an encoder's hidden states into one embedding per text.
#pragma once

#include <cstdint>

#include "engine/format/sentence_transformers.h"

namespace socle::engine {

// out = the pooled embedding of one sequence's hidden states.
// out: (dim); hidden: (n, dim), n >= 1
void pool_ref(float* out, const float* hidden, int64_t n, int64_t dim, Pooling pooling);

// x = x / ||x||, unchanged if x is all zeros.
// x: (dim)
void l2_normalize_ref(float* x, int64_t dim);

}  // namespace socle::engine
