#include "train/fine_tune_data.h"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <string>
#include <utility>

#include "train/cross_entropy.h"
#include "train/jsonl_validation.h"

namespace socle::train {
namespace {

// The errors a refused file lists in its message; the rest are counted.
constexpr size_t MAX_LISTED_ERRORS = 5;

struct Conversation {
  boost::json::array messages;  // as the template receives them
  boost::json::value tools;     // null when the example has none
  std::vector<bool> trained;    // by message: an assistant message of weight 1
};

// A message's content as serving gives it to the template (api/generation.cc's
// message_content): a string, or the texts of its parts joined in order.
Result<std::string> content_text(const boost::json::value* content, const std::string& where) {
  if (content == nullptr || content->is_null()) return std::string();
  if (content->is_string()) return std::string(content->get_string());
  if (!content->is_array()) {
    return invalid_argument(where + ": content must be a string or an array of text parts");
  }
  std::string text;
  for (const auto& part : content->get_array()) {
    const auto* o = part.if_object();
    const auto* t = o != nullptr ? o->if_contains("text") : nullptr;
    if (t == nullptr || !t->is_string()) {
      return invalid_argument(where + ": every content part must be {\"type\": \"text\", ...}");
    }
    text += t->get_string();
  }
  return text;
}

// The messages as serving renders them: developer read as system, content flattened to a
// string (empty for an assistant message that only calls tools), and `weight`, which only
// training knows, left out.
Result<Conversation> read_conversation(const boost::json::object& example) {
  const auto* list = example.if_contains("messages");
  if (list == nullptr || !list->is_array() || list->get_array().empty()) {
    return invalid_argument("\"messages\" must be a non-empty array of messages");
  }
  Conversation c;
  if (const auto* tools = example.if_contains("tools"); tools != nullptr && !tools->is_null()) {
    c.tools = *tools;
  }
  const auto& messages = list->get_array();
  for (size_t i = 0; i < messages.size(); ++i) {
    std::string where = "message " + std::to_string(i);
    const auto* m = messages[i].if_object();
    const auto* role = m != nullptr ? m->if_contains("role") : nullptr;
    if (role == nullptr || !role->is_string()) {
      return invalid_argument(where + " must be an object with a string \"role\"");
    }
    boost::json::object out;
    for (const auto& [key, value] : *m) {
      if (key != "weight" && key != "content") out[key] = value;
    }
    if (role->get_string() == "developer") out["role"] = "system";
    SOCLE_ASSIGN_OR_RETURN(std::string text, content_text(m->if_contains("content"), where));
    out["content"] = text;
    bool weighted_in = true;
    if (const auto* w = m->if_contains("weight"); w != nullptr && w->is_number()) {
      weighted_in = w->to_number<double>() == 1.0;
    }
    c.trained.push_back(role->get_string() == "assistant" && weighted_in);
    c.messages.push_back(std::move(out));
  }
  return c;
}

class Renderer {
 public:
  Renderer(const ChatFormat& format, const Conversation& c) : format_(format), c_(c) {}

  // The text of the first `count` messages.
  Result<std::string> render(size_t count, bool add_generation_prompt) const {
    engine::jinja::ChatInput in;
    boost::json::array head(c_.messages.begin(),
                            c_.messages.begin() + static_cast<std::ptrdiff_t>(count));
    in.messages = std::move(head);
    in.tools = c_.tools;
    in.add_generation_prompt = add_generation_prompt;
    in.bos_token =
        format_.bos_token.empty() ? format_.chat_template->bos_token() : format_.bos_token;
    in.eos_token =
        format_.eos_token.empty() ? format_.chat_template->eos_token() : format_.eos_token;
    Result<std::string> text = format_.chat_template->render(in);
    if (!text.is_ok()) {
      return invalid_argument("the model's chat template refused the example: " +
                              text.status().message());
    }
    return text;
  }

 private:
  const ChatFormat& format_;
  const Conversation& c_;
};

struct Span {
  size_t begin = 0;  // bytes of the rendered text
  size_t end = 0;
};

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}
bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The rendered text and, for each assistant message of weight 1, the bytes it holds: from
// the end of the prompt serving would build to ask for it (the conversation before it with
// the generation prompt) to the end of the conversation up to it (its end-of-turn included).
Result<std::pair<std::string, std::vector<Span>>> render_spans(const ChatFormat& format,
                                                               const Conversation& c) {
  Renderer r(format, c);
  size_t n = c.messages.size();
  SOCLE_ASSIGN_OR_RETURN(std::string text, r.render(n, false));
  std::vector<Span> spans;
  for (size_t i = 0; i < n; ++i) {
    if (!c.trained[i]) continue;
    SOCLE_ASSIGN_OR_RETURN(std::string prompt, r.render(i, true));
    SOCLE_ASSIGN_OR_RETURN(std::string turn, r.render(i + 1, false));
    // A template that writes the assistant header whatever add_generation_prompt says (the
    // first Llama 3 template did) ends every rendering with it: that trailing header belongs
    // to the next turn. It is what the template renders for no messages at all.
    SOCLE_ASSIGN_OR_RETURN(std::string without_prompt, r.render(i, false));
    if (without_prompt == prompt) {
      Result<std::string> header = r.render(0, false);
      if (header.is_ok() && !header->empty() && ends_with(turn, *header)) {
        turn.resize(turn.size() - header->size());
      }
    }
    std::string at = "assistant message " + std::to_string(i);
    if (!starts_with(text, prompt) || !starts_with(turn, prompt) || !starts_with(text, turn)) {
      return invalid_argument(
          "the model's chat template renders the conversation before " + at +
          " differently when it ends there (it rewrites earlier turns), so the prompt that "
          "serving would build for this answer does not appear in the example; split the "
          "conversation into one example per trained answer, or give earlier answers weight 0 "
          "and end the example after the trained one");
    }
    if (!spans.empty() && prompt.size() < spans.back().end) {
      return invalid_argument("the model's chat template renders " + at +
                              " inside the previous answer; this template cannot be trained on "
                              "multi-turn examples: split them");
    }
    spans.push_back({prompt.size(), turn.size()});
  }
  return std::make_pair(std::move(text), std::move(spans));
}

Result<std::vector<int32_t>> encode(const ChatFormat& format, std::string_view text) {
  // As serving does (api/local_generation.cc): the template wrote the special tokens it
  // wants, a BOS among them, as text.
  return format.tokenizer->encode(text, false);
}

// Tokens and their trained flags. Each piece between span boundaries is tokenised on its
// own and the pieces concatenated, so each token belongs to one piece (the tokenizer has no
// character offsets). When that differs from tokenising the whole text at once (a
// pre-tokenizer that merges across a boundary, a normalizer that prepends to every piece),
// the whole text's tokens are kept, and a boundary falls after the tokens that the text before
// it shares with the whole: a token straddling the start of an answer is trained.
Result<TrainExample> tokenise(const ChatFormat& format, const std::string& text,
                              const std::vector<Span>& spans) {
  std::vector<size_t> cuts;  // 0, s1, e1, s2, e2, ..., text.size()
  cuts.push_back(0);
  for (const Span& s : spans) {
    cuts.push_back(s.begin);
    cuts.push_back(s.end);
  }
  cuts.push_back(text.size());
  TrainExample ex;
  std::vector<bool> trained;
  for (size_t k = 0; k + 1 < cuts.size(); ++k) {
    SOCLE_ASSIGN_OR_RETURN(
        std::vector<int32_t> ids,
        encode(format, std::string_view(text).substr(cuts[k], cuts[k + 1] - cuts[k])));
    ex.tokens.insert(ex.tokens.end(), ids.begin(), ids.end());
    trained.insert(trained.end(), ids.size(), k % 2 == 1);
  }
  SOCLE_ASSIGN_OR_RETURN(std::vector<int32_t> whole, encode(format, text));
  if (whole != ex.tokens) {
    auto boundary = [&](size_t cut) -> Result<size_t> {
      SOCLE_ASSIGN_OR_RETURN(std::vector<int32_t> head,
                             encode(format, std::string_view(text).substr(0, cut)));
      auto [a, b] = std::mismatch(head.begin(), head.end(), whole.begin(), whole.end());
      return static_cast<size_t>(b - whole.begin());
    };
    trained.assign(whole.size(), false);
    for (const Span& s : spans) {
      SOCLE_ASSIGN_OR_RETURN(size_t from, boundary(s.begin));
      SOCLE_ASSIGN_OR_RETURN(size_t to, boundary(s.end));
      for (size_t t = from; t < to; ++t)
        trained[t] = true;
    }
    ex.tokens = std::move(whole);
  }
  ex.labels.resize(ex.tokens.size());
  for (size_t t = 0; t < ex.tokens.size(); ++t)
    ex.labels[t] = trained[t] ? ex.tokens[t] : IGNORE_LABEL;
  return ex;
}

// Labels the loss uses: row t of the logits predicts labels[t + 1], so labels[0] never counts.
int64_t count_trained(const TrainExample& ex) {
  int64_t n = 0;
  for (size_t t = 1; t < ex.labels.size(); ++t)
    n += ex.labels[t] != IGNORE_LABEL ? 1 : 0;
  return n;
}

Result<TrainExample> prepare_example(const boost::json::object& example, const ChatFormat& format) {
  if (format.tokenizer == nullptr || format.chat_template == nullptr) {
    return invalid_argument(
        "the base model has no chat template or no tokenizer; it cannot be fine-tuned on chat "
        "examples");
  }
  SOCLE_ASSIGN_OR_RETURN(Conversation c, read_conversation(example));
  SOCLE_ASSIGN_OR_RETURN(auto rendered, render_spans(format, c));
  SOCLE_ASSIGN_OR_RETURN(TrainExample ex, tokenise(format, rendered.first, rendered.second));
  if (count_trained(ex) == 0) {
    return invalid_argument(
        "the example has no token to learn once rendered (an empty answer at its very start?)");
  }
  return ex;
}

}  // namespace

Result<int64_t> count_chat_example_tokens(const boost::json::object& example,
                                          const ChatFormat& format) {
  SOCLE_ASSIGN_OR_RETURN(TrainExample ex, prepare_example(example, format));
  return static_cast<int64_t>(ex.tokens.size());
}

Result<PreparedData> prepare_chat_examples(std::string_view jsonl, const ChatFormat& format,
                                           int64_t context_tokens) {
  // The file's shape first, by the same checks (and codes) as an upload's validation; the
  // token counts come from the preparation below, which would otherwise run twice.
  ValidationOptions options;
  options.max_reported_errors = MAX_LISTED_ERRORS;
  ValidationReport report = validate_chat_jsonl(jsonl, options);
  PreparedData out;
  if (report.ok()) {
    int64_t line_no = 0;
    std::string_view rest = jsonl;
    while (!rest.empty()) {
      size_t nl = rest.find('\n');
      std::string_view line = rest.substr(0, nl);
      rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
      boost::system::error_code ec;
      boost::json::value v = boost::json::parse(line, ec);
      auto fail = [&](std::string code, std::string message) {
        ++report.error_count;
        if (report.errors.size() < MAX_LISTED_ERRORS) {
          report.errors.push_back({line_no, std::move(code), std::move(message)});
        }
      };
      if (ec || !v.is_object()) {
        fail("invalid_json", "the line is not a JSON object");
        continue;
      }
      Result<TrainExample> ex = prepare_example(v.get_object(), format);
      if (!ex.is_ok()) {
        fail("invalid_example", ex.status().message());
        continue;
      }
      auto n = static_cast<int64_t>(ex->tokens.size());
      if (context_tokens > 0 && n > context_tokens) {
        fail("example_too_long", "the example is " + std::to_string(n) +
                                     " tokens; the base model's context is " +
                                     std::to_string(context_tokens));
        continue;
      }
      out.tokens += n;
      out.trained_tokens += count_trained(*ex);
      out.max_tokens = std::max(out.max_tokens, n);
      out.examples.push_back(std::move(ex).value());
    }
  }
  if (report.error_count == 0) return out;
  std::string message = "the fine-tuning file has " + std::to_string(report.error_count) +
                        (report.error_count == 1 ? " error" : " errors") + ": ";
  for (size_t i = 0; i < report.errors.size(); ++i) {
    const DataError& e = report.errors[i];
    if (i > 0) message += "; ";
    message += e.line > 0 ? "line " + std::to_string(e.line) + " " : std::string();
    message += "(" + e.code + "): " + e.message;
  }
  if (report.error_count > static_cast<int64_t>(report.errors.size())) message += "; ...";
  return Status(StatusCode::INVALID_ARGUMENT, message, {}, report.errors.front().code);
}

}  // namespace socle::train
