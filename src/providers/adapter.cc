#include "providers/adapter.h"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/serialize.hpp>
#include <optional>

#include "base/json.h"
#include "providers/relay.h"

namespace socle::providers {
namespace {

// Checks that a whole text is one JSON value and reads the usage that read_usage() would
// read from it, without building a document: every non-streamed answer passes here, and a
// document costs an allocation per member. Handler of Boost.JSON's basic_parser.
class UsageScan {
 public:
  // The names basic_parser requires; no limits beyond json::parse's.
  // NOLINTBEGIN(readability-identifier-naming)
  static constexpr size_t max_array_size = static_cast<size_t>(-1);
  static constexpr size_t max_object_size = static_cast<size_t>(-1);
  static constexpr size_t max_string_size = static_cast<size_t>(-1);
  static constexpr size_t max_key_size = static_cast<size_t>(-1);
  // NOLINTEND(readability-identifier-naming)

  // True if `text` is one valid JSON value (json::parse's grammar and depth limit), with
  // nothing after it but whitespace.
  static bool scan(std::string_view text, UsageScan* out) {
    boost::json::parse_options opts;
    opts.max_depth = json::MAX_DEPTH;
    boost::json::basic_parser<UsageScan> p(opts);
    boost::system::error_code ec;
    size_t used = p.write_some(false, text.data(), text.size(), ec);
    if (ec || !p.done()) return false;
    if (text.find_first_not_of(" \t\r\n", used) != std::string_view::npos) return false;
    *out = p.handler();
    return true;
  }

  bool is_object() const { return is_object_; }
  // As read_usage(): set only when present as an integer in a top-level "usage" object.
  void read(int64_t* prompt, int64_t* completion) const {
    if (prompt_ && prompt != nullptr && plausible_token_count(*prompt_)) *prompt = *prompt_;
    if (completion_ && completion != nullptr && plausible_token_count(*completion_)) {
      *completion = *completion_;
    }
  }

  bool on_document_begin(boost::system::error_code&) { return true; }
  bool on_document_end(boost::system::error_code&) { return true; }
  bool on_object_begin(boost::system::error_code&) {
    value(true, std::nullopt);
    ++depth_;
    return true;
  }
  bool on_object_end(size_t, boost::system::error_code&) {
    if (--depth_ == 1) in_usage_ = false;
    return true;
  }
  bool on_array_begin(boost::system::error_code&) {
    value(false, std::nullopt);
    ++depth_;
    return true;
  }
  bool on_array_end(size_t, boost::system::error_code&) {
    --depth_;
    return true;
  }
  bool on_key_part(boost::json::string_view s, size_t, boost::system::error_code&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(boost::json::string_view s, size_t, boost::system::error_code&) {
    key_.append(s.data(), s.size());
    if (depth_ == 1) {
      usage_key_ = key_ == "usage";
      // A repeated key replaces the earlier value in a document: so here.
      if (usage_key_) prompt_ = completion_ = std::nullopt;
    } else if (depth_ == 2 && in_usage_) {
      field_ = key_ == "prompt_tokens"       ? Field::PROMPT
               : key_ == "completion_tokens" ? Field::COMPLETION
                                             : Field::OTHER;
    }
    key_.clear();
    return true;
  }
  bool on_string_part(boost::json::string_view, size_t, boost::system::error_code&) { return true; }
  bool on_string(boost::json::string_view, size_t, boost::system::error_code&) {
    value(false, std::nullopt);
    return true;
  }
  bool on_number_part(boost::json::string_view, boost::system::error_code&) { return true; }
  bool on_int64(int64_t i, boost::json::string_view, boost::system::error_code&) {
    value(false, i);
    return true;
  }
  bool on_uint64(uint64_t, boost::json::string_view, boost::system::error_code&) {
    value(false, std::nullopt);
    return true;
  }
  bool on_double(double, boost::json::string_view, boost::system::error_code&) {
    value(false, std::nullopt);
    return true;
  }
  bool on_bool(bool, boost::system::error_code&) {
    value(false, std::nullopt);
    return true;
  }
  bool on_null(boost::system::error_code&) {
    value(false, std::nullopt);
    return true;
  }
  bool on_comment_part(boost::json::string_view, boost::system::error_code&) { return true; }
  bool on_comment(boost::json::string_view, boost::system::error_code&) { return true; }

 private:
  enum class Field { OTHER, PROMPT, COMPLETION };

  // A value starts at the current depth: an object, or an integer, or anything else.
  void value(bool object, std::optional<int64_t> integer) {
    if (depth_ == 0) {
      is_object_ = object;
    } else if (depth_ == 1) {
      in_usage_ = usage_key_ && object;
    } else if (depth_ == 2 && in_usage_) {
      if (field_ == Field::PROMPT) prompt_ = integer;
      if (field_ == Field::COMPLETION) completion_ = integer;
    }
  }

  size_t depth_ = 0;
  bool is_object_ = false;
  bool usage_key_ = false;  // the last top-level key was "usage"
  bool in_usage_ = false;   // inside the top-level "usage" object
  Field field_ = Field::OTHER;
  std::string key_;  // the key being read, across parts
  std::optional<int64_t> prompt_;
  std::optional<int64_t> completion_;
};

// The OpenAI path of `route` on `provider`: TEI's root serves the OpenAI embeddings under /v1.
std::string openai_path(const ProviderSpec& provider, const std::string& route) {
  return provider.kind == ProviderKind::TEI ? "/v1" + route : route;
}

class JsonAdapter final : public RequestAdapter {
 public:
  JsonAdapter(std::string route, boost::json::object body)
      : route_(std::move(route)), body_(std::move(body)) {
    const auto* stream = body_.if_contains("stream");
    stream_ = stream != nullptr && stream->is_bool() && stream->as_bool();
    if (!stream_) return;
    // Ask for usage in the stream; the relay drops the usage-only chunk unless asked.
    const auto* opts = body_.if_contains("stream_options");
    boost::json::object o;
    if (opts != nullptr && opts->is_object()) {
      o = opts->as_object();
      const auto* inc = o.if_contains("include_usage");
      wants_usage_ = inc != nullptr && inc->is_bool() && inc->as_bool();
    }
    o["include_usage"] = true;
    body_["stream_options"] = std::move(o);
  }

  bool stream() const override { return stream_; }
  bool client_wants_usage() const override { return wants_usage_; }
  std::string content_type() const override { return "application/json"; }
  std::string path(const ProviderSpec& p) const override { return openai_path(p, route_); }
  std::string body(const ProviderSpec& p) override {
    body_["model"] = p.upstream_model;
    return boost::json::serialize(body_);
  }
  Result<std::string> answer(const ProviderSpec&, std::string upstream_body, int64_t* prompt,
                             int64_t* completion) override {
    UsageScan scan;
    if (!UsageScan::scan(upstream_body, &scan) || !scan.is_object()) {
      return unavailable("the upstream answered 2xx with malformed JSON");
    }
    scan.read(prompt, completion);
    return upstream_body;
  }

 private:
  std::string route_;
  boost::json::object body_;
  bool stream_ = false;
  bool wants_usage_ = false;
};

struct RerankInput {
  std::string query;
  std::vector<std::string> documents;
  int64_t top_n = 0;  // 0: all
};

class RerankAdapter final : public RequestAdapter {
 public:
  RerankAdapter(std::string model, boost::json::object body, RerankInput in)
      : model_(std::move(model)), body_(std::move(body)), in_(std::move(in)) {}

  std::string content_type() const override { return "application/json"; }
  std::string path(const ProviderSpec&) const override { return "/rerank"; }
  std::string body(const ProviderSpec& p) override {
    if (p.kind != ProviderKind::TEI) {
      body_["model"] = p.upstream_model;
      return boost::json::serialize(body_);
    }
    boost::json::array texts;
    for (const auto& d : in_.documents)
      texts.emplace_back(d);
    return boost::json::serialize(boost::json::object{
        {"query", in_.query}, {"texts", std::move(texts)}, {"raw_scores", false}});
  }

  Result<std::string> answer(const ProviderSpec&, std::string upstream_body, int64_t* prompt,
                             int64_t*) override {
    Result<boost::json::value> v = json::parse(upstream_body);
    if (!v.is_ok()) return unavailable("the upstream answered 2xx with malformed JSON");
    // (index, score) from TEI's [{index, score}], or from {results: [{index, relevance_score}]}
    // (vLLM, Jina, Cohere), or from Albert's {data: [{index, score}]}.
    std::vector<std::pair<int64_t, double>> scored;
    const boost::json::array* list = nullptr;
    const char* score_key = "score";
    if (v->is_array()) {
      list = &v->as_array();
    } else if (v->is_object() && v->as_object().contains("results") &&
               v->as_object().at("results").is_array()) {
      list = &v->as_object().at("results").as_array();
      score_key = "relevance_score";
    } else if (v->is_object() && v->as_object().contains("data") &&
               v->as_object().at("data").is_array()) {
      list = &v->as_object().at("data").as_array();
    }
    if (list == nullptr) return unavailable("the upstream's rerank answer has no results");
    for (const auto& item : *list) {
      if (!item.is_object()) return unavailable("the upstream's rerank results are malformed");
      const auto& o = item.as_object();
      const auto* index = o.if_contains("index");
      const auto* score = o.if_contains(score_key);
      if (index == nullptr || !index->is_int64() || score == nullptr || !score->is_number()) {
        return unavailable("the upstream's rerank results lack index or score");
      }
      int64_t i = index->as_int64();
      if (i < 0 || i >= static_cast<int64_t>(in_.documents.size())) {
        return unavailable("the upstream's rerank result index is out of range");
      }
      scored.emplace_back(i, score->to_number<double>());
    }
    std::stable_sort(scored.begin(), scored.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    if (in_.top_n > 0 && static_cast<int64_t>(scored.size()) > in_.top_n) {
      scored.resize(static_cast<size_t>(in_.top_n));
    }
    if (v->is_object()) read_usage(v->as_object(), prompt, nullptr);
    boost::json::array results;
    boost::json::array data;
    for (const auto& [i, s] : scored) {
      results.emplace_back(boost::json::object{{"index", i}, {"relevance_score", s}});
      data.emplace_back(boost::json::object{{"object", "rerank"}, {"index", i}, {"score", s}});
    }
    return boost::json::serialize(
        boost::json::object{{"object", "list"},
                            {"model", model_},
                            {"results", std::move(results)},
                            {"data", std::move(data)},
                            {"usage", {{"prompt_tokens", *prompt}, {"total_tokens", *prompt}}}});
  }

 private:
  std::string model_;
  boost::json::object body_;
  RerankInput in_;
};

class MultipartAdapter final : public RequestAdapter {
 public:
  MultipartAdapter(std::string route, http::MultipartForm form)
      : route_(std::move(route)), form_(std::move(form)) {}
  std::string content_type() const override { return form_.content_type(); }
  std::string path(const ProviderSpec&) const override { return route_; }
  std::string body(const ProviderSpec& p) override {
    http::MultipartPart* model = form_.find("model");
    if (model != nullptr) model->data = p.upstream_model;
    return form_.serialize();
  }
  Result<std::string> answer(const ProviderSpec&, std::string upstream_body, int64_t* prompt,
                             int64_t* completion) override {
    // Transcriptions may answer text, srt or vtt: only JSON answers carry usage.
    UsageScan scan;
    if (UsageScan::scan(upstream_body, &scan) && scan.is_object()) scan.read(prompt, completion);
    return upstream_body;
  }

 private:
  std::string route_;
  http::MultipartForm form_;
};

Status string_list(const boost::json::value& v, const char* key, std::vector<std::string>* out) {
  if (!v.is_array() || v.as_array().empty()) {
    return invalid_argument(std::string("'") + key + "' must be a non-empty list of strings", key);
  }
  for (const auto& d : v.as_array()) {
    if (!d.is_string()) {
      return invalid_argument(std::string("'") + key + "' must be a list of strings", key);
    }
    out->emplace_back(d.as_string());
  }
  return Status::ok();
}

}  // namespace

std::unique_ptr<RequestAdapter> json_adapter(std::string route, boost::json::object body) {
  return std::make_unique<JsonAdapter>(std::move(route), std::move(body));
}

Result<std::unique_ptr<RequestAdapter>> rerank_adapter(std::string public_model,
                                                       boost::json::object body) {
  RerankInput in;
  const char* query_key = body.contains("query") ? "query" : "prompt";
  std::optional<std::string> query;
  SOCLE_RETURN_IF_ERROR(json::get_string(body, query_key, true, &query));
  in.query = *query;
  const char* docs_key = body.contains("documents") ? "documents" : "input";
  const auto* docs = body.if_contains(docs_key);
  if (docs == nullptr) return invalid_argument("'documents' is required", "documents");
  SOCLE_RETURN_IF_ERROR(string_list(*docs, docs_key, &in.documents));
  std::optional<int64_t> top_n;
  SOCLE_RETURN_IF_ERROR(json::get_int(body, "top_n", false, &top_n));
  if (top_n && *top_n <= 0) return invalid_argument("'top_n' must be positive", "top_n");
  in.top_n = top_n.value_or(0);
  return std::unique_ptr<RequestAdapter>(
      std::make_unique<RerankAdapter>(std::move(public_model), std::move(body), std::move(in)));
}

std::unique_ptr<RequestAdapter> multipart_adapter(std::string route, http::MultipartForm form) {
  return std::make_unique<MultipartAdapter>(std::move(route), std::move(form));
}

}  // namespace socle::providers
