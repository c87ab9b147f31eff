// The body of a generation request on one of socle's own models (POST /v1/chat/completions
// and /v1/completions), read and checked: every field socle honours is checked for type and
// range, and each error names the field. Relayed requests do not come through here: an
// upstream engine checks its own. Checks that need the model (token ids against its
// vocabulary, the prompt against its context) come later, at the model.
//
// Fields that would change the answer but that socle's engine cannot honour yet (tools,
// tool_choice, functions, function_call, a response_format json_schema; best_of,
// suffix, min_tokens and ignore_eos unless at the value that changes nothing: best_of 1
// with n 1, suffix "", min_tokens 0, ignore_eos false) are refused with 400 rather than
// ignored. Other unknown fields are ignored, as OpenAI-compatible
// servers do, so that clients sending `user`, `metadata` or `store` keep working.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "engine/sampling/sampler.h"

namespace socle::api {

enum class GenerationEndpoint { CHAT, COMPLETIONS };

struct ChatMessage {
  std::string role;  // system, user, assistant or tool ("developer" is read as system)
  std::string content;
};

// The most stop strings and stop token ids a request may give.
inline constexpr size_t MAX_STOP_STRINGS = 16;
// Bytes in one stop string: each choice keeps its own copy and matches every one at every
// token against what it holds back (up to this much), so the cost grows with its square.
inline constexpr size_t MAX_STOP_BYTES = 512;
inline constexpr size_t MAX_STOP_TOKEN_IDS = 64;
// The most choices a request may ask for.
inline constexpr int32_t MAX_CHOICES = 16;
// The most prompts a completions request may give (OpenAI's bound on an array of inputs),
// and the most choices it may ask for in all (prompts times n): each choice is a sequence
// the engine runs, so one request cannot queue unbounded work.
inline constexpr size_t MAX_PROMPTS = 2048;
inline constexpr size_t MAX_TOTAL_CHOICES = 2048;
// OpenAI's limit on the completions endpoint's integer `logprobs`.
inline constexpr int32_t MAX_COMPLETION_LOGPROBS = 5;

struct GenerationRequest {
  std::string model;
  std::vector<ChatMessage> messages;                // chat
  std::vector<std::string> prompts;                 // completions, as text
  std::vector<std::vector<int32_t>> prompt_tokens;  // completions, as token ids
  int64_t max_tokens = 0;                           // 0: not given
  int32_t n = 1;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  std::vector<std::string> stop;
  std::vector<int32_t> stop_token_ids;
  bool logprobs = false;     // report the chosen tokens' log-probabilities
  bool echo = false;         // completions: the prompt is part of the text
  bool json_object = false;  // response_format {"type": "json_object"}
  engine::sampling::SamplingParams sampling;
};

// The "messages" of a chat body, checked as parse_generation_request checks them.
Result<std::vector<ChatMessage>> parse_chat_messages(const boost::json::object& body);

// 400 (INVALID_ARGUMENT with the field as param) for a missing, mistyped or out-of-range
// field; see the file comment for what is refused and what is ignored.
Result<GenerationRequest> parse_generation_request(const boost::json::object& body,
                                                   GenerationEndpoint endpoint);

}  // namespace socle::api
