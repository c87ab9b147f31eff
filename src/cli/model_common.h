// What the `socle model` subcommands share: their registration, the parsing of token lists
// and weight types, the check that a path names a model, and how a failure is reported (one
// line on stderr; exit status 2 for bad usage, 1 for a runtime failure).
#pragma once

#include <CLI/App.hpp>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "engine/format/dtype.h"

namespace socle::cli::model_cli {

// Each registers its subcommands under `model` (socle model ...).
void add_info_command(CLI::App& model, int* exit_code);
void add_decoder_commands(CLI::App& model, int* exit_code);  // logits
void add_encoder_commands(CLI::App& model, int* exit_code);  // embed, score
void add_convert_commands(CLI::App& model, int* exit_code);  // convert, quantize
void add_lora_commands(CLI::App& model, int* exit_code);     // lora-gguf

// Prints "socle model <command>: <message>" on stderr; returns EXIT_USAGE for
// INVALID_ARGUMENT, EXIT_FAILURE_RUNTIME otherwise.
int fail(const char* command, const Status& s);

// "1,2,3" (spaces allowed around the commas) -> {1, 2, 3}. INVALID_ARGUMENT names `flag`
// and the item at fault for anything but a non-empty list of non-negative integers.
Result<std::vector<int32_t>> parse_id_list(const std::string& text, const char* flag);

// INVALID_ARGUMENT naming the position and the limit if an id is not below `limit`.
Status check_ids_below(std::span<const int32_t> ids, int64_t limit, const char* what);

// "f32", "f16", "bf16", "q8_0", "q4_0", "q4_k", "q6_k" (any case) -> the weight type.
Result<engine::DType> parse_weight_type(const std::string& name);
inline constexpr char WEIGHT_TYPES_HELP[] = "f32, f16, bf16, q8_0, q4_0, q4_k or q6_k";

// OK if `path` is a regular file (read as GGUF) or a folder holding config.json (a Hugging
// Face model). NOT_FOUND if it does not exist; INVALID_ARGUMENT for a folder that is not a
// model.
Status check_model_path(const std::string& path);
bool is_gguf_path(const std::string& path);  // a regular file

// A float32 with the 9 significant digits that make it round-trip.
std::string format_float(float x);
// "[x0,x1,...]" with format_float.
std::string format_float_array(std::span<const float> xs);

}  // namespace socle::cli::model_cli
