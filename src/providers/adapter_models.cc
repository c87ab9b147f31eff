#include "providers/adapter_models.h"

#include <algorithm>

namespace socle::providers {

void AdapterCatalog::put(std::shared_ptr<const AdapterModel> model) {
  std::lock_guard lock(mu_);
  std::string name = model->name;
  by_name_[name] = std::move(model);
}

bool AdapterCatalog::remove(std::string_view name) {
  std::lock_guard lock(mu_);
  return by_name_.erase(std::string(name)) > 0;
}

std::shared_ptr<const AdapterModel> AdapterCatalog::find(std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = by_name_.find(std::string(name));
  return it == by_name_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const AdapterModel>> AdapterCatalog::list() const {
  std::vector<std::shared_ptr<const AdapterModel>> out;
  {
    std::lock_guard lock(mu_);
    out.reserve(by_name_.size());
    for (const auto& [name, model] : by_name_)
      out.push_back(model);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a->name < b->name; });
  return out;
}

}  // namespace socle::providers
