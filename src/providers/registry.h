// The model registry: public models by name and alias, each with its providers and the
// strategy that picks one per request, or the local model that socle's engine runs.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "providers/adapter_models.h"
#include "providers/local_model.h"
#include "providers/model_spec.h"
#include "providers/provider.h"

namespace socle::providers {

class Model {
 public:
  Model(ModelSpec spec, BreakerSettings breaker, const Clock& clock);

  const ModelSpec& spec() const { return spec_; }
  const std::vector<std::unique_ptr<Provider>>& providers() const { return providers_; }
  // The engine that runs a model with a path; nullptr for upstream models (and before
  // Registry::load_local_models).
  LocalModel* local() const { return local_.get(); }

  // Picks a provider by the model's strategy among those available and not in `tried`,
  // and reserves a slot on it (Provider::try_acquire). nullptr if none can take it.
  Provider* pick(const std::vector<const Provider*>& tried);

 private:
  Provider* pick_round_robin(const std::vector<Provider*>& candidates);
  Provider* pick_weighted(const std::vector<Provider*>& candidates);

  friend class Registry;
  ModelSpec spec_;
  std::vector<std::unique_ptr<Provider>> providers_;
  std::unique_ptr<LocalModel> local_;
  std::atomic<uint64_t> next_{0};
  std::mutex weighted_mu_;
  std::vector<int64_t> current_weight_;  // smooth weighted round robin; guarded
};

class Registry {
 public:
  Registry(std::vector<ModelSpec> specs, BreakerSettings breaker, const Clock& clock);

  // By public name or alias; nullptr if unknown.
  Model* find(std::string_view name) const;
  const std::vector<std::unique_ptr<Model>>& models() const { return models_; }

  // Loads every model with a path onto socle's engine (LocalModel::load), in order, then the
  // base-plus-adapter models of the config into adapters() (for every user, owner 0); the
  // first failure stops and is returned. An adapter's errors name the model and the field:
  // a base that is not a llama-family decoder, a folder that is not a PEFT adapter socle
  // can apply, or an adapter made for another model's shapes.
  Status load_local_models();
  // Stops every local model's threads (LocalModel::stop): at shutdown, before what their
  // cancelled sequences record into goes.
  void stop_local_models();

  // The base-plus-adapter models (fine-tuned, or loaded by an administrator from the config).
  AdapterCatalog& adapters() { return adapters_; }
  const AdapterCatalog& adapters() const { return adapters_; }

 private:
  const Clock& clock_;
  AdapterCatalog adapters_;
  std::vector<ModelSpec> adapter_specs_;  // the config's base-plus-adapter models
  std::vector<std::unique_ptr<Model>> models_;
  std::unordered_map<std::string, Model*> by_name_;
};

}  // namespace socle::providers
