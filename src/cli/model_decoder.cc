// socle model logits: runs a llama-family decoder (GGUF file or Hugging Face folder) over
// given token ids and reports the next-token logits after each position, as a summary on
// stdout and, with --out, a safetensors file holding `logits` (n, vocab) float32.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/model_common.h"
#include "engine/format/safetensors_writer.h"
#include "engine/models/llama.h"

namespace socle::cli::model_cli {
namespace {

struct LogitsFlags {
  std::string model;
  std::string tokens;
  std::string out;
};

int run_logits(const LogitsFlags& f) {
  constexpr const char* CMD = "logits";
  Result<std::vector<int32_t>> ids = parse_id_list(f.tokens, "--tokens");
  if (!ids.is_ok()) return fail(CMD, ids.status());
  Status ok = check_model_path(f.model);
  if (!ok.is_ok()) return fail(CMD, ok);
  Result<engine::LlamaModel> model = engine::LlamaModel::load(f.model);
  if (!model.is_ok()) return fail(CMD, model.status());
  const int64_t vocab = model->config().vocab_size;
  ok = check_ids_below(*ids, vocab, "token id");
  if (!ok.is_ok()) return fail(CMD, ok);

  auto n = static_cast<int64_t>(ids->size());
  engine::KvCache cache = model->new_cache(n);
  std::vector<float> logits;  // (n, vocab)
  ok = model->forward(*ids, cache, &logits);
  if (!ok.is_ok()) return fail(CMD, ok);

  std::printf("position  token  argmax  logit\n");
  for (int64_t t = 0; t < n; ++t) {
    const float* row = logits.data() + t * vocab;
    int64_t best = std::max_element(row, row + vocab) - row;
    std::printf("%8lld  %5d  %6lld  %s\n", static_cast<long long>(t), (*ids)[t],
                static_cast<long long>(best), format_float(row[best]).c_str());
  }
  if (!f.out.empty()) {
    std::vector<engine::TensorData> tensors = {
        {"logits",
         engine::DType::F32,
         {n, vocab},
         {reinterpret_cast<const char*>(logits.data()), logits.size() * sizeof(float)}}};
    ok = engine::safetensors_write(f.out, tensors);
    if (!ok.is_ok()) return fail(CMD, ok);
  }
  return EXIT_OK;
}

}  // namespace

void add_decoder_commands(CLI::App& model, int* exit_code) {
  auto f = std::make_shared<LogitsFlags>();
  CLI::App* logits = model.add_subcommand(
      "logits", "Run a llama-family model over token ids and report the next-token logits");
  logits->add_option("--model", f->model, "a GGUF file or a Hugging Face model folder")->required();
  logits->add_option("--tokens", f->tokens, "the token ids, comma-separated, e.g. 1,2,3")
      ->required();
  logits->add_option("--out", f->out,
                     "a safetensors file to write: tensor `logits`, (n, vocab) float32, row t "
                     "the logits after token t");
  logits->callback([f, exit_code] { *exit_code = run_logits(*f); });
}

}  // namespace socle::cli::model_cli
