// socle model info | logits | embed | score | convert | quantize: the engine's models from the
// command line, on a GGUF file or a Hugging Face folder. The subcommands live in
// model_info.cc, model_decoder.cc, model_encoder.cc and model_convert.cc; this file registers
// them and holds what they share.
#include <CLI/CLI.hpp>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "cli/model_common.h"

namespace socle::cli {
namespace model_cli {

int fail(const char* command, const Status& s) {
  std::fprintf(stderr, "socle model %s: %s\n", command, s.message().c_str());
  return s.code() == StatusCode::INVALID_ARGUMENT ? EXIT_USAGE : EXIT_FAILURE_RUNTIME;
}

Result<std::vector<int32_t>> parse_id_list(const std::string& text, const char* flag) {
  auto bad = [&](const std::string& what) {
    return invalid_argument(std::string(flag) + ": " + what +
                            " (give comma-separated non-negative integers, e.g. 1,2,3)");
  };
  std::vector<int32_t> ids;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(start, comma - start);
    size_t b = item.find_first_not_of(" \t");
    size_t e = item.find_last_not_of(" \t");
    item = b == std::string::npos ? "" : item.substr(b, e - b + 1);
    if (item.empty()) return bad(ids.empty() && comma == text.size() ? "no ids" : "an empty item");
    int32_t id = 0;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), id);
    if (ec != std::errc() || end != item.data() + item.size() || id < 0) {
      return bad("'" + item + "' is not a token id");
    }
    ids.push_back(id);
    start = comma + 1;
  }
  return ids;
}

Status check_ids_below(std::span<const int32_t> ids, int64_t limit, const char* what) {
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] >= limit) {
      return invalid_argument(std::string(what) + " " + std::to_string(ids[i]) + " at position " +
                              std::to_string(i) + " is outside the model's " +
                              std::to_string(limit) + " (ids run from 0 to " +
                              std::to_string(limit - 1) + ")");
    }
  }
  return Status();
}

Result<engine::DType> parse_weight_type(const std::string& name) {
  std::string lower;
  for (char c : name)
    lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  using engine::DType;
  constexpr std::pair<const char*, DType> TYPES[] = {
      {"f32", DType::F32},   {"f16", DType::F16},   {"bf16", DType::BF16}, {"q8_0", DType::Q8_0},
      {"q4_0", DType::Q4_0}, {"q4_k", DType::Q4_K}, {"q6_k", DType::Q6_K},
  };
  for (const auto& [n, type] : TYPES) {
    if (lower == n) return type;
  }
  return invalid_argument("--type: '" + name + "' is not a weight type (" + WEIGHT_TYPES_HELP +
                          ")");
}

bool is_gguf_path(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

Status check_model_path(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return not_found(path + " does not exist");
  if (std::filesystem::is_regular_file(path, ec)) return Status();
  if (!std::filesystem::is_directory(path, ec)) {
    return invalid_argument(path + " is neither a GGUF file nor a Hugging Face model folder");
  }
  if (!std::filesystem::exists(std::filesystem::path(path) / "config.json", ec)) {
    return invalid_argument(path +
                            " is not a model: a Hugging Face model folder holds config.json "
                            "and its safetensors weights (or give a .gguf file)");
  }
  return Status();
}

std::string format_float(float x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(x));
  return buf;
}

std::string format_float_array(std::span<const float> xs) {
  std::string out = "[";
  for (size_t i = 0; i < xs.size(); ++i) {
    if (i > 0) out += ",";
    out += format_float(xs[i]);
  }
  return out + "]";
}

}  // namespace model_cli

void add_model_command(CLI::App& app, int* exit_code) {
  CLI::App* model = app.add_subcommand(
      "model", "Inspect, run, convert and quantise models (a GGUF file or a Hugging Face folder)");
  model->require_subcommand(1);
  model_cli::add_info_command(*model, exit_code);
  model_cli::add_decoder_commands(*model, exit_code);
  model_cli::add_encoder_commands(*model, exit_code);
  model_cli::add_convert_commands(*model, exit_code);
  model_cli::add_lora_commands(*model, exit_code);
}

}  // namespace socle::cli
