// The training benchmark: one LoRA step of socle's Trainer (forward, backward, clipping,
// AdamW) against PyTorch on the CPU running the same step in the same run
// (torch_lora_step.py, Debian's python3-torch), on a random llama that this program writes as
// a Hugging Face folder, with the same PEFT adapter and the same batch for both. The loss and
// the gradient norm of every step must agree (1e-4 and 1e-3 relative), else it fails. It
// prints training tokens/s of each (the batch's tokens over the median step time, the first
// step excluded as warm-up) and the ratio socle / PyTorch.
//
//   train_bench [--threads T] [--steps 4] [--batch 4] [--seq 256] [--prompt 64]
//               [--layers 12] [--hidden 768] [--intermediate 2048] [--heads 12]
//               [--kv-heads 4] [--vocab 32000] [--rank 8] [--dir DIR]
//               [--python bench/train/torch_lora_step.py] [--quick]
// --quick: a tiny model (hidden 64, 2 layers, vocab 512, 2 x 32 tokens), every check.
// --socle-only: socle's side alone, for profiling (perf record); no comparison, no ratio.
// Threads: --threads, by default the machine's hardware threads, for both sides.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "engine/format/safetensors.h"
#include "engine/format/safetensors_writer.h"
#include "engine/lora/lora_adapter.h"
#include "engine/models/llama.h"
#include "engine/sampling/rng.h"
#include "random_hf_llama.h"
#include "train/cross_entropy.h"
#include "train/trainer.h"

namespace {

namespace fs = std::filesystem;
using socle::engine::LoraAdapter;
using socle::engine::LoraConfig;
using socle::train::bench::RandomLlamaShape;
using Clock = std::chrono::steady_clock;

constexpr double LOSS_TOLERANCE = 1e-4;       // relative
constexpr double GRAD_NORM_TOLERANCE = 1e-3;  // relative
constexpr double LEARNING_RATE = 1e-4;
constexpr double MAX_GRAD_NORM = 1.0;
constexpr double LORA_ALPHA = 16;
// B starts at zero in PEFT, which makes every gradient of A zero; the bench draws B uniform on
// [-B_HALF_WIDTH, B_HALF_WIDTH) so that every LoRA matrix and the input gradients through it
// take part.
constexpr double B_HALF_WIDTH = 0.02;
constexpr uint64_t MODEL_SEED = 1;
constexpr uint64_t ADAPTER_SEED = 2;
constexpr uint64_t DATA_SEED = 3;
// Debian's interpreter, where python3-torch is installed (a python3 earlier on PATH, such as a
// pyenv one, would not see it).
constexpr const char* PYTHON = "/usr/bin/python3";

struct Spec {
  RandomLlamaShape shape;
  int64_t batch = 4;
  int64_t seq = 256;
  int64_t prompt = 64;  // labels -100 on each sequence's first `prompt` tokens
  int64_t rank = 8;
  int steps = 4;
  int threads = 0;
  std::string dir;
  std::string python;
};

struct SideResult {
  std::vector<double> loss;
  std::vector<double> grad_norm;
  std::vector<double> seconds;
};

int fail(const std::string& what) {
  std::fprintf(stderr, "train_bench: %s\n", what.c_str());
  return 1;
}

double median_after_warmup(std::vector<double> s) {
  if (s.size() > 1) s.erase(s.begin());
  std::sort(s.begin(), s.end());
  size_t m = s.size() / 2;
  return s.size() % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

double relative(double got, double want) {
  return std::abs(got - want) / std::max(std::abs(want), 1e-30);
}

socle::Status write_inputs(const Spec& spec) {
  SOCLE_RETURN_IF_ERROR(
      socle::train::bench::random_llama_write(spec.dir + "/model", spec.shape, MODEL_SEED));
  SOCLE_ASSIGN_OR_RETURN(auto config, socle::engine::hf_config_read(spec.dir + "/model"));
  LoraConfig lc;
  lc.rank = spec.rank;
  lc.alpha = LORA_ALPHA;
  lc.targets.assign(socle::engine::LORA_ALL_TARGETS.begin(), socle::engine::LORA_ALL_TARGETS.end());
  SOCLE_ASSIGN_OR_RETURN(LoraAdapter adapter, LoraAdapter::init(config, lc, ADAPTER_SEED));
  socle::engine::sampling::Rng rng(ADAPTER_SEED);
  for (int64_t l = 0; l < adapter.num_layers(); ++l) {
    for (socle::engine::LoraTarget t : lc.targets) {
      for (float& v : adapter.find(l, t)->b)
        v = static_cast<float>(B_HALF_WIDTH * (2 * rng.uniform() - 1));
    }
  }
  SOCLE_RETURN_IF_ERROR(adapter.save_peft(spec.dir + "/adapter"));

  const auto count = static_cast<size_t>(spec.batch * spec.seq);
  std::vector<int32_t> ids(count);
  std::vector<int32_t> labels(count);
  socle::engine::sampling::Rng data_rng(DATA_SEED);
  for (size_t i = 0; i < count; ++i) {
    ids[i] = static_cast<int32_t>(data_rng.next() % static_cast<uint64_t>(spec.shape.vocab));
    labels[i] =
        static_cast<int64_t>(i) % spec.seq < spec.prompt ? socle::train::IGNORE_LABEL : ids[i];
  }
  auto bytes = [](const std::vector<int32_t>& v) {
    return std::string_view(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(int32_t));
  };
  std::vector<socle::engine::TensorData> tensors = {
      {"input_ids", socle::engine::DType::I32, {spec.batch, spec.seq}, bytes(ids)},
      {"labels", socle::engine::DType::I32, {spec.batch, spec.seq}, bytes(labels)}};
  return socle::engine::safetensors_write(spec.dir + "/batch.safetensors", tensors);
}

std::vector<double> numbers(const boost::json::value& v) {
  std::vector<double> out;
  for (const boost::json::value& x : v.as_array())
    out.push_back(x.to_number<double>());
  return out;
}

bool run_torch(const Spec& spec, SideResult* out, std::string* blas, std::string* error) {
  // PyTorch's own threads follow --threads (torch.set_num_threads); OpenBLAS's OpenMP build
  // and OpenMP itself are held to the same count.
  const std::string t = std::to_string(spec.threads);
  std::string command = "OMP_NUM_THREADS=" + t + " OPENBLAS_NUM_THREADS=" + t + " " + PYTHON +
                        " '" + spec.python + "' '" + spec.dir + "' --threads " +
                        std::to_string(spec.threads) + " --steps " + std::to_string(spec.steps) +
                        " --lr " + std::to_string(LEARNING_RATE) + " --max-grad-norm " +
                        std::to_string(MAX_GRAD_NORM);
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return *error = "cannot run " + command, false;
  std::string text;
  std::array<char, 4096> buf{};
  size_t got = 0;
  while ((got = std::fread(buf.data(), 1, buf.size(), pipe)) > 0)
    text.append(buf.data(), got);
  int rc = pclose(pipe);
  if (rc != 0) {
    *error = "the PyTorch side failed (" + command +
             "); is python3-torch installed? (scripts/install-deps --bench)";
    return false;
  }
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) return *error = "the PyTorch side printed no JSON: " + text, false;
  const boost::json::object& o = v.as_object();
  out->loss = numbers(o.at("loss"));
  out->grad_norm = numbers(o.at("grad_norm"));
  out->seconds = numbers(o.at("seconds"));
  *blas =
      std::string(o.at("torch").as_string()) + ", BLAS " + std::string(o.at("blas").as_string());
  return true;
}

bool run_socle(const Spec& spec, SideResult* out, std::string* error) {
  auto model = socle::engine::LlamaModel::load(spec.dir + "/model");
  if (!model.is_ok()) return *error = model.status().to_string(), false;
  auto adapter = LoraAdapter::load_peft(spec.dir + "/adapter", model->config());
  if (!adapter.is_ok()) return *error = adapter.status().to_string(), false;
  auto batch = socle::engine::SafetensorsFile::open(spec.dir + "/batch.safetensors");
  if (!batch.is_ok()) return *error = batch.status().to_string(), false;
  std::vector<socle::train::TrainExample> data;
  auto ids = batch->find("input_ids");
  auto labels = batch->find("labels");
  if (ids == nullptr || labels == nullptr) return *error = "batch.safetensors is incomplete", false;
  // The views are not necessarily aligned to 4 bytes: copied out.
  std::vector<int32_t> id_values(static_cast<size_t>(spec.batch * spec.seq));
  std::vector<int32_t> label_values(id_values.size());
  if (ids->nbytes != id_values.size() * sizeof(int32_t) || labels->nbytes != ids->nbytes) {
    return *error = "batch.safetensors does not hold --batch x --seq tokens", false;
  }
  std::memcpy(id_values.data(), ids->data, ids->nbytes);
  std::memcpy(label_values.data(), labels->data, labels->nbytes);
  for (int64_t b = 0; b < spec.batch; ++b) {
    socle::train::TrainExample ex;
    ex.tokens.assign(id_values.begin() + b * spec.seq, id_values.begin() + (b + 1) * spec.seq);
    ex.labels.assign(label_values.begin() + b * spec.seq,
                     label_values.begin() + (b + 1) * spec.seq);
    data.push_back(std::move(ex));
  }
  socle::train::TrainConfig config;
  config.steps = spec.steps;
  config.micro_batch = spec.batch;
  config.lr.peak = LEARNING_RATE;
  config.lr.floor_ratio = 1.0;  // a constant rate, as the PyTorch side
  config.max_grad_norm = MAX_GRAD_NORM;
  config.threads = spec.threads;
  auto trainer =
      socle::train::Trainer::create(*model, std::move(adapter).value(), std::move(data), config);
  if (!trainer.is_ok()) return *error = trainer.status().to_string(), false;
  for (int s = 0; s < spec.steps; ++s) {
    Clock::time_point start = Clock::now();
    auto report = trainer->step();
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (!report.is_ok()) return *error = report.status().to_string(), false;
    out->loss.push_back(report->loss);
    out->grad_norm.push_back(report->grad_norm);
    out->seconds.push_back(seconds);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Spec spec;
  bool quick = false;
  bool socle_only = false;
  CLI::App app{"socle's LoRA training step against PyTorch's"};
  app.add_option("--threads", spec.threads, "threads of both sides (default: hardware threads)");
  app.add_option("--steps", spec.steps, "steps of each side, the first a warm-up");
  app.add_option("--batch", spec.batch, "sequences per step");
  app.add_option("--seq", spec.seq, "tokens per sequence");
  app.add_option("--prompt", spec.prompt, "untrained tokens at the start of each sequence");
  app.add_option("--layers", spec.shape.layers);
  app.add_option("--hidden", spec.shape.hidden);
  app.add_option("--intermediate", spec.shape.intermediate);
  app.add_option("--heads", spec.shape.heads);
  app.add_option("--kv-heads", spec.shape.kv_heads);
  app.add_option("--vocab", spec.shape.vocab);
  app.add_option("--rank", spec.rank, "LoRA rank, on all 7 projections");
  app.add_option("--dir", spec.dir, "where the model, adapter and batch are written");
  app.add_option("--python", spec.python, "the PyTorch side's script");
  app.add_flag("--quick", quick, "a tiny model: every check, in seconds");
  app.add_flag("--socle-only", socle_only, "socle's side alone (for profiling): no checks");
  CLI11_PARSE(app, argc, argv);
  if (quick) {
    spec.shape = RandomLlamaShape{64, 2, 160, 4, 2, 512, 256};
    spec.batch = 2;
    spec.seq = 32;
    spec.prompt = 8;
    spec.rank = 4;
    spec.steps = 3;
  }
  if (spec.threads < 1)
    spec.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (spec.steps < 2 || spec.batch < 1 || spec.seq < 2 || spec.prompt < 0 ||
      spec.prompt >= spec.seq - 1) {
    return fail("--steps >= 2, --batch >= 1, --seq >= 2 and 0 <= --prompt < --seq - 1");
  }
  if (spec.python.empty()) {
    fs::path here = fs::path(__FILE__).parent_path();
    spec.python = (here / "torch_lora_step.py").string();
  }
  bool own_dir = spec.dir.empty();
  if (own_dir) {
    spec.dir =
        (fs::temp_directory_path() / ("socle-train-bench-" + std::to_string(getpid()))).string();
  }
  std::string error;
  socle::Status written = write_inputs(spec);
  if (!written.is_ok()) return fail(written.to_string());

  SideResult torch;
  SideResult socle_side;
  std::string torch_version;
  bool ok = (socle_only || run_torch(spec, &torch, &torch_version, &error)) &&
            run_socle(spec, &socle_side, &error);
  if (own_dir) fs::remove_all(spec.dir);
  if (!ok) return fail(error);
  if (socle_only) {
    for (int s = 0; s < spec.steps; ++s) {
      auto i = static_cast<size_t>(s);
      std::printf("step %d: loss %.8f, gradient norm %.6e, %.3f s (socle alone, unchecked)\n", s,
                  socle_side.loss[i], socle_side.grad_norm[i], socle_side.seconds[i]);
    }
    return 0;
  }

  const double tokens = static_cast<double>(spec.batch * spec.seq);
  std::printf(
      "model: %lld parameters (hidden %lld, %lld layers, FFN %lld, %lld/%lld heads, "
      "vocab %lld), LoRA rank %lld on 7 projections; batch %lld x %lld tokens; "
      "%d threads; PyTorch %s\n",
      static_cast<long long>(socle::train::bench::random_llama_parameters(spec.shape)),
      static_cast<long long>(spec.shape.hidden), static_cast<long long>(spec.shape.layers),
      static_cast<long long>(spec.shape.intermediate), static_cast<long long>(spec.shape.heads),
      static_cast<long long>(spec.shape.kv_heads), static_cast<long long>(spec.shape.vocab),
      static_cast<long long>(spec.rank), static_cast<long long>(spec.batch),
      static_cast<long long>(spec.seq), spec.threads, torch_version.c_str());
  std::printf("%-5s %14s %14s %12s %12s %10s %10s\n", "step", "loss socle", "loss torch",
              "|g| socle", "|g| torch", "s socle", "s torch");
  bool agree = true;
  for (int s = 0; s < spec.steps; ++s) {
    auto i = static_cast<size_t>(s);
    double dl = relative(socle_side.loss[i], torch.loss[i]);
    double dg = relative(socle_side.grad_norm[i], torch.grad_norm[i]);
    bool step_ok = dl <= LOSS_TOLERANCE && dg <= GRAD_NORM_TOLERANCE;
    agree = agree && step_ok;
    std::printf("%-5d %14.8f %14.8f %12.6e %12.6e %10.3f %10.3f%s\n", s, socle_side.loss[i],
                torch.loss[i], socle_side.grad_norm[i], torch.grad_norm[i], socle_side.seconds[i],
                torch.seconds[i], step_ok ? "" : "  MISMATCH");
  }
  double socle_tps = tokens / median_after_warmup(socle_side.seconds);
  double torch_tps = tokens / median_after_warmup(torch.seconds);
  std::printf("training tokens/s: socle %.1f, PyTorch %.1f, socle / PyTorch %.2f\n", socle_tps,
              torch_tps, socle_tps / torch_tps);
  boost::json::object line;
  line["threads"] = spec.threads;
  line["tokens_per_step"] = tokens;
  line["socle_tokens_per_s"] = socle_tps;
  line["torch_tokens_per_s"] = torch_tps;
  line["ratio"] = socle_tps / torch_tps;
  line["agree"] = agree;
  std::printf("%s\n", boost::json::serialize(line).c_str());
  if (!agree) {
    return fail(
        "the two sides disagree: loss within 1e-4 and gradient norm within 1e-3 "
        "(relative) expected at every step");
  }
  return 0;
}
