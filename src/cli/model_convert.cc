// socle model convert | quantize: writes GGUF files. `convert` turns a llama- or bert-family
// Hugging Face folder into the GGUF file llama.cpp's converter would write; `quantize` re-types the
// matrices of an existing GGUF file (engine/models/gguf_requantize.h).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/commands.h"
#include "cli/model_common.h"
#include "engine/models/bert_gguf.h"
#include "engine/models/gguf_requantize.h"
#include "engine/models/llama_gguf.h"
#include "engine/tokenizer/gguf_vocab.h"

namespace socle::cli::model_cli {
namespace {

struct ConvertFlags {
  std::string from;
  std::string to;
  std::string type;
  bool allow_requantize = false;
  bool no_tokenizer = false;
};

int run_convert(const ConvertFlags& f) {
  constexpr const char* CMD = "convert";
  Result<engine::DType> type = parse_weight_type(f.type);
  if (!type.is_ok()) return fail(CMD, type.status());
  Status ok = check_model_path(f.from);
  if (!ok.is_ok()) return fail(CMD, ok);
  if (is_gguf_path(f.from)) {
    return fail(CMD,
                invalid_argument(f.from + " is a file; convert reads a Hugging Face folder (use "
                                          "`socle model quantize` to re-type a GGUF file)"));
  }
  // The folder's tokenizer goes into the file, as llama.cpp needs one to load a model.
  engine::tokenizer::GgufMetadata tokenizer_keys;
  bool with_tokenizer =
      !f.no_tokenizer && std::filesystem::exists(std::filesystem::path(f.from) / "tokenizer.json");
  if (with_tokenizer) {
    auto keys = engine::tokenizer::gguf_tokenizer_metadata_from_path(f.from);
    if (!keys.is_ok()) {
      return fail(CMD, invalid_argument(keys.status().message() +
                                        " (--no-tokenizer writes the model without it)"));
    }
    tokenizer_keys = std::move(keys).value();
  }
  Result<engine::HfConfig> config = engine::hf_config_read(f.from);
  if (!config.is_ok()) return fail(CMD, config.status());
  ok = engine::model_family_is_decoder(config->family)
           ? engine::llama_convert_to_gguf(f.from, f.to, *type, tokenizer_keys)
           : engine::bert_convert_to_gguf(f.from, f.to, *type, tokenizer_keys);
  if (!ok.is_ok() && with_tokenizer && ok.message().find("tokenizer") != std::string::npos) {
    ok = Status{ok.code(), ok.message() + " (--no-tokenizer writes the model without it)"};
  }
  if (!ok.is_ok()) return fail(CMD, ok);
  std::printf("wrote %s (%s, %s)\n", f.to.c_str(), engine::dtype_name(*type),
              with_tokenizer ? "with the folder's tokenizer" : "no tokenizer");
  return EXIT_OK;
}

int run_quantize(const ConvertFlags& f) {
  constexpr const char* CMD = "quantize";
  Result<engine::DType> type = parse_weight_type(f.type);
  if (!type.is_ok()) return fail(CMD, type.status());
  Status ok = check_model_path(f.from);
  if (!ok.is_ok()) return fail(CMD, ok);
  if (!is_gguf_path(f.from)) {
    return fail(CMD,
                invalid_argument(f.from + " is a folder; quantize reads a GGUF file (use `socle "
                                          "model convert` for a Hugging Face folder)"));
  }
  engine::GgufRequantizeOptions options;
  options.type = *type;
  options.allow_requantize = f.allow_requantize;
  Result<engine::GgufRequantizeReport> report = engine::gguf_requantize(f.from, f.to, options);
  if (!report.is_ok()) return fail(CMD, report.status());
  constexpr double MIB = 1024.0 * 1024.0;
  std::printf("wrote %s: %.2f MiB of tensors (from %.2f MiB)\n", f.to.c_str(),
              static_cast<double>(report->bytes_out) / MIB,
              static_cast<double>(report->bytes_in) / MIB);
  for (const auto& [t, stats] : report->by_type) {
    std::printf("  %-5s %lld tensors, %.2f MiB\n", engine::dtype_name(t),
                static_cast<long long>(stats.first), static_cast<double>(stats.second) / MIB);
  }
  return EXIT_OK;
}

}  // namespace

void add_convert_commands(CLI::App& model, int* exit_code) {
  auto f = std::make_shared<ConvertFlags>();
  CLI::App* convert = model.add_subcommand(
      "convert", "Convert a llama- or bert-family Hugging Face folder to a GGUF file");
  convert->add_option("--from", f->from, "the Hugging Face model folder")->required();
  convert->add_option("--to", f->to, "the GGUF file to write")->required();
  convert
      ->add_option("--type", f->type,
                   std::string("the matrices' type: ") + WEIGHT_TYPES_HELP +
                       " (a matrix whose rows do not fit the type's blocks falls back to Q8_0 "
                       "or F16; vectors stay F32)")
      ->default_val("f16");
  convert->add_flag("--no-tokenizer", f->no_tokenizer,
                    "leave out the folder's tokenizer.json (llama.cpp will not load the file)");
  convert->callback([f, exit_code] { *exit_code = run_convert(*f); });

  CLI::App* quantize =
      model.add_subcommand("quantize", "Write a GGUF file again with its matrices in another type");
  quantize->add_option("--from", f->from, "the GGUF file to read")->required();
  quantize->add_option("--to", f->to, "the GGUF file to write")->required();
  quantize
      ->add_option("--type", f->type,
                   std::string("the matrices' type: ") + WEIGHT_TYPES_HELP +
                       " (with the same fallbacks as convert; other tensors are copied)")
      ->required();
  quantize->add_flag("--allow-requantize", f->allow_requantize,
                     "quantise matrices that are already quantised (compounds the rounding)");
  quantize->callback([f, exit_code] { *exit_code = run_quantize(*f); });
}

}  // namespace socle::cli::model_cli
