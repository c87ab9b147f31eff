#include "engine/tokenizer/tokenizer.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "base/file.h"
#include "base/json.h"
#include "engine/format/gguf.h"
#include "engine/tokenizer/config_fields.h"
#include "engine/tokenizer/decoder.h"
#include "engine/tokenizer/gguf_vocab.h"
#include "engine/tokenizer/model.h"
#include "engine/tokenizer/normalizer.h"
#include "engine/tokenizer/post_processor.h"
#include "engine/tokenizer/pre_tokenizer.h"
#include "engine/tokenizer/unicode.h"

namespace socle::engine::tokenizer {

namespace {

constexpr std::string_view TOKENIZER_FILE = "tokenizer.json";
constexpr std::string_view CONFIG_FILE = "tokenizer_config.json";
constexpr std::string_view GGUF_EXTENSION = ".gguf";
constexpr std::string_view GGUF_MAGIC = "GGUF";

const boost::json::value& field_or_null(const boost::json::object& o, std::string_view key) {
  static const boost::json::value null_value;
  const auto* v = o.if_contains(key);
  return v == nullptr ? null_value : *v;
}

// Whether `file` is a GGUF file: by its name, or by its first four bytes.
bool is_gguf_path(const std::filesystem::path& file) {
  if (file.extension() == GGUF_EXTENSION) return true;
  std::ifstream in(file, std::ios::binary);
  char magic[GGUF_MAGIC.size()] = {};
  in.read(magic, sizeof(magic));
  return in.gcount() == static_cast<std::streamsize>(sizeof(magic)) &&
         std::string_view(magic, sizeof(magic)) == GGUF_MAGIC;
}

// The one .gguf file in `dir` (which holds no tokenizer.json).
Result<std::filesystem::path> single_gguf_in(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::vector<fs::path> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_regular_file(ec) && entry.path().extension() == GGUF_EXTENSION)
      found.push_back(entry.path());
  }
  if (ec) return invalid_argument("cannot list " + dir.string() + ": " + ec.message());
  if (found.size() == 1) return found[0];
  if (found.empty()) {
    return not_found(dir.string() + " holds neither " + std::string(TOKENIZER_FILE) +
                     " nor a .gguf file");
  }
  std::sort(found.begin(), found.end());
  std::string names;
  for (const auto& f : found)
    names += (names.empty() ? "" : ", ") + f.filename().string();
  return invalid_argument(dir.string() + " holds no " + std::string(TOKENIZER_FILE) + " and " +
                          std::to_string(found.size()) + " .gguf files (" + names +
                          "): name the one to use");
}

}  // namespace

Tokenizer::Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Result<Tokenizer> Tokenizer::from_json(std::string_view tokenizer_json,
                                       std::string_view config_json) {
  SOCLE_ASSIGN_OR_RETURN(boost::json::value root, json::parse(tokenizer_json));
  if (!root.is_object()) return invalid_argument("tokenizer.json must hold a JSON object");
  boost::json::object config;
  if (!config_json.empty()) {
    SOCLE_ASSIGN_OR_RETURN(boost::json::value c, json::parse(config_json));
    if (!c.is_object()) return invalid_argument("tokenizer_config.json must hold a JSON object");
    config = std::move(c.as_object());
  }
  return from_json(root.as_object(), config);
}

Result<Tokenizer> Tokenizer::from_json(const boost::json::object& o,
                                       const boost::json::object& config) {
  // "truncation" and "padding" are per-call options that transformers switches off for a
  // plain encode (set_truncation_and_padding), as transformers.js ignores them: so does socle.
  TokenizerParts parts;
  SOCLE_ASSIGN_OR_RETURN(parts.normalizer, normalizer_from_json(field_or_null(o, "normalizer")));
  SOCLE_ASSIGN_OR_RETURN(parts.pre_tokenizer,
                         pre_tokenizer_from_json(field_or_null(o, "pre_tokenizer")));
  const auto* model = o.if_contains("model");
  if (model == nullptr) return invalid_argument("tokenizer.json has no 'model'");
  SOCLE_ASSIGN_OR_RETURN(parts.model, model_from_json(*model));
  SOCLE_ASSIGN_OR_RETURN(parts.post_processor,
                         post_processor_from_json(field_or_null(o, "post_processor")));
  SOCLE_ASSIGN_OR_RETURN(parts.decoder, decoder_from_json(field_or_null(o, "decoder")));
  if (const auto* added = o.if_contains("added_tokens"); added != nullptr && added->is_array()) {
    SOCLE_ASSIGN_OR_RETURN(parts.added, AddedTokens::from_json(added->as_array()));
  }
  return from_parts(std::move(parts), config);
}

Result<Tokenizer> Tokenizer::from_parts(TokenizerParts parts, const boost::json::object& config) {
  if (!parts.model) return invalid_argument("a tokenizer needs a model");
  Tokenizer tok;
  tok.normalizer_ = std::move(parts.normalizer);
  tok.pre_tokenizer_ = std::move(parts.pre_tokenizer);
  tok.model_ = std::move(parts.model);
  tok.post_processor_ = std::move(parts.post_processor);
  tok.decoder_ = std::move(parts.decoder);
  tok.added_ = std::move(parts.added);
  SOCLE_ASSIGN_OR_RETURN(tok.clean_up_tokenization_spaces_,
                         bool_field_or(config, "clean_up_tokenization_spaces", true, "config"));

  tok.special_.assign(tok.vocab_size(), false);
  for (const auto& t : tok.added_.tokens()) {
    if (t.special) tok.special_[static_cast<size_t>(t.id)] = true;
  }
  if (const auto* extra = config.if_contains("additional_special_tokens");
      extra != nullptr && extra->is_array()) {
    for (const auto& e : extra->as_array()) {
      if (!e.is_string()) continue;
      if (auto id = tok.token_to_id(std::string_view(e.as_string())))
        tok.special_[static_cast<size_t>(*id)] = true;
    }
  }
  if (auto bos = config_token(config, "bos_token")) tok.bos_id_ = tok.token_to_id(*bos);
  if (auto eos = config_token(config, "eos_token")) tok.eos_id_ = tok.token_to_id(*eos);
  return tok;
}

Result<TokenizerJsonFiles> read_tokenizer_json_files(const std::string& tokenizer_json_path) {
  namespace fs = std::filesystem;
  TokenizerJsonFiles files;
  SOCLE_ASSIGN_OR_RETURN(files.tokenizer, read_file(tokenizer_json_path));
  fs::path config_path = fs::path(tokenizer_json_path).parent_path() / CONFIG_FILE;
  std::error_code ec;
  if (fs::exists(config_path, ec)) {
    SOCLE_ASSIGN_OR_RETURN(files.config, read_file(config_path.string()));
  }
  return files;
}

Result<Tokenizer> Tokenizer::load(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path file(path);
  if (fs::is_directory(file, ec)) {
    if (fs::exists(file / TOKENIZER_FILE, ec)) {
      file /= TOKENIZER_FILE;
    } else {
      SOCLE_ASSIGN_OR_RETURN(file, single_gguf_in(file));
    }
  }
  if (is_gguf_path(file)) {
    SOCLE_ASSIGN_OR_RETURN(GgufFile gguf, GgufFile::open(file.string()));
    auto tok = tokenizer_from_gguf(gguf);
    if (!tok.is_ok()) {
      return Status(tok.status().code(), file.string() + ": " + tok.status().message());
    }
    return tok;
  }
  SOCLE_ASSIGN_OR_RETURN(TokenizerJsonFiles files, read_tokenizer_json_files(file.string()));
  auto tok = from_json(files.tokenizer, files.config);
  if (!tok.is_ok()) {
    return Status(tok.status().code(), file.string() + ": " + tok.status().message());
  }
  return tok;
}

Status Tokenizer::encode_normalized(std::string_view text, bool first_section,
                                    std::vector<int32_t>& ids) const {
  if (text.empty()) return Status::ok();
  std::vector<std::string> pieces{std::string(text)};
  if (pre_tokenizer_) pre_tokenizer_->pre_tokenize(pieces, first_section);
  return model_->encode(pieces, ids);
}

Status Tokenizer::encode_text(std::string_view text, std::vector<int32_t>& ids) const {
  if (!utf8_valid(text)) return invalid_argument("the text to tokenize is not valid UTF-8");
  std::vector<Section> sections = added_.split(text, false);
  for (size_t i = 0; i < sections.size(); ++i) {
    const Section& s = sections[i];
    if (s.token) {
      ids.push_back(*s.token);
      continue;
    }
    if (s.text.empty()) continue;
    std::string normalized = normalizer_ ? normalizer_->normalize(s.text) : s.text;
    if (!added_.has_normalized()) {
      SOCLE_RETURN_IF_ERROR(encode_normalized(normalized, i == 0, ids));
      continue;
    }
    std::vector<Section> parts = added_.split(normalized, true);
    for (size_t j = 0; j < parts.size(); ++j) {
      if (parts[j].token) {
        ids.push_back(*parts[j].token);
      } else {
        SOCLE_RETURN_IF_ERROR(encode_normalized(parts[j].text, i == 0 && j == 0, ids));
      }
    }
  }
  return Status::ok();
}

Result<std::vector<int32_t>> Tokenizer::encode(std::string_view text,
                                               bool add_special_tokens) const {
  std::vector<int32_t> ids;
  SOCLE_RETURN_IF_ERROR(encode_text(text, ids));
  if (!post_processor_) return ids;
  return post_processor_->process(ids, nullptr, add_special_tokens);
}

void Tokenizer::clear_cache() const {
  model_->clear_cache();
}

Result<std::vector<int32_t>> Tokenizer::encode_pair(std::string_view a, std::string_view b,
                                                    bool add_special_tokens) const {
  std::vector<int32_t> ids_a;
  std::vector<int32_t> ids_b;
  SOCLE_RETURN_IF_ERROR(encode_text(a, ids_a));
  SOCLE_RETURN_IF_ERROR(encode_text(b, ids_b));
  if (!post_processor_) {
    ids_a.insert(ids_a.end(), ids_b.begin(), ids_b.end());
    return ids_a;
  }
  return post_processor_->process(ids_a, &ids_b, add_special_tokens);
}

std::string Tokenizer::decode_bytes(std::span<const int32_t> ids, bool skip_special_tokens) const {
  std::vector<DecodePiece> pieces;
  pieces.reserve(ids.size());
  for (int32_t id : ids) {
    if (skip_special_tokens && is_special(id)) continue;
    if (const AddedToken* t = added_.find(id)) {
      pieces.push_back({t->content, true});
      continue;
    }
    if (auto text = model_->vocab().token(id)) {
      // A vocabulary entry written like an added token is kept apart like one.
      pieces.push_back({std::string(*text), added_.find(*text) != nullptr});
    }
  }
  if (!decoder_) {
    std::string out;
    for (size_t i = 0; i < pieces.size(); ++i) {
      if (i > 0) out += ' ';
      out += pieces[i].text;
    }
    return out;
  }
  decoder_->decode_chain(pieces);
  std::string out;
  for (const auto& p : pieces)
    out += p.text;
  return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, const DecodeOptions& options) const {
  std::string text = utf8_sanitize(decode_bytes(ids, options.skip_special_tokens));
  if (options.clean_up_tokenization_spaces.value_or(clean_up_tokenization_spaces_)) {
    text = clean_up_tokenization(text);
  }
  return text;
}

bool Tokenizer::has_piece(int32_t id, bool skip_special_tokens) const {
  if (skip_special_tokens && is_special(id)) return false;
  return added_.find(id) != nullptr || model_->vocab().token(id).has_value();
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  if (const AddedToken* t = added_.find(token)) return t->id;
  return model_->vocab().find(token);
}

std::optional<std::string> Tokenizer::id_to_token(int32_t id) const {
  if (const AddedToken* t = added_.find(id)) return t->content;
  if (auto text = model_->vocab().token(id)) return std::string(*text);
  return std::nullopt;
}

size_t Tokenizer::vocab_size() const {
  size_t n = model_->vocab().id_limit();
  for (const auto& t : added_.tokens())
    n = std::max(n, static_cast<size_t>(t.id) + 1);
  return n;
}

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < special_.size() && special_[static_cast<size_t>(id)];
}

}  // namespace socle::engine::tokenizer
