// POST /v1/tokenize and /v1/detokenize (vLLM's shapes) on models socle runs: what the model
// reads for a text or a chat, and the text of token ids.
#include "api/adapter_access.h"
#include "api/auth.h"
#include "api/errors.h"
#include "api/local_inference.h"
#include "base/json.h"

namespace socle::api {
namespace {

using json::present;

// The local model `body` names (a fine-tuned model's base: an adapter changes no token). 404
// for an unknown name or a fine-tuned model the caller may not use, 400 for a model socle
// relays.
Result<providers::LocalModel*> local_model(Services& s, const tenancy::Principal& p,
                                           const boost::json::object& body) {
  std::optional<std::string> name;
  SOCLE_RETURN_IF_ERROR(json::get_string(body, "model", true, &name));
  providers::Model* m = s.registry.find(*name);
  if (m == nullptr) {
    auto adapter = s.registry.adapters().find(*name);
    if (adapter != nullptr && may_use_adapter(s, p, *adapter)) m = s.registry.find(adapter->base);
  }
  if (m == nullptr) {
    return Status(StatusCode::NOT_FOUND,
                  "the model '" + *name + "' does not exist; GET /v1/models lists the models",
                  "model", "model_not_found");
  }
  if (m->local() == nullptr) {
    return invalid_argument(
        "the model '" + *name + "' runs on an upstream engine; tokenize with a model socle runs",
        "model");
  }
  return m->local();
}

Result<http::Response> tokenize(Services& s, http::Request& req, const tenancy::Principal& p) {
  SOCLE_ASSIGN_OR_RETURN(boost::json::object body, json_body(req));
  SOCLE_RETURN_IF_ERROR(
      json::check_keys(body, {"model", "prompt", "messages", "add_special_tokens"}));
  SOCLE_ASSIGN_OR_RETURN(providers::LocalModel * local, local_model(s, p, body));
  std::optional<bool> special;
  SOCLE_RETURN_IF_ERROR(json::get_bool(body, "add_special_tokens", false, &special));
  std::vector<int32_t> ids;
  if (present(body, "messages") != nullptr) {
    if (present(body, "prompt") != nullptr) {
      return invalid_argument("give 'prompt' or 'messages', not both", "prompt");
    }
    if (special) {
      return invalid_argument(
          "'add_special_tokens' applies to a prompt; a chat's template adds "
          "its own",
          "add_special_tokens");
    }
    SOCLE_ASSIGN_OR_RETURN(std::vector<ChatMessage> messages, parse_chat_messages(body));
    SOCLE_ASSIGN_OR_RETURN(ids, chat_prompt_ids(*local, messages));
  } else {
    const boost::json::value* prompt = present(body, "prompt");
    if (prompt == nullptr || !prompt->is_string()) {
      return invalid_argument("give 'prompt' (a string) or 'messages' (a chat)", "prompt");
    }
    SOCLE_ASSIGN_OR_RETURN(ids,
                           local->tokenizer().encode(prompt->as_string(), special.value_or(true)));
  }
  boost::json::array tokens;
  for (int32_t id : ids)
    tokens.emplace_back(id);
  return json_response(200, boost::json::object{{"count", static_cast<int64_t>(ids.size())},
                                                {"max_model_len", local->context_length()},
                                                {"tokens", std::move(tokens)}});
}

Result<http::Response> detokenize(Services& s, http::Request& req, const tenancy::Principal& p) {
  SOCLE_ASSIGN_OR_RETURN(boost::json::object body, json_body(req));
  SOCLE_RETURN_IF_ERROR(json::check_keys(body, {"model", "tokens"}));
  SOCLE_ASSIGN_OR_RETURN(providers::LocalModel * local, local_model(s, p, body));
  const boost::json::value* tokens = present(body, "tokens");
  if (tokens == nullptr || !tokens->is_array()) {
    return invalid_argument("'tokens' must be an array of token ids", "tokens");
  }
  std::vector<int32_t> ids;
  for (size_t i = 0; i < tokens->as_array().size(); ++i) {
    const auto& v = tokens->as_array()[i];
    if (!v.is_int64() || v.as_int64() < 0 || v.as_int64() >= local->vocab_size()) {
      return invalid_argument("tokens[" + std::to_string(i) + "] must be a token id in [0, " +
                                  std::to_string(local->vocab_size()) + ")",
                              "tokens");
    }
    ids.push_back(static_cast<int32_t>(v.as_int64()));
  }
  return json_response(200, boost::json::object{{"prompt", local->tokenizer().decode(ids)}});
}

}  // namespace

void register_tokenize_routes(http::Router& router, Services& s) {
  router.add("POST", "/v1/tokenize",
             with_key(s, "", [&s](http::Request& req, const tenancy::Principal& p) {
               return tokenize(s, req, p);
             }));
  router.add("POST", "/v1/detokenize",
             with_key(s, "", [&s](http::Request& req, const tenancy::Principal& p) {
               return detokenize(s, req, p);
             }));
}

}  // namespace socle::api
