#include "train/grad_rope.h"

namespace socle::train {

RopeTable rope_table(int64_t n_pos, int64_t head_dim, const float* inv_freq) {
  RopeTable t;
  t.half = head_dim / 2;
  t.cos.resize(static_cast<size_t>(n_pos * t.half));
  t.sin.resize(t.cos.size());
  for (int64_t p = 0; p < n_pos; ++p)
    engine::rope_cos_sin(&t.cos[static_cast<size_t>(p * t.half)],
                         &t.sin[static_cast<size_t>(p * t.half)], t.half, p, inv_freq);
  return t;
}

template <typename Scalar>
void rope_rotate(Scalar* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim,
                 const RopeTable& table, engine::RopePairing pairing, bool inverse) {
  int64_t half = head_dim / 2;
  bool interleaved = pairing == engine::RopePairing::INTERLEAVED;
  for (int64_t t = 0; t < n_tokens; ++t) {
    const float* c = &table.cos[static_cast<size_t>(t * half)];
    const float* s = &table.sin[static_cast<size_t>(t * half)];
    for (int64_t h = 0; h < n_heads; ++h) {
      Scalar* head = x + (t * n_heads + h) * head_dim;
      for (int64_t i = 0; i < half; ++i) {
        Scalar* a = interleaved ? &head[2 * i] : &head[i];
        Scalar* b = interleaved ? &head[2 * i + 1] : &head[i + half];
        auto ci = static_cast<Scalar>(c[i]);
        auto si = inverse ? -static_cast<Scalar>(s[i]) : static_cast<Scalar>(s[i]);
        Scalar x0 = *a;
        Scalar x1 = *b;
        *a = x0 * ci - x1 * si;
        *b = x1 * ci + x0 * si;
      }
    }
  }
}

template void rope_rotate<float>(float*, int64_t, int64_t, int64_t, const RopeTable&,
                                 engine::RopePairing, bool);
template void rope_rotate<double>(double*, int64_t, int64_t, int64_t, const RopeTable&,
                                  engine::RopePairing, bool);

}  // namespace socle::train
