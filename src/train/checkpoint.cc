#include "train/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstring>
#include <filesystem>

#include "base/file.h"
#include "base/json.h"
#include "engine/format/safetensors.h"
#include "engine/format/safetensors_writer.h"

namespace socle::train {
namespace {

namespace bj = boost::json;
namespace fs = std::filesystem;

constexpr const char* STATE_FILE = "trainer_state.json";
constexpr const char* OPTIMIZER_FILE = "optimizer.safetensors";
constexpr const char* PREFIX = "checkpoint-";
constexpr const char* M_PREFIX = "exp_avg.";
constexpr const char* V_PREFIX = "exp_avg_sq.";
constexpr size_t MAX_STEP_DIGITS = 18;  // fits int64_t

Status fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return internal_error("cannot open " + dir + ": " + std::strerror(errno));
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return internal_error("cannot fsync " + dir + ": " + std::strerror(errno));
  return Status::ok();
}

std::string state_json(const TrainerState& s, int64_t optimizer_steps) {
  bj::object obj;
  obj["step"] = s.step;
  obj["data_position"] = s.data_position;
  // The seed is a full 64-bit value; JSON readers lose integers above 2^53, so it is a string.
  obj["seed"] = std::to_string(s.seed);
  obj["examples"] = s.examples;
  obj["micro_batch"] = s.micro_batch;
  obj["accumulation"] = s.accumulation;
  obj["optimizer_steps"] = optimizer_steps;
  return bj::serialize(obj) + "\n";
}

Status read_int(const std::string& path, const bj::object& obj, const char* key, int64_t* out) {
  const bj::value* v = obj.if_contains(key);
  if (v == nullptr || !v->is_int64() || v->as_int64() < 0) {
    return invalid_argument(path + ": field \"" + key + "\" must be a non-negative integer");
  }
  *out = v->as_int64();
  return Status::ok();
}

Status read_moment(const std::string& path, const engine::SafetensorsFile& file,
                   const std::string& name, size_t size, std::vector<float>* out) {
  const engine::TensorView* t = file.find(name);
  if (t == nullptr) return invalid_argument(path + ": tensor " + name + " is missing");
  if (t->dtype != engine::DType::F32 || static_cast<size_t>(t->numel()) != size) {
    return invalid_argument(path + ": tensor " + name + " must be F32 with " +
                            std::to_string(size) + " values");
  }
  out->resize(size);
  std::memcpy(out->data(), t->data, size * sizeof(float));
  return Status::ok();
}

// The complete checkpoints under `root` (a folder named checkpoint-<n> holding its state
// file), by increasing step. checkpoint-<n>.tmp folders, interrupted writes, are not.
std::vector<std::pair<int64_t, std::string>> complete_checkpoints(const std::string& root) {
  std::vector<std::pair<int64_t, std::string>> found;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(root, ec)) {
    std::string name = e.path().filename().string();
    if (!name.starts_with(PREFIX) || !e.is_directory(ec)) continue;
    std::string digits = name.substr(std::strlen(PREFIX));
    if (digits.empty() || digits.size() > MAX_STEP_DIGITS ||
        digits.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    if (!fs::exists(e.path() / STATE_FILE, ec)) continue;
    found.emplace_back(std::stoll(digits), e.path().string());
  }
  std::sort(found.begin(), found.end());
  return found;
}

}  // namespace

Result<std::string> checkpoint_write(const std::string& root, const engine::LoraAdapter& adapter,
                                     const AdamW& optimizer, const TrainerState& state) {
  SOCLE_RETURN_IF_ERROR(make_dirs(root));
  std::string final_dir = root + "/" + PREFIX + std::to_string(state.step);
  std::string tmp_dir = final_dir + ".tmp";
  std::error_code ec;
  fs::remove_all(tmp_dir, ec);
  SOCLE_RETURN_IF_ERROR(make_dirs(tmp_dir));
  SOCLE_RETURN_IF_ERROR(adapter.save_peft(tmp_dir));

  std::vector<std::string> names = adapter.tensor_names();
  std::vector<std::span<const float>> tensors = adapter.tensors();
  std::vector<engine::TensorData> data;
  const auto& m = optimizer.first_moments();
  const auto& v = optimizer.second_moments();
  if (!m.empty()) {
    SOCLE_CHECK(m.size() == names.size(), "one moment per adapter tensor");
    for (int pass = 0; pass < 2; ++pass) {
      const auto& moments = pass == 0 ? m : v;
      for (size_t k = 0; k < names.size(); ++k) {
        engine::TensorData d;
        d.name = (pass == 0 ? M_PREFIX : V_PREFIX) + names[k];
        d.shape = {static_cast<int64_t>(moments[k].size())};
        d.bytes = std::string_view(reinterpret_cast<const char*>(moments[k].data()),
                                   moments[k].size() * sizeof(float));
        data.push_back(std::move(d));
      }
    }
  }
  SOCLE_RETURN_IF_ERROR(engine::safetensors_write(tmp_dir + "/" + OPTIMIZER_FILE, data));
  SOCLE_RETURN_IF_ERROR(
      write_file_atomic(tmp_dir + "/" + STATE_FILE, state_json(state, optimizer.steps_taken())));
  SOCLE_RETURN_IF_ERROR(fsync_dir(tmp_dir));
  fs::remove_all(final_dir, ec);
  fs::rename(tmp_dir, final_dir, ec);
  if (ec)
    return internal_error("cannot rename " + tmp_dir + " to " + final_dir + ": " + ec.message());
  SOCLE_RETURN_IF_ERROR(fsync_dir(root));
  return final_dir;
}

Result<std::string> checkpoint_latest(const std::string& root) {
  std::vector<std::pair<int64_t, std::string>> found = complete_checkpoints(root);
  if (found.empty()) return not_found("no checkpoint under " + root);
  return found.back().second;
}

Status checkpoint_prune(const std::string& root, int64_t keep) {
  if (keep < 1) return Status::ok();
  std::vector<std::pair<int64_t, std::string>> found = complete_checkpoints(root);
  std::error_code ec;
  for (size_t i = 0; i + static_cast<size_t>(keep) < found.size(); ++i) {
    fs::remove_all(found[i].second, ec);
    if (ec) return internal_error("cannot remove " + found[i].second + ": " + ec.message());
  }
  return Status::ok();
}

Status checkpoint_read(const std::string& dir, const engine::HfConfig& model,
                       engine::LoraAdapter* adapter, AdamW* optimizer, TrainerState* state) {
  std::string state_path = dir + "/" + STATE_FILE;
  SOCLE_ASSIGN_OR_RETURN(std::string text, read_file(state_path));
  auto parsed = json::parse(text);
  if (!parsed.is_ok()) return invalid_argument(state_path + ": " + parsed.status().message());
  if (!parsed->is_object()) return invalid_argument(state_path + ": not a JSON object");
  const bj::object& obj = parsed->as_object();
  TrainerState s;
  int64_t optimizer_steps = 0;
  SOCLE_RETURN_IF_ERROR(read_int(state_path, obj, "step", &s.step));
  SOCLE_RETURN_IF_ERROR(read_int(state_path, obj, "data_position", &s.data_position));
  SOCLE_RETURN_IF_ERROR(read_int(state_path, obj, "examples", &s.examples));
  SOCLE_RETURN_IF_ERROR(read_int(state_path, obj, "micro_batch", &s.micro_batch));
  SOCLE_RETURN_IF_ERROR(read_int(state_path, obj, "accumulation", &s.accumulation));
  SOCLE_RETURN_IF_ERROR(read_int(state_path, obj, "optimizer_steps", &optimizer_steps));
  const bj::value* seed = obj.if_contains("seed");
  if (seed == nullptr || !seed->is_string() || seed->as_string().empty() ||
      seed->as_string().size() > 20 ||
      std::string_view(seed->as_string()).find_first_not_of("0123456789") !=
          std::string_view::npos) {
    return invalid_argument(state_path + ": field \"seed\" must be a decimal string");
  }
  s.seed = std::stoull(std::string(seed->as_string()));

  SOCLE_ASSIGN_OR_RETURN(engine::LoraAdapter loaded, engine::LoraAdapter::load_peft(dir, model));
  std::string opt_path = dir + "/" + OPTIMIZER_FILE;
  SOCLE_ASSIGN_OR_RETURN(engine::SafetensorsFile file, engine::SafetensorsFile::open(opt_path));
  std::vector<std::vector<float>> m;
  std::vector<std::vector<float>> v;
  if (!file.tensors().empty()) {
    std::vector<std::string> names = loaded.tensor_names();
    std::vector<std::span<const float>> tensors = std::as_const(loaded).tensors();
    m.resize(names.size());
    v.resize(names.size());
    for (size_t k = 0; k < names.size(); ++k) {
      SOCLE_RETURN_IF_ERROR(
          read_moment(opt_path, file, M_PREFIX + names[k], tensors[k].size(), &m[k]));
      SOCLE_RETURN_IF_ERROR(
          read_moment(opt_path, file, V_PREFIX + names[k], tensors[k].size(), &v[k]));
    }
    if (file.tensors().size() != 2 * names.size()) {
      return invalid_argument(opt_path + ": holds tensors that are not the adapter's moments");
    }
  }
  SOCLE_RETURN_IF_ERROR(optimizer->restore(optimizer_steps, std::move(m), std::move(v)));
  *adapter = std::move(loaded);
  *state = s;
  return Status::ok();
}

}  // namespace socle::train
