// What the tests of `socle model` share: running the real binary, reading the safetensors
// files it writes and the golden ones with a reader of the tests' own (the header is JSON,
// so the oracle shares no code with the engine), and the tolerances they hold it to.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "support/server_process.h"

namespace socle::testing {

// The golden README's bound for a float32 implementation against transformers.
constexpr double GOLDEN_TOLERANCE = 1e-4;
// The bound for a converted f32 GGUF file against its folder (the same float32
// function up to the summation order of rope-permuted dimensions).
constexpr double GGUF_F32_TOLERANCE = 1e-5;
// The engine's bound for quantised weights against the same weights dequantised
// (QUANT_ACTIVATION_TOLERANCE in tests/unit/engine/models/llama_gguf_test.cc, which says how
// it was derived): what 8-bit activation blocks add.
constexpr double QUANT_ACTIVATION_TOLERANCE = 0.06;
constexpr int64_t GOLDEN_VOCAB = 512;
constexpr int64_t GOLDEN_HIDDEN = 64;
// The elements of the golden llama3's tensors (InfoReportsTheConfigAndCountsEveryParameter
// sums them from the safetensors header).
constexpr int64_t LLAMA3_PARAMETERS = 195008;

inline std::string golden(const std::string& model) {
  return std::string(SOCLE_GOLDEN_DIR) + "/" + model;
}

struct CliRun {
  int code = -1;
  std::string out;
  std::string err;
};

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q += c;
    }
  }
  return q + "'";
}

// Runs `socle model <args>` and returns its exit status, stdout and stderr.
inline CliRun socle_model(const std::vector<std::string>& args) {
  TempDir io;
  std::string cmd = shell_quote(SOCLE_BINARY) + " model";
  for (const std::string& a : args)
    cmd += " " + shell_quote(a);
  std::string err_path = io.path() + "/stderr";
  cmd += " 2>" + shell_quote(err_path);
  CliRun r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0)
    r.out.append(buf, n);
  int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.err = read_text_file(err_path);
  return r;
}

// A safetensors file read with no engine code: the 8-byte header length, the JSON header,
// then each tensor's bytes at its data_offsets.
struct Tensor {
  std::string dtype;
  std::vector<int64_t> shape;
  std::string bytes;

  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
  std::vector<float> f32() const {
    EXPECT_EQ(dtype, "F32");
    std::vector<float> v(bytes.size() / sizeof(float));
    std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
    return v;
  }
  std::vector<int32_t> i32() const {
    EXPECT_EQ(dtype, "I32");
    std::vector<int32_t> v(bytes.size() / sizeof(int32_t));
    std::memcpy(v.data(), bytes.data(), v.size() * sizeof(int32_t));
    return v;
  }
};

inline std::map<std::string, Tensor> read_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string file = ss.str();
  std::map<std::string, Tensor> out;
  EXPECT_GE(file.size(), 8u) << path;
  if (file.size() < 8) return out;
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i)
    header_len = (header_len << 8) | static_cast<unsigned char>(file[static_cast<size_t>(i)]);
  auto header = boost::json::parse(file.substr(8, header_len)).as_object();
  size_t data = 8 + header_len;
  for (const auto& [name, v] : header) {
    if (name == "__metadata__") continue;
    const auto& o = v.as_object();
    Tensor t;
    t.dtype = std::string(o.at("dtype").as_string());
    for (const auto& d : o.at("shape").as_array())
      t.shape.push_back(d.as_int64());
    const auto& offsets = o.at("data_offsets").as_array();
    auto begin = static_cast<size_t>(offsets[0].as_int64());
    auto end = static_cast<size_t>(offsets[1].as_int64());
    t.bytes = file.substr(data + begin, end - begin);
    out[std::string(name)] = std::move(t);
  }
  return out;
}

// ||got - want|| / ||want||, in double.
inline double relative_error(const float* got, const float* want, size_t n) {
  double diff = 0;
  double norm = 0;
  for (size_t i = 0; i < n; ++i) {
    double d = static_cast<double>(got[i]) - static_cast<double>(want[i]);
    diff += d * d;
    norm += static_cast<double>(want[i]) * static_cast<double>(want[i]);
  }
  return std::sqrt(diff) / std::sqrt(norm);
}

// The largest relative error per row of (rows, cols) matrices.
inline double worst_row_error(const std::vector<float>& got, const std::vector<float>& want,
                              int64_t cols) {
  EXPECT_EQ(got.size(), want.size());
  if (got.size() != want.size()) return INFINITY;
  double worst = 0;
  for (size_t r = 0; r < got.size() / static_cast<size_t>(cols); ++r) {
    size_t at = r * static_cast<size_t>(cols);
    worst = std::max(worst,
                     relative_error(got.data() + at, want.data() + at, static_cast<size_t>(cols)));
  }
  return worst;
}

inline std::string id_list(const std::vector<int32_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i)
    s += (i > 0 ? "," : "") + std::to_string(ids[i]);
  return s;
}

// Runs `logits` on `model` and returns the file it wrote, (n, vocab); its stdout in
// *summary if given.
inline std::vector<float> logits_of(const std::string& model, const std::vector<int32_t>& ids,
                                    const TempDir& dir, std::string* summary = nullptr) {
  std::string out = dir.path() + "/logits.safetensors";
  CliRun r = socle_model({"logits", "--model", model, "--tokens", id_list(ids), "--out", out});
  EXPECT_EQ(r.code, 0) << r.err;
  if (summary != nullptr) *summary = r.out;
  auto tensors = read_safetensors(out);
  const Tensor& t = tensors["logits"];
  EXPECT_EQ(t.shape, (std::vector<int64_t>{static_cast<int64_t>(ids.size()), GOLDEN_VOCAB}));
  std::remove(out.c_str());
  return t.f32();
}

// The summary's lines name each position, its token and the argmax of `want`'s row.
inline void expect_summary(const std::string& summary, const std::vector<int32_t>& ids,
                           const std::vector<float>& want) {
  std::istringstream lines(summary);
  std::string header;
  std::getline(lines, header);
  for (size_t t = 0; t < ids.size(); ++t) {
    long long pos = -1, token = -1, argmax = -1;
    double logit = 0;
    lines >> pos >> token >> argmax >> logit;
    const float* row = want.data() + t * GOLDEN_VOCAB;
    EXPECT_EQ(pos, static_cast<long long>(t));
    EXPECT_EQ(token, ids[t]);
    EXPECT_EQ(argmax, std::max_element(row, row + GOLDEN_VOCAB) - row) << t;
  }
}

}  // namespace socle::testing
