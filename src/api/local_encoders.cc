// POST /v1/embeddings and /v1/rerank on a bert-family model socle runs: the texts are
// tokenised and checked here, admitted with their exact token count, and run on the model's
// encoder thread in order; the answer and its usage follow from that thread.
#include <algorithm>
#include <boost/json/array.hpp>
#include <cmath>

#include "api/auth.h"
#include "api/errors.h"
#include "api/inference_common.h"
#include "api/local_inference.h"
#include "base/base64.h"
#include "base/json.h"

namespace socle::api {
namespace {

// The most texts one request may embed or documents it may rerank.
constexpr size_t MAX_INPUTS = 2048;

using json::present;

// A list of token ids (each a non-negative integer).
Result<std::vector<int32_t>> ids_of(const boost::json::array& a, const std::string& what) {
  std::vector<int32_t> ids;
  for (const auto& v : a) {
    if (!v.is_int64() || v.as_int64() < 0 || v.as_int64() > INT32_MAX) {
      return invalid_argument(what + " must hold token ids (non-negative integers)", "input");
    }
    ids.push_back(static_cast<int32_t>(v.as_int64()));
  }
  return ids;
}

// `input`: a string, strings, token ids, or lists of token ids -> one id list per input.
Result<std::vector<std::vector<int32_t>>> embedding_inputs(const boost::json::value& input,
                                                           const providers::LocalModel& local) {
  std::vector<std::vector<int32_t>> out;
  const auto& tok = local.tokenizer();
  auto text = [&](std::string_view t) -> Status {
    SOCLE_ASSIGN_OR_RETURN(std::vector<int32_t> ids, tok.encode(t, true));
    out.push_back(std::move(ids));
    return Status::ok();
  };
  if (input.is_string()) {
    SOCLE_RETURN_IF_ERROR(text(input.as_string()));
    return out;
  }
  if (!input.is_array() || input.as_array().empty()) {
    return invalid_argument(
        "'input' must be a string, a non-empty array of strings, token ids, or arrays of token ids",
        "input");
  }
  const auto& list = input.as_array();
  if (list.size() > MAX_INPUTS) {
    return invalid_argument("'input' has " + std::to_string(list.size()) + " items; at most " +
                                std::to_string(MAX_INPUTS) + " per request",
                            "input");
  }
  if (list[0].is_int64()) {
    SOCLE_ASSIGN_OR_RETURN(std::vector<int32_t> ids, ids_of(list, "'input'"));
    out.push_back(std::move(ids));
    return out;
  }
  for (size_t i = 0; i < list.size(); ++i) {
    std::string what = "input[" + std::to_string(i) + "]";
    if (list[i].is_string()) {
      SOCLE_RETURN_IF_ERROR(text(list[i].as_string()));
    } else if (list[i].is_array()) {
      SOCLE_ASSIGN_OR_RETURN(std::vector<int32_t> ids, ids_of(list[i].as_array(), what));
      out.push_back(std::move(ids));
    } else {
      return invalid_argument(what + " must be a string or an array of token ids", "input");
    }
  }
  return out;
}

// Each input non-empty, in the vocabulary and within the model's positions.
Status check_lengths(const std::vector<std::vector<int32_t>>& inputs,
                     const providers::LocalModel& local, const char* param) {
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::string which =
        inputs.size() > 1 ? std::string(param) + "[" + std::to_string(i) + "]" : std::string(param);
    if (inputs[i].empty()) return invalid_argument(which + " has no tokens", param);
    for (int32_t id : inputs[i]) {
      if (id >= local.vocab_size()) {
        return invalid_argument(which + " holds token " + std::to_string(id) +
                                    ", outside the model's vocabulary of " +
                                    std::to_string(local.vocab_size()),
                                param);
      }
    }
    if (static_cast<int64_t>(inputs[i].size()) > local.context_length()) {
      return invalid_argument(which + " has " + std::to_string(inputs[i].size()) +
                                  " tokens; this model reads at most " +
                                  std::to_string(local.context_length()) + ": shorten it",
                              param);
    }
  }
  return Status::ok();
}

// What both routes do after the work: the usage record and the settlement.
void record(Services& s, const tenancy::Principal& p, const std::string& model,
            const std::string& endpoint, const std::string& request_id, int64_t arrived_ms,
            int status, int64_t tokens, const Admitted& admitted) {
  if (admitted.ticket) admitted.ticket->settle(tokens);
  tenancy::UsageRecord u = usage_record(p, model, endpoint, request_id, arrived_ms);
  u.provider = "local";
  u.status = status;
  u.prompt_tokens = tokens;
  u.latency_s = static_cast<double>(s.clock.unix_ms() - arrived_ms) / 1000.0;
  u.first_token_s = u.latency_s;
  u.attempts = 1;
  s.usage.record(u);
}

http::Response with_headers(http::Response r, const Admitted& a) {
  for (const auto& [k, v] : a.headers)
    r.set_header(k, v);
  return r;
}

}  // namespace

void serve_local_embeddings(Services& s, const http::Request& req, const tenancy::Principal& p,
                            providers::Model* model, const boost::json::object& body,
                            http::ResponderPtr out) {
  providers::LocalModel& local = *model->local();
  if (refuse(json::check_keys(body, {"model", "input", "encoding_format", "dimensions", "user"}),
             out)) {
    return;
  }
  const boost::json::value* input = present(body, "input");
  if (input == nullptr) {
    refuse(invalid_argument("'input' is required: the text or texts to embed", "input"), out);
    return;
  }
  bool base64 = false;
  if (const auto* f = present(body, "encoding_format")) {
    if (!f->is_string() || (f->as_string() != "float" && f->as_string() != "base64")) {
      refuse(
          invalid_argument("'encoding_format' must be \"float\" or \"base64\"", "encoding_format"),
          out);
      return;
    }
    base64 = f->as_string() == "base64";
  }
  const engine::BertModel* encoder = local.encoder();
  if (encoder == nullptr) {
    refuse(internal_error("the model '" + model->spec().name + "' has no encoder loaded"), out);
    return;
  }
  int64_t dim = encoder->config().hidden_size;
  if (const auto* d = present(body, "dimensions")) {
    if (!d->is_int64() || d->as_int64() != dim) {
      refuse(invalid_argument("this model's embeddings have " + std::to_string(dim) +
                                  " dimensions and cannot be shortened; leave 'dimensions' out",
                              "dimensions"),
             out);
      return;
    }
  }
  if (const auto* u = present(body, "user"); u != nullptr && !u->is_string()) {
    refuse(invalid_argument("'user' must be a string", "user"), out);
    return;
  }
  Result<std::vector<std::vector<int32_t>>> inputs = embedding_inputs(*input, local);
  if (refuse(inputs.status_or_ok(), out)) return;
  if (refuse(check_lengths(*inputs, local, "input"), out)) return;
  int64_t tokens = 0;
  for (const auto& ids : *inputs)
    tokens += static_cast<int64_t>(ids.size());
  std::string name = model->spec().name;
  int64_t arrived = s.clock.unix_ms();
  std::optional<Admitted> admitted =
      admit_or_refuse(s, p, name, "/v1/embeddings", req.request_id, arrived, tokens, out);
  if (!admitted) return;
  local.post([&s, &local, p, name, request_id = req.request_id, arrived, tokens, base64,
              inputs = std::move(inputs).value(), admitted = std::move(*admitted), out] {
    if (out->cancelled()) {
      record(s, p, name, "/v1/embeddings", request_id, arrived, 499, 0, admitted);
      return;
    }
    boost::json::array data;
    for (size_t i = 0; i < inputs.size(); ++i) {
      Result<std::vector<float>> v = local.embed_ids(inputs[i]);
      if (!v.is_ok()) {
        out->send(error_response(v.status()));
        record(s, p, name, "/v1/embeddings", request_id, arrived, 400, 0, admitted);
        return;
      }
      boost::json::value embedding;
      if (base64) {
        embedding = base64_encode(
            std::string_view(reinterpret_cast<const char*>(v->data()), v->size() * sizeof(float)));
      } else {
        boost::json::array a;
        a.reserve(v->size());
        for (float x : *v)
          a.emplace_back(static_cast<double>(x));
        embedding = std::move(a);
      }
      data.emplace_back(boost::json::object{{"object", "embedding"},
                                            {"index", static_cast<int64_t>(i)},
                                            {"embedding", std::move(embedding)}});
    }
    out->send(with_headers(
        json_response(
            200,
            boost::json::object{{"object", "list"},
                                {"data", std::move(data)},
                                {"model", name},
                                {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}}),
        admitted));
    record(s, p, name, "/v1/embeddings", request_id, arrived, 200, tokens, admitted);
  });
}

void serve_local_rerank(Services& s, const http::Request& req, const tenancy::Principal& p,
                        providers::Model* model, const boost::json::object& body,
                        http::ResponderPtr out) {
  providers::LocalModel& local = *model->local();
  if (refuse(json::check_keys(body, {"model", "query", "prompt", "documents", "input", "top_n",
                                     "raw_scores", "return_documents", "user"}),
             out)) {
    return;
  }
  const boost::json::value* query = present(body, "query");
  if (query == nullptr) query = present(body, "prompt");
  if (query == nullptr || !query->is_string()) {
    refuse(invalid_argument("'query' must be the text to rank the documents for", "query"), out);
    return;
  }
  const boost::json::value* docs = present(body, "documents");
  if (docs == nullptr) docs = present(body, "input");
  if (docs == nullptr || !docs->is_array() || docs->as_array().empty() ||
      docs->as_array().size() > MAX_INPUTS) {
    refuse(invalid_argument("'documents' must be a non-empty array of at most " +
                                std::to_string(MAX_INPUTS) + " strings",
                            "documents"),
           out);
    return;
  }
  int64_t top_n = 0;
  if (const auto* t = present(body, "top_n")) {
    if (!t->is_int64() || t->as_int64() < 1) {
      refuse(invalid_argument("'top_n' must be a positive integer", "top_n"), out);
      return;
    }
    top_n = t->as_int64();
  }
  bool raw = false;
  bool return_documents = false;
  for (auto [key, dest] :
       {std::pair{"raw_scores", &raw}, {"return_documents", &return_documents}}) {
    if (const auto* b = present(body, key)) {
      if (!b->is_bool()) {
        refuse(invalid_argument("'" + std::string(key) + "' must be true or false", key), out);
        return;
      }
      *dest = b->as_bool();
    }
  }
  // The query alone first: each pair encodes it again, so a query too long for the model is
  // refused once, not found 2,048 times.
  Result<std::vector<int32_t>> query_ids = local.tokenizer().encode(query->as_string(), false);
  if (refuse(query_ids.status_or_ok(), out)) return;
  if (static_cast<int64_t>(query_ids->size()) >= local.context_length()) {
    refuse(invalid_argument("the query has " + std::to_string(query_ids->size()) +
                                " tokens; this model reads at most " +
                                std::to_string(local.context_length()) +
                                " for the query and a document together: shorten it",
                            "query"),
           out);
    return;
  }
  std::vector<std::vector<int32_t>> pairs;
  std::vector<std::string> texts;
  for (size_t i = 0; i < docs->as_array().size(); ++i) {
    const auto& d = docs->as_array()[i];
    if (!d.is_string()) {
      refuse(invalid_argument("documents[" + std::to_string(i) + "] must be a string", "documents"),
             out);
      return;
    }
    texts.emplace_back(d.as_string());
    Result<std::vector<int32_t>> ids =
        local.tokenizer().encode_pair(query->as_string(), d.as_string(), true);
    if (refuse(ids.status_or_ok(), out)) return;
    // At the first pair too long, not after encoding them all.
    if (static_cast<int64_t>(ids->size()) > local.context_length()) {
      refuse(
          invalid_argument("documents[" + std::to_string(i) + "] and the query have " +
                               std::to_string(ids->size()) + " tokens; this model reads at most " +
                               std::to_string(local.context_length()) + ": shorten them",
                           "documents"),
          out);
      return;
    }
    pairs.push_back(std::move(ids).value());
  }
  if (refuse(check_lengths(pairs, local, "documents"), out)) return;
  int64_t tokens = 0;
  for (const auto& ids : pairs)
    tokens += static_cast<int64_t>(ids.size());
  std::string name = model->spec().name;
  int64_t arrived = s.clock.unix_ms();
  std::optional<Admitted> admitted =
      admit_or_refuse(s, p, name, "/v1/rerank", req.request_id, arrived, tokens, out);
  if (!admitted) return;
  local.post([&s, &local, p, name, request_id = req.request_id, arrived, tokens, top_n, raw,
              return_documents, pairs = std::move(pairs), texts = std::move(texts),
              admitted = std::move(*admitted), out] {
    if (out->cancelled()) {
      record(s, p, name, "/v1/rerank", request_id, arrived, 499, 0, admitted);
      return;
    }
    std::vector<std::pair<int64_t, double>> scored;
    for (size_t i = 0; i < pairs.size(); ++i) {
      Result<double> score = local.score_pair(pairs[i], raw);
      if (!score.is_ok()) {
        out->send(error_response(score.status()));
        record(s, p, name, "/v1/rerank", request_id, arrived, 400, 0, admitted);
        return;
      }
      scored.emplace_back(static_cast<int64_t>(i), *score);
    }
    std::stable_sort(scored.begin(), scored.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    if (top_n > 0 && static_cast<int64_t>(scored.size()) > top_n) {
      scored.resize(static_cast<size_t>(top_n));
    }
    boost::json::array results;
    boost::json::array data;
    for (const auto& [i, score] : scored) {
      boost::json::object r{{"index", i}, {"relevance_score", score}};
      if (return_documents) r["document"] = {{"text", texts[static_cast<size_t>(i)]}};
      results.emplace_back(std::move(r));
      data.emplace_back(boost::json::object{{"object", "rerank"}, {"index", i}, {"score", score}});
    }
    out->send(with_headers(
        json_response(
            200,
            boost::json::object{{"id", "rerank-" + request_id},
                                {"object", "list"},
                                {"model", name},
                                {"results", std::move(results)},
                                {"data", std::move(data)},
                                {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}}),
        admitted));
    record(s, p, name, "/v1/rerank", request_id, arrived, 200, tokens, admitted);
  });
}

}  // namespace socle::api
