// The engine benchmark: socle's llama forward pass on random llama-architecture GGUF models
// it writes itself. bench/engine/run drives it and puts llama.cpp (llamacpp.mjs) beside it
// on the same files.
//
//   engine_bench write OUT.gguf --type Q8_0 [--min-gb 1.6 | --layers N] [--seed 1]
//       Writes a random llama (hidden 2048, FFN 5632, 32 heads / 8 KV heads, vocab 32000)
//       with the fewest layers whose matrices reach --min-gb 10^9 bytes in that type, and
//       prints {"path", "type", "layers", "weight_bytes", "decode_bytes"} (the matrices' bytes,
//       and those a decode step reads: all but the embedding table's other rows).
//   engine_bench run MODEL.gguf [--prompt 512] [--decode 32] [--batch 8] [--batch-steps 8]
//       Prints one JSON line: prompt processing tokens/s (one forward of --prompt tokens),
//       decode tokens/s at batch 1 (--decode steps of one token after a 16-token prefix) and
//       at --batch sequences (each step one forward_batch over one token of each sequence, in
//       a paged KV pool), the file's bytes, and the read and copy bandwidth measured in the
//       same process. Threads: SOCLE_THREADS.
//   engine_bench --quick
//       A tiny model in every type, written, loaded and run; checks that the logits are
//       finite and that decoding sequence after sequence gives each the logits it gets alone.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/format/dtype.h"
#include "engine/kernels/thread_pool.h"
#include "engine/models/llama.h"
#include "memory_bandwidth.h"
#include "random_gguf.h"

namespace {

namespace fs = std::filesystem;
using socle::engine::BatchSequence;
using socle::engine::DType;
using socle::engine::KvCache;
using socle::engine::KvPool;
using socle::engine::LlamaModel;
using socle::engine::ThreadPool;
using socle::engine::bench::RandomGgufShape;
using Clock = std::chrono::steady_clock;

constexpr int PREFIX_TOKENS = 16;                 // decode starts after this many tokens
constexpr int64_t BLOCK_TOKENS = 16;              // positions per KV block in batched decode
constexpr uint64_t BANDWIDTH_BYTES = 1ULL << 30;  // 1 GiB: far past any L3
constexpr int BANDWIDTH_PASSES = 3;
constexpr double BYTES_PER_GB = 1e9;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

int fail(const std::string& what) {
  std::fprintf(stderr, "engine_bench: %s\n", what.c_str());
  return 1;
}

bool parse_type(const std::string& name, DType* type) {
  for (DType t : {DType::F32, DType::Q8_0, DType::Q4_0, DType::Q4_K}) {
    if (name == socle::engine::dtype_name(t)) {
      *type = t;
      return true;
    }
  }
  return false;
}

// Token ids spread over the vocabulary, the same in every run.
std::vector<int32_t> tokens(int64_t n, int64_t vocab, int64_t offset) {
  std::vector<int32_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    out[static_cast<size_t>(i)] = static_cast<int32_t>((offset + i * 7919) % vocab);
  return out;
}

bool all_finite(const std::vector<float>& v) {
  return std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); });
}

struct RunResult {
  double prompt_tps = 0;
  double decode_tps = 0;        // batch 1
  double batch_decode_tps = 0;  // `batch` sequences, one forward_batch per step
};

struct RunSpec {
  int64_t prompt = 512;
  int decode = 32;         // batch-1 steps
  int batch = 8;           // sequences decoded together
  int batch_steps = 8;     // steps of the batch (<= decode)
  bool check_all = false;  // decode every sequence alone too, to compare
};

// Sequence b's prefix and decoded tokens.
std::vector<int32_t> prefix_of(int b, int64_t vocab) {
  return tokens(PREFIX_TOKENS, vocab, 11 + b);
}
std::vector<int32_t> decoded_of(int b, int n, int64_t vocab) {
  return tokens(n, vocab, 101 + b);
}

// Decodes sequence b alone for `steps` tokens after its prefix; the logits of the last.
bool decode_alone(const LlamaModel& model, int b, int steps, std::vector<float>* logits,
                  double* tps, std::string* error) {
  const int64_t vocab = model.config().vocab_size;
  KvCache cache = model.new_cache(PREFIX_TOKENS + steps);
  auto s = model.forward(prefix_of(b, vocab), cache, logits);
  if (!s.is_ok()) return *error = s.to_string(), false;
  std::vector<int32_t> next = decoded_of(b, steps, vocab);
  Clock::time_point start = Clock::now();
  for (int i = 0; i < steps; ++i) {
    s = model.forward({&next[static_cast<size_t>(i)], 1}, cache, logits);
    if (!s.is_ok()) return *error = s.to_string(), false;
  }
  if (tps != nullptr) *tps = steps / seconds_since(start);
  return true;
}

// Prompt processing, then decoding at batch 1 and at spec.batch: a batch step is one
// forward_batch over one token of each sequence, in a paged pool. Each batched sequence must
// end with the logits it gets decoded alone (the engine is batch-invariant); false with a
// message when one differs or a logit is not finite.
bool run_model(const LlamaModel& model, const RunSpec& spec, RunResult* out, std::string* error) {
  const int64_t vocab = model.config().vocab_size;
  std::vector<float> logits;
  {
    // Warm-up: one token pulls every weight page in.
    KvCache cache = model.new_cache(1);
    auto s = model.forward(tokens(1, vocab, 1), cache, &logits);
    if (!s.is_ok()) return *error = s.to_string(), false;
  }
  {
    KvCache cache = model.new_cache(spec.prompt);
    Clock::time_point start = Clock::now();
    auto s = model.forward(tokens(spec.prompt, vocab, 3), cache, &logits);
    out->prompt_tps = static_cast<double>(spec.prompt) / seconds_since(start);
    if (!s.is_ok()) return *error = s.to_string(), false;
    if (!all_finite(logits)) return *error = "prompt logits are not finite", false;
  }
  if (!decode_alone(model, 0, spec.decode, &logits, &out->decode_tps, error)) return false;
  std::vector<std::vector<float>> alone(static_cast<size_t>(spec.batch));
  for (int b = 0; b < spec.batch; ++b) {
    if (b > 0 && !spec.check_all) continue;
    if (!decode_alone(model, b, spec.batch_steps, &alone[static_cast<size_t>(b)], nullptr, error))
      return false;
  }

  // The batch's sequences in one paged pool, each with its own blocks; their prefixes in one
  // pass, then each step one forward_batch over one token of every sequence.
  const int64_t length = PREFIX_TOKENS + spec.batch_steps;
  const int64_t blocks_per_seq = (length + BLOCK_TOKENS - 1) / BLOCK_TOKENS;
  KvPool pool = model.new_pool(blocks_per_seq * spec.batch, BLOCK_TOKENS);
  ThreadPool& threads = socle::engine::default_thread_pool();
  std::vector<std::vector<int32_t>> prefixes, next, tables;
  std::vector<BatchSequence> batch(static_cast<size_t>(spec.batch));
  for (int b = 0; b < spec.batch; ++b) {
    prefixes.push_back(prefix_of(b, vocab));
    next.push_back(decoded_of(b, spec.batch_steps, vocab));
    std::vector<int32_t> table(static_cast<size_t>(blocks_per_seq));
    for (int64_t i = 0; i < blocks_per_seq; ++i)
      table[static_cast<size_t>(i)] = static_cast<int32_t>(b * blocks_per_seq + i);
    tables.push_back(std::move(table));
  }
  for (size_t b = 0; b < batch.size(); ++b)
    batch[b] = BatchSequence{prefixes[b], 0, tables[b], false};
  auto s = model.forward_batch(batch, pool, threads, &logits);
  if (!s.is_ok()) return *error = s.to_string(), false;
  Clock::time_point start = Clock::now();
  for (int i = 0; i < spec.batch_steps; ++i) {
    for (size_t b = 0; b < batch.size(); ++b) {
      batch[b] =
          BatchSequence{{&next[b][static_cast<size_t>(i)], 1}, PREFIX_TOKENS + i, tables[b], false};
    }
    s = model.forward_batch(batch, pool, threads, &logits);
    if (!s.is_ok()) return *error = s.to_string(), false;
  }
  out->batch_decode_tps = static_cast<double>(spec.batch_steps) * spec.batch / seconds_since(start);
  const auto vocab_size = static_cast<size_t>(vocab);
  for (size_t b = 0; b < batch.size(); ++b) {
    std::vector<float> last(logits.begin() + static_cast<std::ptrdiff_t>(b * vocab_size),
                            logits.begin() + static_cast<std::ptrdiff_t>((b + 1) * vocab_size));
    if (!all_finite(last)) return *error = "decoded logits are not finite", false;
    if (!alone[b].empty() && last != alone[b]) {
      *error = "sequence " + std::to_string(b) + " decoded in a batch differs from alone";
      return false;
    }
  }
  return true;
}

// The fewest layers (at least 1) whose matrices reach `min_bytes` in `type`.
int64_t layers_for(RandomGgufShape shape, DType type, double min_bytes) {
  shape.layers = 1;
  while (static_cast<double>(socle::engine::bench::random_gguf_matrix_bytes(shape, type)) <
         min_bytes)
    ++shape.layers;
  return shape.layers;
}

int cmd_write(const std::string& path, DType type, int64_t layers, double min_gb, uint64_t seed) {
  RandomGgufShape shape;
  shape.layers = layers > 0 ? layers : layers_for(shape, type, min_gb * BYTES_PER_GB);
  auto s = socle::engine::bench::random_gguf_write(path, shape, type, seed);
  if (!s.is_ok()) return fail(s.to_string());
  boost::json::object o{
      {"path", path},
      {"type", socle::engine::dtype_name(type)},
      {"layers", shape.layers},
      {"weight_bytes", socle::engine::bench::random_gguf_matrix_bytes(shape, type)},
      {"decode_bytes", socle::engine::bench::random_gguf_decode_bytes(shape, type)}};
  std::printf("%s\n", boost::json::serialize(o).c_str());
  return 0;
}

int cmd_run(const std::string& path, const RunSpec& spec) {
  auto model = LlamaModel::load_gguf(path);
  if (!model.is_ok()) return fail(model.status().to_string());
  const socle::engine::HfConfig& c = model->config();
  RandomGgufShape shape;
  shape.hidden = c.hidden_size;
  shape.layers = c.num_layers;
  shape.ffn = c.intermediate_size;
  shape.heads = c.num_heads;
  shape.kv_heads = c.num_kv_heads;
  shape.vocab = c.vocab_size;
  RunResult r;
  std::string error;
  if (!run_model(*model, spec, &r, &error)) return fail(path + ": " + error);
  auto& pool = socle::engine::default_thread_pool();
  auto bw = socle::engine::bench::memory_bandwidth_measure(pool, BANDWIDTH_BYTES, BANDWIDTH_PASSES);
  boost::json::object o{{"threads", pool.size()},
                        {"prompt_tokens", spec.prompt},
                        {"prompt_tps", r.prompt_tps},
                        {"decode_tps", r.decode_tps},
                        {"batch", spec.batch},
                        {"batch_decode_tps", r.batch_decode_tps},
                        {"read_gbs", bw.read_gbs},
                        {"copy_gbs", bw.copy_gbs},
                        {"file_bytes", static_cast<uint64_t>(fs::file_size(path))}};
  std::printf("%s\n", boost::json::serialize(o).c_str());
  return 0;
}

// Every type on a tiny model: written, loaded by socle, run, batch checked against alone.
int cmd_quick() {
  fs::path dir = fs::temp_directory_path() /
                 ("socle-engine-bench-quick-" + std::to_string(static_cast<long>(::getpid())));
  fs::create_directories(dir);
  RandomGgufShape shape{.hidden = 256,
                        .layers = 2,
                        .ffn = 512,
                        .heads = 4,
                        .kv_heads = 2,
                        .vocab = 1000,
                        .context = 256};
  RunSpec spec{.prompt = 64, .decode = 4, .batch = 3, .batch_steps = 3, .check_all = true};
  int rc = 0;
  for (DType type : {DType::F32, DType::Q8_0, DType::Q4_0, DType::Q4_K}) {
    std::string path = (dir / (std::string(socle::engine::dtype_name(type)) + ".gguf")).string();
    auto s = socle::engine::bench::random_gguf_write(path, shape, type, 1);
    if (!s.is_ok()) {
      rc = fail(s.to_string());
      break;
    }
    auto model = LlamaModel::load_gguf(path);
    if (!model.is_ok()) {
      rc = fail(model.status().to_string());
      break;
    }
    if (model->config().num_layers != shape.layers || model->config().vocab_size != shape.vocab) {
      rc = fail(path + ": the model read back has another shape");
      break;
    }
    RunResult r;
    std::string error;
    if (!run_model(*model, spec, &r, &error)) {
      rc = fail(path + ": " + error);
      break;
    }
    std::printf("%s: prompt %.1f tok/s, decode %.1f tok/s, batch %d %.1f tok/s\n",
                socle::engine::dtype_name(type), r.prompt_tps, r.decode_tps, spec.batch,
                r.batch_decode_tps);
  }
  fs::remove_all(dir);
  if (rc == 0) std::printf("engine_bench --quick: ok\n");
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"socle's llama forward pass on random GGUF models"};
  bool quick = false;
  app.add_flag("--quick", quick, "a tiny model in every type, with checks (the ctest entry)");
  app.require_subcommand(0, 1);

  CLI::App* write = app.add_subcommand("write", "write a random llama GGUF model");
  std::string out_path;
  std::string type_name = "Q8_0";
  int64_t layers = 0;
  double min_gb = 1.6;
  uint64_t seed = 1;
  write->add_option("path", out_path, "the GGUF file to write")->required();
  write->add_option("--type", type_name, "F32, Q8_0, Q4_0 or Q4_K");
  write->add_option("--layers", layers, "layers (default: the fewest reaching --min-gb)");
  write->add_option("--min-gb", min_gb, "matrix bytes to reach, in 10^9 bytes");
  write->add_option("--seed", seed, "the weights' seed");

  CLI::App* run = app.add_subcommand("run", "measure socle on a GGUF model");
  std::string model_path;
  RunSpec spec;
  run->add_option("path", model_path, "the GGUF file")->required();
  run->add_option("--prompt", spec.prompt, "prompt tokens");
  run->add_option("--decode", spec.decode, "batch-1 decode steps");
  run->add_option("--batch", spec.batch, "sequences in the batched decode");
  run->add_option("--batch-steps", spec.batch_steps, "steps of the batched decode");
  CLI11_PARSE(app, argc, argv);

  if (quick) return cmd_quick();
  if (write->parsed()) {
    DType type{};
    if (!parse_type(type_name, &type))
      return fail("--type must be F32, Q8_0, Q4_0 or Q4_K, not '" + type_name + "'");
    return cmd_write(out_path, type, layers, min_gb, seed);
  }
  if (run->parsed()) {
    if (spec.prompt < 1 || spec.decode < 1 || spec.batch < 1 || spec.batch_steps < 1)
      return fail("--prompt, --decode, --batch and --batch-steps must be at least 1");
    return cmd_run(model_path, spec);
  }
  return fail("give a subcommand (write, run) or --quick; see --help");
}
