#include "api/generation.h"

#include <boost/json/value.hpp>
#include <charconv>
#include <cmath>
#include <limits>

#include "base/json.h"

namespace socle::api {
namespace {

Status bad(const std::string& field, const std::string& what) {
  return invalid_argument(field + " " + what, field);
}

using json::present;

Result<double> number(const boost::json::value& v, const std::string& name) {
  if (v.is_double()) return v.get_double();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  return bad(name, "must be a number");
}

Result<int64_t> integer(const boost::json::value& v, const std::string& name, int64_t min,
                        int64_t max) {
  auto out_of_range = [&](const std::string& value) {
    return bad(name, "is " + value + "; it must be an integer between " + std::to_string(min) +
                         " and " + std::to_string(max));
  };
  int64_t x = 0;
  if (v.is_int64()) {
    x = v.get_int64();
  } else if (v.is_uint64()) {
    // Above INT64_MAX, so above every max: said as a range, for it is an integer.
    if (v.get_uint64() > static_cast<uint64_t>(max)) {
      return out_of_range(std::to_string(v.get_uint64()));
    }
    x = static_cast<int64_t>(v.get_uint64());
  } else if (v.is_double() && std::floor(v.get_double()) == v.get_double()) {
    // 3.0 is an integer; JSON has one number type. Beyond 1e15 a double is not exact.
    double d = v.get_double();
    if (std::abs(d) >= 1e15) {
      if (d < static_cast<double>(min) || d > static_cast<double>(max)) {
        return out_of_range(json::dump(v));
      }
      return bad(name, "must be written as an integer (digits, no exponent)");
    }
    x = static_cast<int64_t>(d);
  } else {
    return bad(name, "must be an integer");
  }
  if (x < min || x > max) return out_of_range(std::to_string(x));
  return x;
}

Result<bool> boolean(const boost::json::value& v, const std::string& name) {
  if (!v.is_bool()) return bad(name, "must be true or false");
  return v.get_bool();
}

Status read_number(const boost::json::object& o, const char* name, double* out) {
  if (const auto* v = present(o, name)) {
    SOCLE_ASSIGN_OR_RETURN(*out, number(*v, name));
  }
  return Status::ok();
}

Result<std::vector<int32_t>> token_array(const boost::json::value& v, const std::string& name) {
  if (!v.is_array() || v.get_array().empty())
    return bad(name, "must be a non-empty array of token ids");
  std::vector<int32_t> out;
  for (size_t i = 0; i < v.get_array().size(); ++i) {
    SOCLE_ASSIGN_OR_RETURN(int64_t id,
                           integer(v.get_array()[i], name + "[" + std::to_string(i) + "]", 0,
                                   std::numeric_limits<int32_t>::max()));
    out.push_back(static_cast<int32_t>(id));
  }
  return out;
}

// A message's content: a string, or an array of text parts joined in order.
Result<std::string> message_content(const boost::json::value& v, const std::string& name) {
  if (v.is_string()) return std::string(v.get_string());
  if (!v.is_array()) return bad(name, "must be a string or an array of content parts");
  std::string text;
  for (size_t i = 0; i < v.get_array().size(); ++i) {
    std::string part_name = name + "[" + std::to_string(i) + "]";
    const auto& part = v.get_array()[i];
    const auto* type = part.is_object() ? part.get_object().if_contains("type") : nullptr;
    if (type == nullptr || !type->is_string())
      return bad(part_name, "must be an object with a type");
    if (type->get_string() != "text") {
      return bad(part_name + ".type",
                 "'" + std::string(type->get_string()) +
                     "' is not supported by this model; it reads text parts only");
    }
    const auto* t = part.get_object().if_contains("text");
    if (t == nullptr || !t->is_string()) return bad(part_name + ".text", "must be a string");
    text += t->get_string();
  }
  return text;
}

Status read_messages(const boost::json::object& body, GenerationRequest* r) {
  const auto* v = present(body, "messages");
  if (v == nullptr || !v->is_array() || v->get_array().empty()) {
    return bad("messages", "must be a non-empty array of messages");
  }
  for (size_t i = 0; i < v->get_array().size(); ++i) {
    std::string name = "messages[" + std::to_string(i) + "]";
    const auto& m = v->get_array()[i];
    if (!m.is_object()) return bad(name, "must be an object with a role and a content");
    const auto* role = m.get_object().if_contains("role");
    if (role == nullptr || !role->is_string()) return bad(name + ".role", "must be a string");
    std::string_view rs = role->get_string();
    if (rs != "system" && rs != "developer" && rs != "user" && rs != "assistant" && rs != "tool") {
      return bad(name + ".role", "'" + std::string(rs) +
                                     "' is not one of system, developer, user, assistant, tool");
    }
    if (present(m.get_object(), "tool_calls") != nullptr) {
      return bad(name + ".tool_calls", "is not supported by this model yet");
    }
    ChatMessage msg;
    msg.role = rs == "developer" ? "system" : std::string(rs);
    const auto* content = present(m.get_object(), "content");
    if (content == nullptr) return bad(name + ".content", "is missing");
    SOCLE_ASSIGN_OR_RETURN(msg.content, message_content(*content, name + ".content"));
    r->messages.push_back(std::move(msg));
  }
  return Status::ok();
}

Status read_prompt(const boost::json::object& body, GenerationRequest* r) {
  const auto* v = present(body, "prompt");
  if (v == nullptr) return bad("prompt", "is missing");
  if (v->is_string()) {
    r->prompts.emplace_back(v->get_string());
    return Status::ok();
  }
  if (!v->is_array() || v->get_array().empty()) {
    return bad("prompt", "must be a string, an array of strings, or token ids");
  }
  const auto& a = v->get_array();
  if (a[0].is_number()) {  // one prompt as token ids
    SOCLE_ASSIGN_OR_RETURN(auto ids, token_array(*v, "prompt"));
    r->prompt_tokens.push_back(std::move(ids));
    return Status::ok();
  }
  if (a.size() > MAX_PROMPTS) {
    return bad("prompt", "has " + std::to_string(a.size()) + " prompts; at most " +
                             std::to_string(MAX_PROMPTS) + " are accepted in one request");
  }
  for (size_t i = 0; i < a.size(); ++i) {
    std::string name = "prompt[" + std::to_string(i) + "]";
    if (a[i].is_string()) {
      if (!r->prompt_tokens.empty()) return bad(name, "mixes text and token-id prompts");
      r->prompts.emplace_back(a[i].get_string());
    } else {
      if (!r->prompts.empty()) return bad(name, "mixes text and token-id prompts");
      SOCLE_ASSIGN_OR_RETURN(auto ids, token_array(a[i], name));
      r->prompt_tokens.push_back(std::move(ids));
    }
  }
  return Status::ok();
}

Status check_stop_length(const boost::json::string& s, const std::string& name) {
  if (s.size() <= MAX_STOP_BYTES) return Status::ok();
  return bad(name, "is " + std::to_string(s.size()) +
                       " bytes long; a stop string may have at most " +
                       std::to_string(MAX_STOP_BYTES));
}

Status read_stop(const boost::json::object& body, GenerationRequest* r) {
  if (const auto* v = present(body, "stop")) {
    if (v->is_string()) {
      SOCLE_RETURN_IF_ERROR(check_stop_length(v->get_string(), "stop"));
      if (!v->get_string().empty()) r->stop.emplace_back(v->get_string());
    } else if (v->is_array()) {
      if (v->get_array().size() > MAX_STOP_STRINGS) {
        return bad("stop", "has " + std::to_string(v->get_array().size()) + " strings; at most " +
                               std::to_string(MAX_STOP_STRINGS) + " are accepted");
      }
      for (size_t i = 0; i < v->get_array().size(); ++i) {
        const auto& s = v->get_array()[i];
        if (!s.is_string()) return bad("stop[" + std::to_string(i) + "]", "must be a string");
        SOCLE_RETURN_IF_ERROR(check_stop_length(s.get_string(), "stop[" + std::to_string(i) + "]"));
        if (!s.get_string().empty()) r->stop.emplace_back(s.get_string());
      }
    } else {
      return bad("stop", "must be a string or an array of strings");
    }
  }
  if (const auto* v = present(body, "stop_token_ids")) {
    SOCLE_ASSIGN_OR_RETURN(r->stop_token_ids, token_array(*v, "stop_token_ids"));
    if (r->stop_token_ids.size() > MAX_STOP_TOKEN_IDS) {
      return bad("stop_token_ids", "has more than " + std::to_string(MAX_STOP_TOKEN_IDS) + " ids");
    }
  }
  return Status::ok();
}

Status read_sampling(const boost::json::object& body, GenerationEndpoint endpoint,
                     GenerationRequest* r) {
  auto& s = r->sampling;
  SOCLE_RETURN_IF_ERROR(read_number(body, "temperature", &s.temperature));
  SOCLE_RETURN_IF_ERROR(read_number(body, "top_p", &s.top_p));
  SOCLE_RETURN_IF_ERROR(read_number(body, "min_p", &s.min_p));
  SOCLE_RETURN_IF_ERROR(read_number(body, "presence_penalty", &s.presence_penalty));
  SOCLE_RETURN_IF_ERROR(read_number(body, "frequency_penalty", &s.frequency_penalty));
  SOCLE_RETURN_IF_ERROR(read_number(body, "repetition_penalty", &s.repetition_penalty));
  if (const auto* v = present(body, "top_k")) {
    // vLLM's -1 means off, as 0 does.
    SOCLE_ASSIGN_OR_RETURN(int64_t k,
                           integer(*v, "top_k", -1, std::numeric_limits<int32_t>::max()));
    s.top_k = k < 0 ? 0 : static_cast<int32_t>(k);
  }
  if (const auto* v = present(body, "seed")) {
    SOCLE_ASSIGN_OR_RETURN(int64_t seed, integer(*v, "seed", std::numeric_limits<int64_t>::min(),
                                                 std::numeric_limits<int64_t>::max()));
    s.seed = static_cast<uint64_t>(seed);
  }
  if (const auto* v = present(body, "logit_bias")) {
    if (!v->is_object()) return bad("logit_bias", "must be an object of token id to bias");
    for (const auto& [key, bias] : v->get_object()) {
      std::string name = "logit_bias." + std::string(key);
      int32_t id = 0;
      auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), id);
      if (ec != std::errc() || end != key.data() + key.size() || id < 0) {
        return bad(name, "is not a token id (keys are token ids written as strings)");
      }
      SOCLE_ASSIGN_OR_RETURN(double b, number(bias, name));
      s.logit_bias.emplace_back(id, b);
    }
  }
  if (endpoint == GenerationEndpoint::CHAT) {
    if (const auto* v = present(body, "logprobs")) {
      SOCLE_ASSIGN_OR_RETURN(r->logprobs, boolean(*v, "logprobs"));
    }
    if (const auto* v = present(body, "top_logprobs")) {
      SOCLE_ASSIGN_OR_RETURN(int64_t n,
                             integer(*v, "top_logprobs", 0, engine::sampling::MAX_TOP_LOGPROBS));
      if (!r->logprobs && n > 0) return bad("top_logprobs", "needs logprobs set to true");
      s.top_logprobs = static_cast<int32_t>(n);
    }
  } else if (const auto* v = present(body, "logprobs")) {
    SOCLE_ASSIGN_OR_RETURN(int64_t n, integer(*v, "logprobs", 0, MAX_COMPLETION_LOGPROBS));
    r->logprobs = true;
    s.top_logprobs = static_cast<int32_t>(n);
  }
  // Ranges and the vocabulary come with the model: engine::sampling::validate.
  return validate(s, std::numeric_limits<int32_t>::max());
}

// Fields that would change the answer but that the engine cannot honour yet are refused
// unless they hold the value that changes nothing: best_of 1 (with n 1), an empty suffix,
// min_tokens 0, ignore_eos false.
Status check_unhonoured(const boost::json::object& body, int32_t n) {
  auto refuse = [](const char* field, const char* neutral) {
    return bad(field,
               std::string("is not supported by this model yet (only ") + neutral + "); remove it");
  };
  auto equals = [](const boost::json::value& v, double want) {
    Result<double> x = number(v, "");
    return x.is_ok() && *x == want;
  };
  if (const auto* v = present(body, "best_of"); v != nullptr && !(equals(*v, 1) && n == 1)) {
    return refuse("best_of", "1, with n 1");
  }
  if (const auto* v = present(body, "suffix")) {
    if (!(v->is_string() && v->get_string().empty())) return refuse("suffix", "\"\"");
  }
  if (const auto* v = present(body, "min_tokens"); v != nullptr && !equals(*v, 0)) {
    return refuse("min_tokens", "0");
  }
  if (const auto* v = present(body, "ignore_eos")) {
    if (!(v->is_bool() && !v->get_bool())) return refuse("ignore_eos", "false");
  }
  return Status::ok();
}

}  // namespace

Result<GenerationRequest> parse_generation_request(const boost::json::object& body,
                                                   GenerationEndpoint endpoint) {
  GenerationRequest r;
  const auto* model = present(body, "model");
  if (model == nullptr || !model->is_string() || model->get_string().empty()) {
    return bad("model", "must name a model (GET /v1/models lists them)");
  }
  r.model = std::string(model->get_string());
  for (const char* unsupported : {"tools", "tool_choice", "functions", "function_call"}) {
    if (present(body, unsupported) != nullptr) {
      return bad(unsupported, "is not supported by this model yet");
    }
  }
  if (const auto* v = present(body, "response_format")) {
    const auto* type = v->is_object() ? v->get_object().if_contains("type") : nullptr;
    std::string name = type != nullptr && type->is_string() ? std::string(type->get_string()) : "";
    if (name == "json_object") {
      r.json_object = true;
    } else if (name == "json_schema") {
      return bad("response_format",
                 "json_schema is not supported by this model yet; {\"type\": \"json_object\"} "
                 "constrains the output to a JSON object without a schema");
    } else if (name != "text") {
      return bad("response_format", "must be {\"type\": \"text\"} or {\"type\": \"json_object\"}");
    }
  }
  if (endpoint == GenerationEndpoint::CHAT) {
    SOCLE_RETURN_IF_ERROR(read_messages(body, &r));
    if (present(body, "echo") != nullptr)
      return bad("echo", "is a completions field, not a chat one");
  } else {
    SOCLE_RETURN_IF_ERROR(read_prompt(body, &r));
    if (const auto* v = present(body, "echo")) {
      SOCLE_ASSIGN_OR_RETURN(r.echo, boolean(*v, "echo"));
    }
  }
  // max_completion_tokens is the newer name; it wins when both are given.
  for (const char* name : {"max_tokens", "max_completion_tokens"}) {
    if (const auto* v = present(body, name)) {
      SOCLE_ASSIGN_OR_RETURN(r.max_tokens,
                             integer(*v, name, 1, std::numeric_limits<int32_t>::max()));
    }
  }
  if (const auto* v = present(body, "n")) {
    SOCLE_ASSIGN_OR_RETURN(int64_t n, integer(*v, "n", 1, MAX_CHOICES));
    r.n = static_cast<int32_t>(n);
  }
  size_t prompts = r.prompts.size() + r.prompt_tokens.size();
  if (prompts * static_cast<size_t>(r.n) > MAX_TOTAL_CHOICES) {
    return bad("n", "is " + std::to_string(r.n) + " with " + std::to_string(prompts) +
                        " prompts, " + std::to_string(prompts * static_cast<size_t>(r.n)) +
                        " choices; at most " + std::to_string(MAX_TOTAL_CHOICES) +
                        " are accepted in one request: lower n or send fewer prompts");
  }
  SOCLE_RETURN_IF_ERROR(check_unhonoured(body, r.n));
  if (const auto* v = present(body, "stream")) {
    SOCLE_ASSIGN_OR_RETURN(r.stream, boolean(*v, "stream"));
  }
  if (const auto* v = present(body, "stream_options")) {
    if (!v->is_object()) return bad("stream_options", "must be an object");
    if (!r.stream) return bad("stream_options", "is only allowed when stream is true");
    if (const auto* u = present(v->get_object(), "include_usage")) {
      SOCLE_ASSIGN_OR_RETURN(r.include_usage, boolean(*u, "stream_options.include_usage"));
    }
  }
  SOCLE_RETURN_IF_ERROR(read_stop(body, &r));
  SOCLE_RETURN_IF_ERROR(read_sampling(body, endpoint, &r));
  return r;
}

Result<std::vector<ChatMessage>> parse_chat_messages(const boost::json::object& body) {
  GenerationRequest r;
  SOCLE_RETURN_IF_ERROR(read_messages(body, &r));
  return std::move(r.messages);
}

}  // namespace socle::api
