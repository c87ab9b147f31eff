// socle model embed | score: bert-family encoders from a Hugging Face folder or GGUF file. `embed`
// pools the last hidden states of one tokenised text into a vector (the pooling and normalisation
// the folder's sentence-transformers settings name, unless overridden); `score` runs a
// cross-encoder reranker's classification head over one tokenised (query, document) pair.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <optional>

#include "cli/commands.h"
#include "cli/model_common.h"
#include "engine/format/safetensors_writer.h"
#include "engine/format/sentence_transformers.h"
#include "engine/models/bert.h"
#include "engine/models/pooling.h"

namespace socle::cli::model_cli {
namespace {

struct EncoderFlags {
  std::string model;
  std::string tokens;
  std::string token_types;
  std::string pooling;
  bool normalize = false;
  std::string out;
};

// The encoder in `path`, with the ids and segment ids checked against it.
struct LoadedEncoder {
  engine::BertModel model;
  std::vector<int32_t> ids;
  std::vector<int32_t> types;  // empty: all zeros
};

Result<LoadedEncoder> load_encoder(const EncoderFlags& f) {
  SOCLE_ASSIGN_OR_RETURN(std::vector<int32_t> ids, parse_id_list(f.tokens, "--tokens"));
  std::vector<int32_t> types;
  if (!f.token_types.empty()) {
    SOCLE_ASSIGN_OR_RETURN(types, parse_id_list(f.token_types, "--token-types"));
    if (types.size() != ids.size()) {
      return invalid_argument("--token-types has " + std::to_string(types.size()) + " ids for " +
                              std::to_string(ids.size()) +
                              " tokens; give one segment id per token");
    }
  }
  SOCLE_RETURN_IF_ERROR(check_model_path(f.model));
  SOCLE_ASSIGN_OR_RETURN(engine::BertModel model, engine::BertModel::load(f.model));
  SOCLE_RETURN_IF_ERROR(check_ids_below(ids, model.config().vocab_size, "token id"));
  SOCLE_RETURN_IF_ERROR(check_ids_below(types, model.config().type_vocab_size, "token type"));
  return LoadedEncoder{std::move(model), std::move(ids), std::move(types)};
}

// The pooling and normalisation to use: the flags, else the folder's sentence-transformers
// settings (a GGUF file's pooling type, normalised), else mean pooling (what
// sentence-transformers gives a plain Hugging Face model), unnormalised; says on stderr which
// applies when the folder has no settings.
Result<engine::EmbeddingSettings> embedding_settings(const EncoderFlags& f) {
  SOCLE_ASSIGN_OR_RETURN(std::optional<engine::EmbeddingSettings> saved,
                         engine::bert_embedding_settings(f.model));
  engine::EmbeddingSettings s = saved.value_or(engine::EmbeddingSettings{});
  if (!f.pooling.empty()) {
    std::optional<engine::Pooling> p = engine::pooling_from_name(f.pooling);
    if (!p || *p == engine::Pooling::LAST) {
      return invalid_argument("--pooling: '" + f.pooling +
                              "' is not a pooling of bert-family encoders (mean or cls)");
    }
    s.pooling = *p;
  } else if (!saved) {
    std::fprintf(stderr,
                 "socle model embed: %s has no sentence-transformers settings (modules.json); "
                 "using %s pooling (choose with --pooling)\n",
                 f.model.c_str(), engine::pooling_name(s.pooling));
  }
  if (f.normalize) s.normalize = true;
  return s;
}

int run_embed(const EncoderFlags& f) {
  constexpr const char* CMD = "embed";
  Result<LoadedEncoder> enc = load_encoder(f);
  if (!enc.is_ok()) return fail(CMD, enc.status());
  Result<engine::EmbeddingSettings> settings = embedding_settings(f);
  if (!settings.is_ok()) return fail(CMD, settings.status());
  std::vector<float> hidden;  // (n, hidden_size)
  Status ok = enc->model.encode(enc->ids, enc->types, &hidden);
  if (!ok.is_ok()) return fail(CMD, ok);
  const int64_t dim = enc->model.config().hidden_size;
  std::vector<float> embedding(static_cast<size_t>(dim));
  engine::pool_ref(embedding.data(), hidden.data(), static_cast<int64_t>(enc->ids.size()), dim,
                   settings->pooling);
  if (settings->normalize) engine::l2_normalize_ref(embedding.data(), dim);
  if (f.out.empty()) {
    std::printf("%s\n", format_float_array(embedding).c_str());
    return EXIT_OK;
  }
  std::vector<engine::TensorData> tensors = {
      {"embedding",
       engine::DType::F32,
       {dim},
       {reinterpret_cast<const char*>(embedding.data()), embedding.size() * sizeof(float)}}};
  ok = engine::safetensors_write(f.out, tensors,
                                 {{"pooling", engine::pooling_name(settings->pooling)},
                                  {"normalized", settings->normalize ? "true" : "false"}});
  if (!ok.is_ok()) return fail(CMD, ok);
  return EXIT_OK;
}

int run_score(const EncoderFlags& f) {
  constexpr const char* CMD = "score";
  Result<LoadedEncoder> enc = load_encoder(f);
  if (!enc.is_ok()) return fail(CMD, enc.status());
  if (enc->model.config().head == engine::ModelHead::ENCODER) {
    return fail(CMD, invalid_argument(f.model + " is an encoder without a classification head (" +
                                      enc->model.config().architecture +
                                      "); score needs a cross-encoder reranker "
                                      "(*ForSequenceClassification)"));
  }
  std::vector<float> scores;  // (num_labels)
  Status ok = enc->model.classify(enc->ids, enc->types, &scores);
  if (!ok.is_ok()) return fail(CMD, ok);
  if (scores.size() == 1) {
    std::printf("%s\n", format_float(scores[0]).c_str());
  } else {
    std::printf("%s\n", format_float_array(scores).c_str());
  }
  return EXIT_OK;
}

void add_token_options(CLI::App* cmd, EncoderFlags& f, const char* tokens_help) {
  cmd->add_option("--model", f.model, "a Hugging Face model folder")->required();
  cmd->add_option("--tokens", f.tokens, tokens_help)->required();
  cmd->add_option("--token-types", f.token_types,
                  "segment ids, one per token, comma-separated (default: all 0)");
}

}  // namespace

void add_encoder_commands(CLI::App& model, int* exit_code) {
  auto f = std::make_shared<EncoderFlags>();
  CLI::App* embed = model.add_subcommand(
      "embed", "Embed one tokenised text with a bert-family encoder; prints a JSON array");
  add_token_options(embed, *f, "the text's token ids, special tokens included, e.g. 101,7592,102");
  embed->add_option("--pooling", f->pooling,
                    "mean or cls (default: the folder's sentence-transformers setting, else mean)");
  embed->add_flag("--normalize", f->normalize,
                  "scale to unit L2 norm (also on when the folder's settings say so)");
  embed->add_option("--out", f->out,
                    "a safetensors file to write instead: tensor `embedding`, (hidden) float32");
  embed->callback([f, exit_code] { *exit_code = run_embed(*f); });

  CLI::App* score = model.add_subcommand(
      "score", "Score one tokenised (query, document) pair with a cross-encoder reranker");
  add_token_options(score, *f,
                    "the pair's token ids as the reranker's tokenizer joins them, e.g. "
                    "101,...,102,...,102");
  score->callback([f, exit_code] { *exit_code = run_score(*f); });
}

}  // namespace socle::cli::model_cli
