// The OpenAI inference routes, relayed to the model registry's providers:
// POST /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/rerank.
// socle reads only "model" (to route) and "stream"; every other field passes through as is.
#include "api/auth.h"
#include "api/errors.h"
#include "base/json.h"
#include "http/multipart.h"
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

// Answers the client with `st` and returns true if it is an error.
bool refuse(const Status& st, http::ResponderPtr& out) {
  if (st.is_ok()) return false;
  out->send(error_response(st));
  return true;
}

Result<providers::Model*> find_model(Services& s, const InferenceRoute& route,
                                     const std::string& name) {
  providers::Model* model = s.registry.find(name);
  if (model == nullptr) {
    return Status(StatusCode::NOT_FOUND,
                  "the model '" + name + "' does not exist; GET /v1/models lists the models",
                  "model", "model_not_found");
  }
  bool fits = false;
  for (ModelKind k : route.kinds)
    fits = fits || model->spec().kind == k;
  if (!fits) {
    return invalid_argument("the model '" + name + "' is a " +
                                providers::model_kind_name(model->spec().kind) + " model; " +
                                route.purpose + " needs a " + kinds_text(route.kinds) + " model",
                            "model");
  }
  return model;
}

void start(Services& s, const InferenceRoute& route, http::Request& req,
           const tenancy::Principal& p, providers::Model* model,
           std::unique_ptr<providers::RequestAdapter> adapter, http::ResponderPtr out) {
  providers::RelayRequest r;
  r.model = model;
  r.adapter = std::move(adapter);
  r.endpoint = route.purpose;
  r.request_id = req.request_id;
  r.user_id = std::to_string(p.user_id);
  providers::RelayContext ctx{s.client, s.usage, s.clock, s.config.gateway_max_attempts};
  providers::start_relay(std::move(r), ctx, std::move(out));
}

void relay_json(Services& s, const InferenceRoute& route, http::Request& req,
                const tenancy::Principal& p, http::ResponderPtr out) {
  Result<boost::json::object> body = json_body(req);
  if (refuse(body.status_or_ok(), out)) return;
  std::optional<std::string> name;
  if (refuse(json::get_string(*body, "model", true, &name), out)) return;
  if (const auto* stream = body->if_contains("stream"); stream && !stream->is_bool()) {
    refuse(invalid_argument("'stream' must be true or false", "stream"), out);
    return;
  }
  Result<providers::Model*> model = find_model(s, route, *name);
  if (refuse(model.status_or_ok(), out)) return;
  std::unique_ptr<providers::RequestAdapter> adapter;
  if (route.kinds.front() == ModelKind::RERANK) {
    auto made = providers::rerank_adapter(*name, std::move(body).value());
    if (refuse(made.status_or_ok(), out)) return;
    adapter = std::move(made).value();
  } else {
    adapter = providers::json_adapter(route.path, std::move(body).value());
  }
  start(s, route, req, p, *model, std::move(adapter), std::move(out));
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
  Result<providers::Model*> model = find_model(s, route, model_field->data);
  if (refuse(model.status_or_ok(), out)) return;
  start(s, route, req, p, *model, providers::multipart_adapter(route.path, std::move(form).value()),
        std::move(out));
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
