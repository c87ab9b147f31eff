#include "engine/lora/lora_apply.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>

#include "base/hash.h"
#include "engine/kernels/matmul.h"

namespace socle::engine {
namespace {

size_t sz(int64_t a, int64_t b) {
  return static_cast<size_t>(a * b);
}

std::string_view bytes_of(std::span<const float> t) {
  return {reinterpret_cast<const char*>(t.data()), t.size_bytes()};
}

}  // namespace

Status lora_fits(const HfConfig& model, const LoraAdapter& adapter) {
  if (adapter.num_layers() != model.num_layers) {
    return invalid_argument("the adapter has " + std::to_string(adapter.num_layers()) +
                            " layers, the model " + std::to_string(model.num_layers) +
                            "; use an adapter trained on this base model");
  }
  for (LoraTarget t : adapter.config().targets) {
    LoraShape want = lora_target_shape(model, t);
    LoraShape got = adapter.shape(t);
    if (want.in != got.in || want.out != got.out) {
      return invalid_argument(
          std::string("the adapter's ") + lora_target_name(t) + " maps " + std::to_string(got.in) +
          " values to " + std::to_string(got.out) + ", the model's " + std::to_string(want.in) +
          " to " + std::to_string(want.out) + "; use an adapter trained on this base " + "model");
    }
  }
  return Status::ok();
}

uint64_t lora_identity(const LoraAdapter& adapter) {
  const LoraConfig& c = adapter.config();
  // The configuration as text, then each tensor's digest: hashing the digests keeps the
  // tensors' bytes out of one big copy.
  std::string material = "socle-lora-v1 rank=" + std::to_string(c.rank) + " alpha=";
  std::string alpha(sizeof(c.alpha), '\0');
  std::memcpy(alpha.data(), &c.alpha, sizeof(c.alpha));
  material += alpha;
  material += c.use_rslora ? " rslora" : " lora";
  material += " layers=" + std::to_string(adapter.num_layers()) + " targets=";
  for (LoraTarget t : c.targets) {
    material += lora_target_name(t);
    material += ',';
  }
  for (std::span<const float> t : adapter.tensors())
    material += sha256(bytes_of(t));
  std::string digest = sha256(material);
  uint64_t id = 0;
  std::memcpy(&id, digest.data(), sizeof(id));
  return id == 0 ? 1 : id;
}

std::vector<LoraRows> lora_group_rows(std::span<const LoraAdapter* const> row_adapter) {
  std::vector<LoraRows> groups;
  for (size_t r = 0; r < row_adapter.size(); ++r) {
    const LoraAdapter* a = row_adapter[r];
    if (a == nullptr) continue;
    auto it = std::find_if(groups.begin(), groups.end(),
                           [a](const LoraRows& g) { return g.adapter == a; });
    if (it == groups.end()) {
      groups.push_back({a, {}});
      it = groups.end() - 1;
    }
    it->rows.push_back(static_cast<int64_t>(r));
  }
  return groups;
}

void lora_add(float* y, const float* x, std::span<const LoraRows> groups, int64_t layer,
              LoraTarget target, KernelPath path, ThreadPool& threads) {
  std::vector<float> xs;  // (group rows, in): the group's inputs, gathered
  std::vector<float> u;   // (group rows, rank): A x
  std::vector<float> d;   // (group rows, out): B (A x)
  for (const LoraRows& g : groups) {
    const LoraPair* pair = g.adapter->find(layer, target);
    if (pair == nullptr) continue;
    LoraShape s = g.adapter->shape(target);
    int64_t rank = g.adapter->config().rank;
    auto n = static_cast<int64_t>(g.rows.size());
    WeightView a{DType::F32, pair->a.data(), rank, s.in};
    WeightView b{DType::F32, pair->b.data(), s.out, rank};
    xs.resize(sz(n, s.in));
    for (int64_t i = 0; i < n; ++i)
      std::copy_n(x + sz(g.rows[static_cast<size_t>(i)], s.in), s.in, &xs[sz(i, s.in)]);
    u.resize(sz(n, rank));
    matmul(u.data(), xs.data(), a, nullptr, n, path, threads);
    d.resize(sz(n, s.out));
    matmul(d.data(), u.data(), b, nullptr, n, path, threads);
    auto scaling = static_cast<float>(g.adapter->scaling());
    for (int64_t i = 0; i < n; ++i) {
      float* yr = y + sz(g.rows[static_cast<size_t>(i)], s.out);
      const float* dr = &d[sz(i, s.out)];
      for (int64_t j = 0; j < s.out; ++j)
        yr[j] += scaling * dr[j];
    }
  }
}

}  // namespace socle::engine
