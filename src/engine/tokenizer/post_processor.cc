#include "engine/tokenizer/post_processor.h"

#include <map>

#include "engine/tokenizer/config_fields.h"

namespace socle::engine::tokenizer {

namespace {

constexpr std::string_view WHAT = "post_processor";

// One item of a template: a special token's ids, or sequence A (0) or B (1).
struct TemplateItem {
  std::vector<int32_t> special;
  int sequence = -1;
};

class Template final : public PostProcessor {
 public:
  Template(std::vector<TemplateItem> single, std::vector<TemplateItem> pair)
      : single_(std::move(single)), pair_(std::move(pair)) {}

  std::vector<int32_t> process(const std::vector<int32_t>& a, const std::vector<int32_t>* b,
                               bool add_special_tokens) const override {
    std::vector<int32_t> out;
    for (const auto& item : b == nullptr ? single_ : pair_) {
      if (item.sequence == 0) {
        out.insert(out.end(), a.begin(), a.end());
      } else if (item.sequence == 1) {
        out.insert(out.end(), b->begin(), b->end());
      } else if (add_special_tokens) {
        out.insert(out.end(), item.special.begin(), item.special.end());
      }
    }
    return out;
  }

 private:
  std::vector<TemplateItem> single_;
  std::vector<TemplateItem> pair_;
};

class Passthrough final : public PostProcessor {
 public:
  std::vector<int32_t> process(const std::vector<int32_t>& a, const std::vector<int32_t>* b,
                               bool /*add_special_tokens*/) const override {
    std::vector<int32_t> out = a;
    if (b != nullptr) out.insert(out.end(), b->begin(), b->end());
    return out;
  }
};

class Sequence final : public PostProcessor {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PostProcessor>> steps) : steps_(std::move(steps)) {}
  std::vector<int32_t> process(const std::vector<int32_t>& a, const std::vector<int32_t>* b,
                               bool add_special_tokens) const override {
    // Only one step may combine the pair; ByteLevel steps leave ids alone.
    const PostProcessor* last = steps_.empty() ? nullptr : steps_.back().get();
    if (last == nullptr) return Passthrough().process(a, b, add_special_tokens);
    return last->process(a, b, add_special_tokens);
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> steps_;
};

Result<std::vector<TemplateItem>> template_from_json(
    const boost::json::value& v,
    const std::map<std::string, std::vector<int32_t>, std::less<>>& specials) {
  if (!v.is_array())
    return invalid_argument(
        "tokenizer post_processor TemplateProcessing: a template must be an array");
  std::vector<TemplateItem> items;
  for (const auto& entry : v.as_array()) {
    if (!entry.is_object())
      return invalid_argument("tokenizer post_processor TemplateProcessing: bad template item");
    const auto& o = entry.as_object();
    TemplateItem item;
    if (const auto* s = o.if_contains("SpecialToken"); s != nullptr && s->is_object()) {
      SOCLE_ASSIGN_OR_RETURN(std::string name, string_field(s->as_object(), "id", WHAT));
      auto it = specials.find(name);
      if (it == specials.end()) {
        return invalid_argument("tokenizer post_processor TemplateProcessing: special token '" +
                                name + "' is not in special_tokens");
      }
      item.special = it->second;
    } else if (const auto* q = o.if_contains("Sequence"); q != nullptr && q->is_object()) {
      SOCLE_ASSIGN_OR_RETURN(std::string id, string_field(q->as_object(), "id", WHAT));
      if (id != "A" && id != "B") {
        return invalid_argument("tokenizer post_processor TemplateProcessing: sequence '" + id +
                                "'");
      }
      item.sequence = id == "A" ? 0 : 1;
    } else {
      return invalid_argument("tokenizer post_processor TemplateProcessing: bad template item");
    }
    items.push_back(std::move(item));
  }
  return items;
}

Result<std::unique_ptr<PostProcessor>> template_processing_from_json(const boost::json::object& o) {
  std::map<std::string, std::vector<int32_t>, std::less<>> specials;
  if (const auto* st = o.if_contains("special_tokens"); st != nullptr && st->is_object()) {
    for (const auto& [name, spec] : st->as_object()) {
      if (!spec.is_object())
        return invalid_argument("tokenizer post_processor TemplateProcessing: bad special token");
      SOCLE_ASSIGN_OR_RETURN(const boost::json::array* ids,
                             array_field(spec.as_object(), "ids", WHAT));
      std::vector<int32_t> v;
      for (const auto& id : *ids) {
        if (!id.is_int64() || id.as_int64() < 0 || id.as_int64() > INT32_MAX) {
          return invalid_argument("tokenizer post_processor TemplateProcessing: bad id for '" +
                                  std::string(name) + "'");
        }
        v.push_back(static_cast<int32_t>(id.as_int64()));
      }
      specials.emplace(std::string(name), std::move(v));
    }
  }
  const auto* single = o.if_contains("single");
  const auto* pair = o.if_contains("pair");
  if (single == nullptr || pair == nullptr) {
    return invalid_argument(
        "tokenizer post_processor TemplateProcessing needs 'single' and 'pair'");
  }
  SOCLE_ASSIGN_OR_RETURN(auto single_items, template_from_json(*single, specials));
  SOCLE_ASSIGN_OR_RETURN(auto pair_items, template_from_json(*pair, specials));
  return std::unique_ptr<PostProcessor>(
      new Template(std::move(single_items), std::move(pair_items)));
}

// BertProcessing and RobertaProcessing carry "cls": [token, id] and "sep": [token, id].
Result<int32_t> pair_id(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_array() || v->as_array().size() != 2 || !v->as_array()[1].is_int64()) {
    return invalid_argument("tokenizer post_processor: '" + std::string(key) +
                            "' must be [token, id]");
  }
  return static_cast<int32_t>(v->as_array()[1].as_int64());
}

}  // namespace

Result<std::unique_ptr<PostProcessor>> post_processor_from_json(const boost::json::value& config) {
  if (config.is_null()) return std::unique_ptr<PostProcessor>();
  SOCLE_ASSIGN_OR_RETURN(std::string type, component_type(config, WHAT));
  const auto& o = config.as_object();
  if (type == "TemplateProcessing") return template_processing_from_json(o);
  if (type == "ByteLevel") return std::unique_ptr<PostProcessor>(new Passthrough());
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    SOCLE_ASSIGN_OR_RETURN(int32_t cls, pair_id(o, "cls"));
    SOCLE_ASSIGN_OR_RETURN(int32_t sep, pair_id(o, "sep"));
    // BERT: [CLS] A [SEP] B [SEP]; RoBERTa: <s> A </s> </s> B </s>.
    std::vector<TemplateItem> single = {{{cls}, -1}, {{}, 0}, {{sep}, -1}};
    std::vector<TemplateItem> pair = single;
    if (type == "RobertaProcessing") pair.push_back({{sep}, -1});
    pair.push_back({{}, 1});
    pair.push_back({{sep}, -1});
    return std::unique_ptr<PostProcessor>(new Template(std::move(single), std::move(pair)));
  }
  if (type == "Sequence") {
    SOCLE_ASSIGN_OR_RETURN(const boost::json::array* list, array_field(o, "processors", WHAT));
    std::vector<std::unique_ptr<PostProcessor>> steps;
    for (const auto& item : *list) {
      SOCLE_ASSIGN_OR_RETURN(std::string step_type, component_type(item, WHAT));
      SOCLE_ASSIGN_OR_RETURN(std::unique_ptr<PostProcessor> step, post_processor_from_json(item));
      // ByteLevel only trims offsets, which socle does not report; it changes no id.
      if (step_type != "ByteLevel") steps.push_back(std::move(step));
    }
    if (steps.size() > 1) {
      return invalid_argument(
          "tokenizer post_processor Sequence: more than one step that adds tokens");
    }
    return std::unique_ptr<PostProcessor>(new Sequence(std::move(steps)));
  }
  return unsupported_component(WHAT, type);
}

}  // namespace socle::engine::tokenizer
