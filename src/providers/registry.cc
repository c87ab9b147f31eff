#include "providers/registry.h"

#include <algorithm>

#include "engine/lora/lora_apply.h"

namespace socle::providers {

Model::Model(ModelSpec spec, BreakerSettings breaker, const Clock& clock) : spec_(std::move(spec)) {
  for (const ProviderSpec& p : spec_.providers) {
    providers_.push_back(std::make_unique<Provider>(p, breaker, clock));
  }
  current_weight_.assign(providers_.size(), 0);
}

Provider* Model::pick_round_robin(const std::vector<Provider*>& candidates) {
  uint64_t start = next_.fetch_add(1, std::memory_order_relaxed);
  for (size_t i = 0; i < candidates.size(); ++i) {
    Provider* p = candidates[(start + i) % candidates.size()];
    if (p->try_acquire()) return p;
  }
  return nullptr;
}

// nginx's smooth weighted round robin: each pick adds every weight to its running total,
// takes the largest total and subtracts the sum from it. Over sum(weights) picks each
// provider is chosen weight times, interleaved.
Provider* Model::pick_weighted(const std::vector<Provider*>& candidates) {
  std::lock_guard lock(weighted_mu_);
  std::vector<Provider*> left = candidates;
  while (!left.empty()) {
    int64_t total = 0;
    size_t best = 0;
    int64_t best_weight = INT64_MIN;
    for (size_t i = 0; i < providers_.size(); ++i) {
      Provider* p = providers_[i].get();
      if (std::find(left.begin(), left.end(), p) == left.end()) continue;
      current_weight_[i] += p->spec().weight;
      total += p->spec().weight;
      if (current_weight_[i] > best_weight) {
        best_weight = current_weight_[i];
        best = i;
      }
    }
    current_weight_[best] -= total;
    Provider* chosen = providers_[best].get();
    if (chosen->try_acquire()) return chosen;
    left.erase(std::find(left.begin(), left.end(), chosen));
  }
  return nullptr;
}

Provider* Model::pick(const std::vector<const Provider*>& tried) {
  std::vector<Provider*> candidates;
  for (const auto& p : providers_) {
    if (std::find(tried.begin(), tried.end(), p.get()) != tried.end()) continue;
    if (p->available()) candidates.push_back(p.get());
  }
  if (candidates.empty()) return nullptr;
  if (spec_.strategy == Strategy::LEAST_IN_FLIGHT || spec_.strategy == Strategy::LOWEST_LATENCY) {
    // Rotate first so that ties are broken in turn, not always in favour of the first.
    size_t shift = next_.fetch_add(1, std::memory_order_relaxed) % candidates.size();
    std::rotate(candidates.begin(), candidates.begin() + static_cast<ptrdiff_t>(shift),
                candidates.end());
  }
  switch (spec_.strategy) {
    case Strategy::ROUND_ROBIN:
      return pick_round_robin(candidates);
    case Strategy::WEIGHTED:
      return pick_weighted(candidates);
    case Strategy::LEAST_IN_FLIGHT:
      std::stable_sort(candidates.begin(), candidates.end(),
                       [](Provider* a, Provider* b) { return a->in_flight() < b->in_flight(); });
      break;
    case Strategy::LOWEST_LATENCY:
      // A provider with no sample yet sorts first, so that each gets measured.
      std::stable_sort(candidates.begin(), candidates.end(), [](Provider* a, Provider* b) {
        return a->latency_ewma_ms() < b->latency_ewma_ms();
      });
      break;
  }
  for (Provider* p : candidates) {
    if (p->try_acquire()) return p;
  }
  return nullptr;
}

Registry::Registry(std::vector<ModelSpec> specs, BreakerSettings breaker, const Clock& clock)
    : clock_(clock) {
  for (ModelSpec& s : specs) {
    if (s.adapter) {
      adapter_specs_.push_back(std::move(s));
      continue;
    }
    auto m = std::make_unique<Model>(std::move(s), breaker, clock);
    by_name_[m->spec().name] = m.get();
    for (const auto& a : m->spec().aliases)
      by_name_[a] = m.get();
    models_.push_back(std::move(m));
  }
}

Model* Registry::find(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  return it == by_name_.end() ? nullptr : it->second;
}

void Registry::stop_local_models() {
  for (auto& m : models_) {
    if (m->local_) m->local_->stop();
  }
}

Status Registry::load_local_models() {
  for (auto& m : models_) {
    if (!m->spec_.local || m->local_) continue;
    SOCLE_ASSIGN_OR_RETURN(m->local_, LocalModel::load(m->spec_));
  }
  for (const ModelSpec& spec : adapter_specs_) {
    if (adapters_.find(spec.name) != nullptr) continue;
    std::string where = "models '" + spec.name + "'";
    const AdapterSpec& a = *spec.adapter;
    Model* base = find(a.base);
    const engine::LlamaModel* decoder =
        base != nullptr && base->local() != nullptr ? base->local()->decoder() : nullptr;
    if (decoder == nullptr) {
      return invalid_argument(where + ": base '" + a.base +
                              "' is not a llama-family decoder socle runs; LoRA adapters apply "
                              "to those");
    }
    Result<engine::LoraAdapter> lora = engine::LoraAdapter::load_peft(a.path, decoder->config());
    if (!lora.is_ok()) {
      return invalid_argument(where + ": adapter: " + lora.status().message());
    }
    Status fits = engine::lora_fits(decoder->config(), *lora);
    if (!fits.is_ok()) {
      return invalid_argument(where + ": adapter '" + a.path + "' does not fit base '" + a.base +
                              "': " + fits.message());
    }
    auto model = std::make_shared<AdapterModel>();
    model->name = spec.name;
    model->base = base->spec().name;
    model->source = a.path;
    model->created_at = clock_.unix_seconds();
    model->adapter = std::make_shared<const engine::LoraAdapter>(std::move(lora).value());
    adapters_.put(std::move(model));
  }
  return Status::ok();
}

}  // namespace socle::providers
