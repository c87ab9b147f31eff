// Models that are a local base model plus a LoRA adapter: the fine-tuned models that jobs
// produce (named ft:<base>:<suffix>:<job id>) and PEFT adapters an administrator loads. They
// are not in socle.toml: the catalog is filled at start from the store and changed while the
// server runs. Requests for them run on the base model's runner with the adapter applied to
// their sequence alone, in the same batches as everyone else's.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/lora/lora_adapter.h"

namespace socle::providers {

struct AdapterModel {
  std::string name;  // the public model name
  std::string base;  // the base model's public name: a local chat or completion model
  // Who may use it: its owner (and their organisation's administrators); owner_user 0 means
  // every user (an adapter an administrator loaded for all).
  int64_t owner_user = 0;
  int64_t owner_org = 0;
  std::vector<int64_t> groups;  // groups the owner shares it with
  std::string source;           // the job id that trained it, or the folder it was loaded from
  int64_t created_at = 0;       // unix seconds
  std::shared_ptr<const engine::LoraAdapter> adapter;
};

class AdapterCatalog {
 public:
  // Adds or replaces the model of that name.
  void put(std::shared_ptr<const AdapterModel> model);
  // Removes it; false if there was none. Requests already running keep their adapter.
  bool remove(std::string_view name);
  // nullptr if unknown.
  std::shared_ptr<const AdapterModel> find(std::string_view name) const;
  // Every model, by name.
  std::vector<std::shared_ptr<const AdapterModel>> list() const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const AdapterModel>> by_name_;  // guarded
};

}  // namespace socle::providers
