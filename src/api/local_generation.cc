// POST /v1/chat/completions and /v1/completions on a model socle runs: the chat template, the
// runner's sequences (one per prompt and choice), streaming as chat.completion.chunk or
// text_completion events, stop strings, log-probabilities, exact usage.
#include <boost/json/array.hpp>
#include <mutex>

#include "api/auth.h"
#include "api/errors.h"
#include "api/inference_common.h"
#include "api/local_inference.h"
#include "base/json.h"
#include "base/log.h"
#include "engine/sampling/stop_matcher.h"
#include "engine/tokenizer/stream_decoder.h"

namespace socle::api {
namespace {

using engine::scheduler::FinishReason;
using engine::scheduler::Runner;
using engine::scheduler::SequenceRequest;
using engine::scheduler::SequenceSink;
namespace sampling = engine::sampling;

// HTTP status recorded for a request whose client went away before the end (nginx's).
constexpr int STATUS_CLIENT_CLOSED = 499;

using json::present;

// The model's configured sampling defaults for the fields the request left out.
sampling::SamplingParams with_defaults(const boost::json::object& body,
                                       const sampling::SamplingParams& asked,
                                       const sampling::SamplingParams& defaults) {
  sampling::SamplingParams p = asked;
  if (!present(body, "temperature")) p.temperature = defaults.temperature;
  if (!present(body, "top_p")) p.top_p = defaults.top_p;
  if (!present(body, "top_k")) p.top_k = defaults.top_k;
  if (!present(body, "min_p")) p.min_p = defaults.min_p;
  if (!present(body, "presence_penalty")) p.presence_penalty = defaults.presence_penalty;
  if (!present(body, "frequency_penalty")) p.frequency_penalty = defaults.frequency_penalty;
  if (!present(body, "repetition_penalty")) p.repetition_penalty = defaults.repetition_penalty;
  return p;
}

const char* finish_reason_text(FinishReason r) {
  return r == FinishReason::LENGTH ? "length" : "stop";
}

// One request's state, shared by its choices' sinks (on the runner's thread) and the
// responder's cancel hook (on an I/O thread).
struct Generation {
  Generation(Services& services, providers::LocalModel& engine_model, tenancy::Principal p)
      : s(services), local(engine_model), principal(std::move(p)) {}

  Services& s;
  providers::LocalModel& local;
  tenancy::Principal principal;
  GenerationEndpoint kind = GenerationEndpoint::CHAT;
  std::string model;
  std::string endpoint;
  std::string request_id;
  std::string id;  // chatcmpl-... / cmpl-...
  int64_t created = 0;
  int64_t arrived_ms = 0;
  bool stream = false;
  bool include_usage = false;
  bool logprobs = false;
  bool token_ids_as_text = false;                    // vLLM's return_tokens_as_token_ids
  std::optional<boost::json::array> search_results;  // chat with documents
  int64_t reserved = 0;
  int64_t prompt_tokens = 0;
  http::ResponderPtr out;
  Admitted admitted;

  struct Choice {
    std::string text;
    std::string pending;            // streamed: text not yet sent
    boost::json::array lp_content;  // chat logprobs entries (all, or not yet sent)
    // completions logprobs
    boost::json::array tokens, token_logprobs, top_logprobs, text_offset;
    int64_t generated = 0;
    bool done = false;
    FinishReason reason = FinishReason::STOP;
    uint64_t seq = 0;
  };
  std::mutex mu;
  std::vector<Choice> choices;  // guarded by mu
  size_t remaining = 0;         // guarded by mu
  int64_t first_token_ms = 0;   // guarded by mu
  bool failed = false;          // guarded by mu

  std::string token_text(int32_t token) const {
    if (token_ids_as_text) return "token_id:" + std::to_string(token);
    return local.tokenizer().decode(std::span<const int32_t>(&token, 1),
                                    engine::tokenizer::DecodeOptions{false, false});
  }

  boost::json::array token_bytes(int32_t token) const {
    boost::json::array b;
    for (unsigned char c :
         local.tokenizer().decode_bytes(std::span<const int32_t>(&token, 1), false))
      b.emplace_back(static_cast<int>(c));
    return b;
  }

  // Records the token's log-probabilities on choice `c` (under mu).
  void add_logprobs(Choice& c, const sampling::Sample& sample, size_t text_offset) {
    if (kind == GenerationEndpoint::CHAT) {
      boost::json::array top;
      for (const auto& t : sample.top) {
        top.emplace_back(boost::json::object{{"token", token_text(t.token)},
                                             {"logprob", t.logprob},
                                             {"bytes", token_bytes(t.token)}});
      }
      c.lp_content.emplace_back(boost::json::object{{"token", token_text(sample.token)},
                                                    {"logprob", sample.logprob},
                                                    {"bytes", token_bytes(sample.token)},
                                                    {"top_logprobs", std::move(top)}});
      return;
    }
    c.tokens.emplace_back(token_text(sample.token));
    c.token_logprobs.emplace_back(sample.logprob);
    boost::json::object top;
    for (const auto& t : sample.top)
      top[token_text(t.token)] = t.logprob;
    c.top_logprobs.emplace_back(std::move(top));
    c.text_offset.emplace_back(static_cast<int64_t>(text_offset));
  }

  boost::json::value logprobs_json(Choice& c) {
    if (!logprobs) return nullptr;
    if (kind == GenerationEndpoint::CHAT) {
      if (stream && c.lp_content.empty()) return nullptr;  // a chunk without tokens (OpenAI)
      return boost::json::object{{"content", std::exchange(c.lp_content, {})}};
    }
    return boost::json::object{{"tokens", std::exchange(c.tokens, {})},
                               {"token_logprobs", std::exchange(c.token_logprobs, {})},
                               {"top_logprobs", std::exchange(c.top_logprobs, {})},
                               {"text_offset", std::exchange(c.text_offset, {})}};
  }

  boost::json::object chunk(boost::json::array choices_json) const {
    return boost::json::object{
        {"id", id},
        {"object", kind == GenerationEndpoint::CHAT ? "chat.completion.chunk" : "text_completion"},
        {"created", created},
        {"model", model},
        {"choices", std::move(choices_json)}};
  }

  void send_event(const boost::json::object& o) { out->write("data: " + json::dump(o) + "\n\n"); }

  // A streamed piece of choice `index` (under mu): its pending text and log-probabilities,
  // and the finish reason once done.
  void stream_piece(size_t index, bool finishing) {
    Choice& c = choices[index];
    if (!finishing && c.pending.empty()) return;  // held back (a partial character or stop)
    boost::json::object choice{{"index", static_cast<int64_t>(index)}};
    if (kind == GenerationEndpoint::CHAT) {
      boost::json::object delta;
      if (!c.pending.empty() || !finishing) delta["content"] = std::exchange(c.pending, {});
      choice["delta"] = std::move(delta);
    } else {
      choice["text"] = std::exchange(c.pending, {});
    }
    choice["logprobs"] = logprobs_json(c);
    choice["finish_reason"] =
        finishing ? boost::json::value(finish_reason_text(c.reason)) : boost::json::value(nullptr);
    send_event(chunk(boost::json::array{std::move(choice)}));
  }

  // Completions with echo and logprobs: the prompt's tokens first, the first without a
  // log-probability (nothing predicts it), as OpenAI's legacy completions give them.
  void on_prompt_logprobs(size_t index, std::span<const int32_t> prompt,
                          std::span<const sampling::Sample> samples) {
    std::lock_guard lock(mu);
    Choice& c = choices[index];
    size_t offset = c.text.size();
    std::string first = token_text(prompt.front());
    c.tokens.emplace_back(first);
    c.token_logprobs.emplace_back(nullptr);
    c.top_logprobs.emplace_back(nullptr);
    c.text_offset.emplace_back(static_cast<int64_t>(offset));
    offset += first.size();
    for (const sampling::Sample& sample : samples) {
      add_logprobs(c, sample, offset);
      offset += token_text(sample.token).size();
    }
  }

  void on_text(size_t index, const std::string& text, const sampling::Sample* sample) {
    std::lock_guard lock(mu);
    if (first_token_ms == 0) first_token_ms = s.clock.unix_ms();
    Choice& c = choices[index];
    if (sample != nullptr && logprobs) add_logprobs(c, *sample, c.text.size());
    c.text += text;
    if (stream) {
      c.pending += text;
      stream_piece(index, false);
    }
  }

  void on_finish(size_t index, const std::string& rest, FinishReason reason, int64_t generated) {
    std::lock_guard lock(mu);
    Choice& c = choices[index];
    c.text += rest;
    c.pending += rest;
    c.generated = generated;
    c.reason = reason;
    c.done = true;
    if (reason == FinishReason::ERROR) failed = true;
    if (stream && reason != FinishReason::CANCELLED && reason != FinishReason::ERROR) {
      stream_piece(index, true);
    }
    if (--remaining == 0) complete();
  }

  // Every choice is done (under mu): the answer's end, the usage record, the settlement.
  void complete() {
    int64_t completion = 0;
    bool cancelled = false;
    for (const Choice& c : choices) {
      completion += c.generated;
      cancelled = cancelled || c.reason == FinishReason::CANCELLED;
    }
    int status = 200;
    boost::json::object usage{{"prompt_tokens", prompt_tokens},
                              {"completion_tokens", completion},
                              {"total_tokens", prompt_tokens + completion}};
    if (cancelled) {
      status = STATUS_CLIENT_CLOSED;
    } else if (failed) {
      status = 500;
      Status err = internal_error("the model failed to run this request; the server log says why");
      if (stream) {
        send_event(boost::json::object{
            {"error", {{"message", err.message()}, {"type", "server_error"}, {"code", nullptr}}}});
        out->finish();
      } else {
        out->send(error_response(err));
      }
    } else if (stream) {
      if (include_usage) {
        boost::json::object u = chunk(boost::json::array());
        u["usage"] = usage;
        send_event(u);
      }
      out->write("data: [DONE]\n\n");
      out->finish();
    } else {
      boost::json::array list;
      for (size_t i = 0; i < choices.size(); ++i) {
        Choice& c = choices[i];
        boost::json::object choice{{"index", static_cast<int64_t>(i)}};
        if (kind == GenerationEndpoint::CHAT) {
          choice["message"] = boost::json::object{{"role", "assistant"}, {"content", c.text}};
        } else {
          choice["text"] = c.text;
        }
        choice["logprobs"] = logprobs_json(c);
        choice["finish_reason"] = finish_reason_text(c.reason);
        list.emplace_back(std::move(choice));
      }
      boost::json::object body{
          {"id", id},
          {"object", kind == GenerationEndpoint::CHAT ? "chat.completion" : "text_completion"},
          {"created", created},
          {"model", model},
          {"choices", std::move(list)},
          {"usage", usage}};
      if (search_results) body["search_results"] = *search_results;
      http::Response r = json_response(200, body);
      for (const auto& [k, v] : admitted.headers)
        r.set_header(k, v);
      out->send(std::move(r));
    }
    if (admitted.ticket) admitted.ticket->settle(prompt_tokens + completion);
    tenancy::UsageRecord u = usage_record(principal, model, endpoint, request_id, arrived_ms);
    u.provider = "local";
    u.status = status;
    u.prompt_tokens = prompt_tokens;
    u.completion_tokens = completion;
    int64_t now = s.clock.unix_ms();
    u.latency_s = static_cast<double>(now - arrived_ms) / 1000.0;
    u.first_token_s = first_token_ms > 0 ? static_cast<double>(first_token_ms - arrived_ms) / 1000.0
                                         : u.latency_s;
    u.attempts = 1;
    s.usage.record(u);
    admitted.in_flight.reset();  // recorded: a stopping server need not wait for the rest
  }
};

// One choice's output: tokens to text (whole characters), stop strings held back and cut.
class ChoiceSink final : public SequenceSink {
 public:
  // `prompt`: the prompt's ids, when its log-probabilities come (echo with logprobs).
  ChoiceSink(std::shared_ptr<Generation> g, size_t index, std::vector<std::string> stops,
             std::string echo, std::vector<int32_t> prompt)
      : g_(std::move(g)),
        index_(index),
        decoder_(g_->local.tokenizer(), true),
        stops_(std::move(stops)),
        echo_(std::move(echo)),
        prompt_(std::move(prompt)) {}

  void on_prompt_logprobs(std::span<const sampling::Sample> samples) override {
    g_->on_prompt_logprobs(index_, prompt_, samples);
  }

  bool on_token(const sampling::Sample& sample) override {
    if (!echo_.empty()) g_->on_text(index_, std::exchange(echo_, {}), nullptr);
    sampling::StopMatcher::Step step = stops_.push(decoder_.step(sample.token));
    stopped_ = step.stopped;
    g_->on_text(index_, step.text, &sample);
    return !stopped_;
  }

  void on_finish(FinishReason reason, int64_t generated) override {
    std::string rest = std::exchange(echo_, {});
    if (!stopped_) {
      sampling::StopMatcher::Step step = stops_.push(decoder_.finish());
      rest += step.text;
      if (!step.stopped) rest += stops_.finish();
    }
    g_->on_finish(index_, rest, reason, generated);
  }

 private:
  std::shared_ptr<Generation> g_;
  size_t index_;
  engine::tokenizer::StreamDecoder decoder_;
  sampling::StopMatcher stops_;
  std::string echo_;  // completions with echo: the prompt, sent before the first token
  std::vector<int32_t> prompt_;
  bool stopped_ = false;
};

// The prompts' token ids: the chat template's rendering, or the completions prompts.
Result<std::vector<std::vector<int32_t>>> prompts_of(const providers::LocalModel& local,
                                                     const GenerationRequest& r,
                                                     GenerationEndpoint kind) {
  std::vector<std::vector<int32_t>> out;
  if (kind == GenerationEndpoint::CHAT) {
    SOCLE_ASSIGN_OR_RETURN(std::vector<int32_t> ids, chat_prompt_ids(local, r.messages));
    out.push_back(std::move(ids));
    return out;
  }
  for (const std::string& p : r.prompts) {
    SOCLE_ASSIGN_OR_RETURN(std::vector<int32_t> ids, local.tokenizer().encode(p, true));
    out.push_back(std::move(ids));
  }
  for (const auto& ids : r.prompt_tokens)
    out.push_back(ids);
  return out;
}

}  // namespace

Result<std::vector<int32_t>> chat_prompt_ids(const providers::LocalModel& local,
                                             const std::vector<ChatMessage>& messages) {
  const engine::jinja::ChatTemplate* t = local.chat_template();
  if (t == nullptr) {
    return invalid_argument("this model has no chat template; use /v1/completions", "model");
  }
  boost::json::array list;
  for (const ChatMessage& m : messages)
    list.emplace_back(boost::json::object{{"role", m.role}, {"content", m.content}});
  engine::jinja::ChatInput in;
  in.messages = std::move(list);
  in.bos_token = local.bos_token();
  in.eos_token = local.eos_token();
  Result<std::string> text = t->render(in);
  if (!text.is_ok()) {
    return invalid_argument(
        "the model's chat template refused these messages: " + text.status().message(), "messages");
  }
  // The template writes the special tokens it wants (a BOS among them) as text.
  return local.tokenizer().encode(*text, false);
}

void serve_local_generation(Services& s, GenerationEndpoint kind, const std::string& request_id,
                            const tenancy::Principal& p, providers::Model* model,
                            const boost::json::object& body, http::ResponderPtr out,
                            LocalGenerationExtras extras) {
  const std::shared_ptr<const providers::AdapterModel>& adapter = extras.adapter;
  providers::LocalModel& local = *model->local();
  Result<GenerationRequest> parsed = parse_generation_request(body, kind);
  if (refuse(parsed.status_or_ok(), out)) return;
  GenerationRequest& r = *parsed;
  bool token_ids_as_text = false;
  if (const auto* v = present(body, "return_tokens_as_token_ids")) {
    if (!v->is_bool()) {
      refuse(invalid_argument("'return_tokens_as_token_ids' must be true or false",
                              "return_tokens_as_token_ids"),
             out);
      return;
    }
    token_ids_as_text = v->as_bool();
  }
  Result<std::vector<std::vector<int32_t>>> prompts = prompts_of(local, r, kind);
  if (refuse(prompts.status_or_ok(), out)) return;
  const char* prompt_field = kind == GenerationEndpoint::CHAT ? "messages" : "prompt";
  int64_t context = local.context_length();
  int64_t vocab = local.vocab_size();
  sampling::SamplingParams params = with_defaults(body, r.sampling, local.settings().sampling);
  if (refuse(sampling::validate(params, vocab), out)) return;
  for (int32_t id : r.stop_token_ids) {
    if (id < 0 || id >= vocab) {
      refuse(invalid_argument("stop_token_ids holds " + std::to_string(id) +
                                  ", outside the model's vocabulary of " + std::to_string(vocab),
                              "stop_token_ids"),
             out);
      return;
    }
  }
  std::shared_ptr<const sampling::TokenTexts> json_texts;
  if (r.json_object) {
    if (local.stop_token_ids().empty() && r.stop_token_ids.empty()) {
      refuse(invalid_argument("response_format json_object needs a token that ends the output "
                              "once the object is closed; this model has no end-of-sequence "
                              "token: give one in stop_token_ids",
                              "response_format"),
             out);
      return;
    }
    json_texts = local.token_texts();
  }
  // Every prompt fits with the tokens asked for; those not given fill the context.
  std::vector<int64_t> max_tokens;
  int64_t prompt_tokens = 0;
  int64_t reserved = 0;
  for (size_t i = 0; i < prompts->size(); ++i) {
    const auto& ids = (*prompts)[i];
    auto n = static_cast<int64_t>(ids.size());
    std::string which = prompts->size() > 1 ? "prompt " + std::to_string(i) : "the prompt";
    if (n == 0) {
      refuse(invalid_argument(which + " has no tokens", prompt_field), out);
      return;
    }
    for (int32_t id : ids) {
      if (id < 0 || id >= vocab) {
        refuse(invalid_argument(which + " holds token " + std::to_string(id) +
                                    ", outside the model's vocabulary of " + std::to_string(vocab),
                                prompt_field),
               out);
        return;
      }
    }
    if (n >= context) {
      refuse(invalid_argument("this model's context holds " + std::to_string(context) +
                                  " tokens; " + which + " has " + std::to_string(n) +
                                  ", which leaves no room for an answer: shorten it",
                              prompt_field),
             out);
      return;
    }
    int64_t room = context - n;
    int64_t m = r.max_tokens > 0 ? r.max_tokens : room;
    if (r.max_tokens <= 0 && model->spec().default_max_tokens > 0) {
      m = std::min(room, model->spec().default_max_tokens);
    }
    if (m > room) {
      refuse(invalid_argument("this model's context holds " + std::to_string(context) +
                                  " tokens; " + which + " has " + std::to_string(n) +
                                  " and max_tokens asks for " + std::to_string(m) +
                                  " more: lower max_tokens to at most " + std::to_string(room),
                              "max_tokens"),
             out);
      return;
    }
    max_tokens.push_back(m);
    prompt_tokens += n;
    reserved += n + r.n * m;
  }

  auto g = std::make_shared<Generation>(s, local, p);
  g->kind = kind;
  g->model = adapter ? adapter->name : model->spec().name;
  g->endpoint = kind == GenerationEndpoint::CHAT ? "/v1/chat/completions" : "/v1/completions";
  g->request_id = request_id;
  g->id = (kind == GenerationEndpoint::CHAT ? "chatcmpl-" : "cmpl-") + request_id;
  g->search_results = std::move(extras.search_results);
  g->arrived_ms = s.clock.unix_ms();
  g->created = g->arrived_ms / 1000;
  g->stream = r.stream;
  g->include_usage = r.include_usage;
  g->logprobs = r.logprobs;
  g->token_ids_as_text = token_ids_as_text;
  g->prompt_tokens = prompt_tokens;
  g->reserved = reserved;
  g->out = out;
  std::optional<Admitted> admitted =
      admit_or_refuse(s, p, g->model, g->endpoint, g->request_id, g->arrived_ms, reserved, out);
  if (!admitted) return;
  g->admitted = std::move(*admitted);
  size_t n_choices = prompts->size() * static_cast<size_t>(r.n);
  g->choices.resize(n_choices);
  g->remaining = n_choices;

  std::vector<int32_t> stop_ids = local.stop_token_ids();
  stop_ids.insert(stop_ids.end(), r.stop_token_ids.begin(), r.stop_token_ids.end());
  if (g->stream) {
    http::Headers headers = g->admitted.headers;
    headers.emplace_back("content-type", "text/event-stream");
    headers.emplace_back("cache-control", "no-cache");
    out->start_stream(200, std::move(headers));
    if (g->search_results) {
      boost::json::object first = g->chunk(boost::json::array());
      first["search_results"] = *g->search_results;
      g->send_event(first);
    }
    if (kind == GenerationEndpoint::CHAT) {
      for (size_t i = 0; i < n_choices; ++i) {
        g->send_event(g->chunk(boost::json::array{
            boost::json::object{{"index", static_cast<int64_t>(i)},
                                {"delta", {{"role", "assistant"}, {"content", ""}}},
                                {"logprobs", nullptr},
                                {"finish_reason", nullptr}}}));
      }
    }
  }
  Runner& runner = *local.runner();
  std::vector<uint64_t> ids;
  for (size_t i = 0; i < n_choices; ++i) {
    size_t prompt_index = i / static_cast<size_t>(r.n);
    SequenceRequest sr;
    sr.prompt = (*prompts)[prompt_index];
    sr.max_tokens = max_tokens[prompt_index];
    sr.sampling = params;
    if (params.seed) sr.sampling.seed = *params.seed + i % static_cast<size_t>(r.n);
    sr.stop_token_ids = stop_ids;
    sr.user = std::to_string(p.user_id);
    if (adapter) sr.lora = adapter->adapter;
    sr.json_object = json_texts;
    std::string echo;
    if (r.echo && prompt_index < r.prompts.size()) {
      // A text prompt comes back as it was sent, without the special tokens encoding added.
      echo = r.prompts[prompt_index];
    } else if (r.echo) {
      echo = local.tokenizer().decode(sr.prompt, engine::tokenizer::DecodeOptions{false, false});
    }
    std::vector<int32_t> prompt_ids;
    if (r.echo && r.logprobs) {
      sr.prompt_logprobs = params.top_logprobs;
      prompt_ids = sr.prompt;
    }
    auto sink = std::make_shared<ChoiceSink>(g, i, r.stop, std::move(echo), std::move(prompt_ids));
    Result<uint64_t> id = runner.submit(std::move(sr), sink);
    if (!id.is_ok()) {
      // Checked above; a refusal here is a defect. Its sink never runs: finish it by hand.
      log::error("the runner refused a checked request", {{"error", id.status().message()}});
      sink->on_finish(FinishReason::ERROR, 0);
      continue;
    }
    ids.push_back(*id);
  }
  out->on_cancel([&runner, ids] {
    for (uint64_t id : ids)
      runner.cancel(id);
  });
}

}  // namespace socle::api
