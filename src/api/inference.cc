// The OpenAI inference routes, relayed to the model registry's providers:
// POST /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/rerank.
// socle reads only "model" (to route) and "stream"; every other field passes through as is.
#include "api/auth.h"
#include "api/errors.h"
#include "base/json.h"
#include "providers/relay.h"

namespace socle::api {
namespace {

using providers::ModelKind;

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

void relay(Services& s, const InferenceRoute& route, http::Request& req,
           const tenancy::Principal& p, http::ResponderPtr out) {
  Result<boost::json::object> body = json_body(req);
  if (!body.is_ok()) {
    out->send(error_response(body.status()));
    return;
  }
  std::optional<std::string> name;
  if (Status st = json::get_string(*body, "model", true, &name); !st.is_ok()) {
    out->send(error_response(st));
    return;
  }
  if (const auto* stream = body->if_contains("stream"); stream && !stream->is_bool()) {
    out->send(error_response(invalid_argument("'stream' must be true or false", "stream")));
    return;
  }
  providers::Model* model = s.registry.find(*name);
  if (model == nullptr) {
    out->send(error_response(
        Status(StatusCode::NOT_FOUND,
               "the model '" + *name + "' does not exist; GET /v1/models lists the models", "model",
               "model_not_found")));
    return;
  }
  bool fits = false;
  for (ModelKind k : route.kinds)
    fits = fits || model->spec().kind == k;
  if (!fits) {
    out->send(error_response(invalid_argument(
        "the model '" + *name + "' is a " + providers::model_kind_name(model->spec().kind) +
            " model; " + route.purpose + " needs a " + kinds_text(route.kinds) + " model",
        "model")));
    return;
  }
  providers::RelayRequest r;
  r.model = model;
  r.path = route.path;
  r.endpoint = std::string("/v1") + route.path;
  r.body = std::move(body).value();
  r.request_id = req.request_id;
  r.user_id = std::to_string(p.user_id);
  providers::RelayContext ctx{s.client, s.usage, s.clock, s.config.gateway_max_attempts};
  providers::start_relay(std::move(r), ctx, std::move(out));
}

}  // namespace

void register_inference_routes(http::Router& router, Services& s) {
  static const InferenceRoute ROUTES[] = {
      {"/chat/completions", "/v1/chat/completions", {ModelKind::CHAT}},
      {"/completions", "/v1/completions", {ModelKind::CHAT, ModelKind::COMPLETION}},
      {"/embeddings", "/v1/embeddings", {ModelKind::EMBEDDING}},
      {"/rerank", "/v1/rerank", {ModelKind::RERANK}},
  };
  for (const InferenceRoute& route : ROUTES) {
    router.add_async("POST", std::string("/v1") + route.path,
                     with_key_async(s, "",
                                    [&s, &route](http::Request& req, const tenancy::Principal& p,
                                                 http::ResponderPtr out) {
                                      relay(s, route, req, p, std::move(out));
                                    }));
  }
}

}  // namespace socle::api
