// The OpenAI inference routes, relayed to the model registry's providers:
// POST /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/rerank.
// socle reads only "model" (to route), "stream", and the token bounds it reserves against
// the caller's limits; every other field passes through as is. Each request is admitted
// against the limits before it is relayed and settled with the upstream's token counts.
#include <limits>

#include "api/adapter_access.h"
#include "api/auth.h"
#include "api/embedder.h"
#include "api/errors.h"
#include "api/inference_common.h"
#include "api/local_inference.h"
#include "api/rag_views.h"
#include "base/json.h"
#include "http/multipart.h"
#include "providers/relay.h"

namespace socle::api {
namespace {

using providers::ModelKind;

// The most choices (n) a relayed request reserves tokens for: OpenAI's limit on n.
constexpr int64_t MAX_RESERVED_CHOICES = 128;

struct InferenceRoute {
  const char* path;     // under /v1
  const char* purpose;  // for error messages
  std::vector<ModelKind> kinds;
};

std::string kinds_text(const std::vector<ModelKind>& kinds) {
  std::string out;
  for (ModelKind k : kinds) {
    if (!out.empty()) out += " or ";
    out += providers::model_kind_name(k);
  }
  return out;
}

// A request's model: a model of the registry, or a base-plus-adapter model (`adapter` set,
// `model` its local base).
struct ModelChoice {
  providers::Model* model = nullptr;
  std::shared_ptr<const providers::AdapterModel> adapter;
};

Status model_not_found(const std::string& name) {
  return Status(StatusCode::NOT_FOUND,
                "the model '" + name + "' does not exist; GET /v1/models lists the models", "model",
                "model_not_found");
}

bool route_takes(const InferenceRoute& route, ModelKind kind) {
  return std::find(route.kinds.begin(), route.kinds.end(), kind) != route.kinds.end();
}

// "a " or "an " before a model kind (embedding, ocr: "an").
const char* article(const std::string& kind) {
  return kind.front() == 'e' || kind.front() == 'o' ? "an " : "a ";
}

Status wrong_kind(const InferenceRoute& route, const std::string& name, const std::string& kind) {
  std::string wanted = kinds_text(route.kinds);
  return invalid_argument("the model '" + name + "' is " + article(kind) + kind + " model; " +
                              route.purpose + " needs " + article(wanted) + wanted + " model",
                          "model");
}

// A name of the registry, else of its adapter catalog. An adapter model the caller may not
// use answers as an unknown name does, so that its existence does not leak.
Result<ModelChoice> find_model(Services& s, const InferenceRoute& route,
                               const tenancy::Principal& p, const std::string& name) {
  ModelChoice choice;
  choice.model = s.registry.find(name);
  if (choice.model == nullptr) {
    choice.adapter = s.registry.adapters().find(name);
    if (choice.adapter == nullptr || !may_use_adapter(s, p, *choice.adapter)) {
      return model_not_found(name);
    }
    if (!route_takes(route, ModelKind::CHAT) && !route_takes(route, ModelKind::COMPLETION)) {
      return wrong_kind(route, name, "fine-tuned (LoRA) chat");
    }
    choice.model = s.registry.find(choice.adapter->base);
    if (choice.model == nullptr || choice.model->local() == nullptr) {
      return unavailable("the base model '" + choice.adapter->base + "' of '" + name +
                         "' is not loaded on this server");
    }
  }
  if (!route_takes(route, choice.model->spec().kind)) {
    return wrong_kind(route, name, providers::model_kind_name(choice.model->spec().kind));
  }
  return choice;
}

// The tokens to reserve against token limits before the work starts: an estimate of the
// prompt (its bytes / 4, rounded up: socle has no tokenizer for upstream models, and this
// over-counts for most text) plus, for generating routes, n times the completion tokens the
// request allows: max_completion_tokens or max_tokens, else the model's
// default_max_tokens, else its context length minus the prompt, else limits.default_max_tokens.
int64_t reservation(const Services& s, const providers::ModelSpec& spec,
                    const boost::json::object& body, size_t body_bytes, bool generates) {
  int64_t prompt = static_cast<int64_t>((body_bytes + 3) / 4);
  if (!generates) return prompt;
  auto int_field = [&body](const char* key) -> std::optional<int64_t> {
    const boost::json::value* v = body.if_contains(key);
    if (v != nullptr && v->is_int64() && v->as_int64() > 0) return v->as_int64();
    if (v != nullptr && v->is_uint64()) return static_cast<int64_t>(INT32_MAX);
    return std::nullopt;
  };
  std::optional<int64_t> max = int_field("max_completion_tokens");
  if (!max) max = int_field("max_tokens");
  if (!max && spec.default_max_tokens > 0) max = spec.default_max_tokens;
  if (!max && spec.context_length > 0) max = std::max<int64_t>(0, spec.context_length - prompt);
  if (!max) max = s.config.limits_default_max_tokens;
  int64_t n = int_field("n").value_or(1);
  // Saturating: max_tokens may be as large as JSON allows, and a wrapped sum would reserve
  // nothing. INT64_MAX exceeds every tokens limit, so such a request is refused as too large.
  constexpr int64_t MOST = std::numeric_limits<int64_t>::max();
  int64_t choices = std::min<int64_t>(n, MAX_RESERVED_CHOICES);  // >= 1
  if (*max > (MOST - prompt) / choices) return MOST;
  return prompt + choices * *max;
}

// Admits the request against the caller's limits and relays it. `decorate` adds to the relay
// what a route needs beyond the upstream's answer (chat with documents' sources).
void start(Services& s, const InferenceRoute& route, const std::string& request_id,
           const tenancy::Principal& p, providers::Model* model, int64_t tokens,
           std::unique_ptr<providers::RequestAdapter> adapter, http::ResponderPtr out,
           const std::function<void(providers::RelayRequest&)>& decorate = {}) {
  providers::RelayRequest r;
  r.model = model;
  r.adapter = std::move(adapter);
  r.endpoint = route.purpose;
  r.request_id = request_id;
  if (decorate) decorate(r);
  r.user_id = p.user_id;
  r.key_id = p.key_id;
  r.org_id = p.org_id;
  r.arrived_ms = s.clock.unix_ms();

  std::optional<Admitted> admitted =
      admit_or_refuse(s, p, model->spec().name, r.endpoint, request_id, r.arrived_ms, tokens, out);
  if (!admitted) return;
  r.response_headers = std::move(admitted->headers);
  // Settled with the upstream's counts; an answer that reported none keeps the reservation.
  // The request stays in flight as long as the relay that records it.
  r.on_record = [ticket = admitted->ticket, tokens,
                 in_flight = admitted->in_flight](const tenancy::UsageRecord& u) {
    if (!ticket) return;
    int64_t used = u.prompt_tokens + u.completion_tokens;
    ticket->settle(used == 0 && u.status < 400 ? tokens : used);
  };
  providers::RelayContext ctx{s.client, s.usage, s.clock, s.config.gateway_max_attempts};
  providers::start_relay(std::move(r), ctx, std::move(out));
}

// The text of the last user message: its string content, or its text parts joined.
std::string last_user_text(const boost::json::object& body) {
  const boost::json::value* messages = body.if_contains("messages");
  if (messages == nullptr || !messages->is_array()) return "";
  const auto& list = messages->as_array();
  for (auto it = list.rbegin(); it != list.rend(); ++it) {
    const auto* m = it->if_object();
    if (m == nullptr || !m->contains("role") || m->at("role") != "user") continue;
    const boost::json::value* content = m->if_contains("content");
    if (content == nullptr) return "";
    if (content->is_string()) return std::string(content->as_string());
    std::string out;
    if (content->is_array()) {
      for (const auto& part : content->as_array()) {
        const auto* po = part.if_object();
        if (po && po->contains("text") && po->at("text").is_string()) {
          if (!out.empty()) out += "\n";
          out += po->at("text").as_string();
        }
      }
    }
    return out;
  }
  return "";
}

// The sources as the model sees them (docs/rag.md documents this template).
std::string sources_prompt(const std::vector<rag::SearchHit>& hits) {
  std::string out =
      "Answer with the help of the numbered sources below. Cite the sources you use as [1], "
      "[2], ... If they do not hold the answer, say so.\n";
  for (size_t i = 0; i < hits.size(); ++i) {
    const auto& h = hits[i];
    out += "\n[" + std::to_string(i + 1) + "] " + h.document_name;
    if (h.chunk.page_start > 0) {
      out += ", page " + std::to_string(h.chunk.page_start);
      if (h.chunk.page_end > h.chunk.page_start) out += "-" + std::to_string(h.chunk.page_end);
    }
    if (!h.chunk.heading_path.empty()) {
      out += " (";
      for (size_t j = 0; j < h.chunk.heading_path.size(); ++j)
        out += (j ? " > " : "") + h.chunk.heading_path[j];
      out += ")";
    }
    out += "\n" + h.chunk.text + "\n";
  }
  return out;
}

// Puts the sources in a system message: appended to the first one when it is text, else a
// new one first.
void add_sources(boost::json::object& body, const std::string& sources) {
  auto& messages = body["messages"].as_array();
  if (!messages.empty() && messages[0].is_object()) {
    auto& first = messages[0].as_object();
    if (first.contains("role") && first.at("role") == "system" && first.contains("content") &&
        first.at("content").is_string()) {
      first["content"] = std::string(first.at("content").as_string()) + "\n\n" + sources;
      return;
    }
  }
  messages.insert(messages.begin(), boost::json::object{{"role", "system"}, {"content", sources}});
}

// Chat with documents: retrieves from the `search` field's collections on a RAG thread, adds
// the numbered sources to the prompt, relays (or runs on socle's engine for a local model),
// and returns the sources as `search_results`
// (in the answer object, or in a first chunk with no choices when streaming).
void chat_with_documents(Services& s, const InferenceRoute& route, const std::string& request_id,
                         const tenancy::Principal& p, const ModelChoice& choice,
                         boost::json::object body, http::ResponderPtr out) {
  providers::Model* model = choice.model;
  if (s.rag == nullptr) {
    refuse(unavailable("RAG is not enabled on this server"), out);
    return;
  }
  const boost::json::value* search = body.if_contains("search");
  if (search == nullptr || !search->is_object()) {
    refuse(invalid_argument("'search' must be an object: {\"collections\": [ids], \"k\", "
                            "\"method\"}",
                            "search"),
           out);
    return;
  }
  if (refuse(json::check_keys(search->as_object(), {"collections", "method", "k", "rrf_k", "rff_k",
                                                    "score_threshold", "filters", "rerank_model"}),
             out)) {
    return;
  }
  Result<rag::SearchRequest> sr = parse_search(search->as_object(), true);
  if (refuse(sr.status_or_ok(), out)) return;
  if (!sr->rerank_model.empty() &&
      refuse(find_rerank_model(s.registry, sr->rerank_model).status_or_ok(), out)) {
    return;
  }
  sr->key_id = p.key_id;
  sr->request_id = request_id;
  sr->query = last_user_text(body);
  if (sr->query.empty()) {
    refuse(invalid_argument("chat with documents needs a user message with text to search for",
                            "messages"),
           out);
    return;
  }
  body.erase("search");
  store::Actor actor = store::Actor::user(p.user_id, p.org_id);
  s.rag->search_async(
      actor, std::move(sr).value(),
      [&s, &route, request_id, principal = p, model, lora_model = choice.adapter,
       body = std::move(body), out](Result<std::vector<rag::SearchHit>> hits) mutable {
        if (refuse(hits.status_or_ok(), out)) return;
        boost::json::array results;
        for (const auto& h : *hits)
          results.emplace_back(search_hit_json(h));
        if (!hits->empty()) add_sources(body, sources_prompt(*hits));
        if (model->local() != nullptr) {
          serve_local_generation(s, GenerationEndpoint::CHAT, request_id, principal, model, body,
                                 std::move(out),
                                 LocalGenerationExtras{lora_model, std::move(results)});
          return;
        }
        std::string serialized = json::dump(body);
        int64_t tokens = reservation(s, model->spec(), body, serialized.size(), true);
        bool stream = body.contains("stream") && body.at("stream") == true;
        auto adapter = providers::json_adapter(route.path, std::move(body));
        start(s, route, request_id, principal, model, tokens, std::move(adapter), std::move(out),
              [stream, results = std::move(results), model](providers::RelayRequest& r) {
                if (stream) {
                  boost::json::object first{{"id", "search"},
                                            {"object", "chat.completion.chunk"},
                                            {"created", 0},
                                            {"model", model->spec().name},
                                            {"choices", boost::json::array()},
                                            {"search_results", results}};
                  r.first_event = "data: " + json::dump(first) + "\n\n";
                } else {
                  r.rewrite_body = [results](std::string upstream) {
                    Result<boost::json::value> v = json::parse(upstream);
                    if (!v.is_ok() || !v->is_object()) return upstream;
                    v->as_object()["search_results"] = results;
                    return json::dump(*v);
                  };
                }
              });
      });
}

void relay_json(Services& s, const InferenceRoute& route, http::Request& req,
                const tenancy::Principal& p, http::ResponderPtr out) {
  Result<boost::json::object> body = json_body(req);
  if (refuse(body.status_or_ok(), out)) return;
  std::optional<std::string> name;
  if (refuse(json::get_string(*body, "model", true, &name), out)) return;
  // null means not set, as for every other field: dropped, so that no upstream sees it.
  for (const char* field : {"stream", "search"}) {
    if (const auto* v = body->if_contains(field); v != nullptr && v->is_null()) body->erase(field);
  }
  if (const auto* stream = body->if_contains("stream"); stream && !stream->is_bool()) {
    refuse(invalid_argument("'stream' must be true or false", "stream"), out);
    return;
  }
  std::string_view path(route.path);
  bool search = body->contains("search");
  if (search && path != "/chat/completions") {
    // socle's own field: an upstream would ignore it, and so would the local engine.
    refuse(invalid_argument("'search' (chat with documents) is accepted only by "
                            "/v1/chat/completions, not by " +
                                std::string(route.purpose) + "; remove it",
                            "search"),
           out);
    return;
  }
  Result<ModelChoice> choice = find_model(s, route, p, *name);
  if (refuse(choice.status_or_ok(), out)) return;
  providers::Model* model = choice->model;
  if (search) {
    chat_with_documents(s, route, req.request_id, p, *choice, std::move(body).value(),
                        std::move(out));
    return;
  }
  if (model->local() != nullptr) {
    if (path == "/chat/completions" || path == "/completions") {
      serve_local_generation(
          s, path == "/completions" ? GenerationEndpoint::COMPLETIONS : GenerationEndpoint::CHAT,
          req.request_id, p, model, *body, std::move(out),
          LocalGenerationExtras{choice->adapter, {}});
    } else if (path == "/embeddings") {
      serve_local_embeddings(s, req, p, model, *body, std::move(out));
    } else {
      serve_local_rerank(s, req, p, model, *body, std::move(out));
    }
    return;
  }
  bool generates = route.kinds.front() == ModelKind::CHAT;  // chat and completions
  int64_t tokens = reservation(s, model->spec(), *body, req.body.size(), generates);
  std::unique_ptr<providers::RequestAdapter> adapter;
  if (route.kinds.front() == ModelKind::RERANK) {
    auto made = providers::rerank_adapter(*name, std::move(body).value());
    if (refuse(made.status_or_ok(), out)) return;
    adapter = std::move(made).value();
  } else {
    adapter = providers::json_adapter(route.path, std::move(body).value());
  }
  start(s, route, req.request_id, p, model, tokens, std::move(adapter), std::move(out));
}

void relay_multipart(Services& s, const InferenceRoute& route, http::Request& req,
                     const tenancy::Principal& p, http::ResponderPtr out) {
  auto type = req.header("content-type");
  Result<http::MultipartForm> form = http::parse_multipart(type ? *type : "", req.body);
  if (refuse(form.status_or_ok(), out)) return;
  const http::MultipartPart* model_field = form->find("model");
  if (model_field == nullptr || model_field->data.empty()) {
    refuse(invalid_argument("the form field 'model' is required", "model"), out);
    return;
  }
  if (form->find("file") == nullptr) {
    refuse(invalid_argument("the form field 'file' is required", "file"), out);
    return;
  }
  Result<ModelChoice> choice = find_model(s, route, p, model_field->data);
  if (refuse(choice.status_or_ok(), out)) return;
  // Audio and images are not text: only the request counts until the answer's usage does.
  start(s, route, req.request_id, p, choice->model, 0,
        providers::multipart_adapter(route.path, std::move(form).value()), std::move(out));
}

}  // namespace

void register_inference_routes(http::Router& router, Services& s) {
  static const InferenceRoute JSON_ROUTES[] = {
      {"/chat/completions", "/v1/chat/completions", {ModelKind::CHAT}},
      {"/completions", "/v1/completions", {ModelKind::CHAT, ModelKind::COMPLETION}},
      {"/embeddings", "/v1/embeddings", {ModelKind::EMBEDDING}},
      {"/rerank", "/v1/rerank", {ModelKind::RERANK}},
  };
  static const InferenceRoute FORM_ROUTES[] = {
      {"/audio/transcriptions", "/v1/audio/transcriptions", {ModelKind::TRANSCRIPTION}},
      {"/ocr", "/v1/ocr", {ModelKind::OCR}},
  };
  for (const InferenceRoute& route : JSON_ROUTES) {
    router.add_async("POST", route.purpose,
                     with_key_async(s, "",
                                    [&s, &route](http::Request& req, const tenancy::Principal& p,
                                                 http::ResponderPtr out) {
                                      relay_json(s, route, req, p, std::move(out));
                                    }));
  }
  for (const InferenceRoute& route : FORM_ROUTES) {
    router.add_async("POST", route.purpose,
                     with_key_async(s, "",
                                    [&s, &route](http::Request& req, const tenancy::Principal& p,
                                                 http::ResponderPtr out) {
                                      relay_multipart(s, route, req, p, std::move(out));
                                    }),
                     http::RouteOptions{s.config.http_max_upload_bytes});
  }
}

}  // namespace socle::api
