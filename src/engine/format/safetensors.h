// Reader for Hugging Face safetensors files: an 8-byte little-endian header length, a JSON
// header naming each tensor's dtype, shape and [begin, end) byte range in the data region
// that follows, then the data. Files are memory-mapped and validated before any tensor is
// handed out; a file that is not exactly what the format says is rejected with an error that
// names the file, the tensor and the value at fault.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "engine/format/dtype.h"
#include "engine/format/mapped_file.h"

namespace socle::engine {

// The reference implementation's limit: no real header comes near it, and it bounds what a
// hostile length field can make us parse.
inline constexpr uint64_t SAFETENSORS_MAX_HEADER_BYTES = 100ull << 20;

// One tensor inside a validated file. `data` points into the file's bytes (not necessarily
// aligned to the element size) and holds exactly numel() * dtype_size(dtype) bytes.
struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;  // row-major, outermost first; empty for a scalar
  const std::byte* data = nullptr;
  size_t nbytes = 0;

  int64_t numel() const;
};

class SafetensorsFile {
 public:
  // Maps and validates `path`.
  static Result<SafetensorsFile> open(const std::string& path);
  // Validates bytes owned by the caller, which must outlive the result; `origin` names them
  // in errors. For tests and fuzzers.
  static Result<SafetensorsFile> parse(std::span<const std::byte> bytes, const std::string& origin);

  // Tensors in the order of their data offsets.
  const std::vector<TensorView>& tensors() const { return tensors_; }
  // nullptr if there is no tensor by that name.
  const TensorView* find(std::string_view name) const;
  // The header's optional "__metadata__" string map.
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& origin() const { return origin_; }

 private:
  SafetensorsFile() = default;

  std::optional<MappedFile> file_;
  std::string origin_;
  std::vector<TensorView> tensors_;
  std::map<std::string, size_t, std::less<>> by_name_;
  std::map<std::string, std::string> metadata_;
};

// The tensors of one model, from a single file or from the shards listed in a
// model.safetensors.index.json ("weight_map": tensor name -> shard file name).
class SafetensorsModel {
 public:
  // Opens `dir`/model.safetensors.index.json if it exists, else `dir`/model.safetensors.
  static Result<SafetensorsModel> open_dir(const std::string& dir);
  // Opens the shards that an index file names (relative to the index's folder) and checks
  // that each tensor it maps is in the shard it names and that no tensor appears twice.
  static Result<SafetensorsModel> open_index(const std::string& index_path);
  // One file holds every tensor.
  static Result<SafetensorsModel> open_file(const std::string& path);

  const TensorView* find(std::string_view name) const;
  // Every tensor name, sorted.
  std::vector<std::string> names() const;
  size_t shard_count() const { return shards_.size(); }

 private:
  SafetensorsModel() = default;
  Status add_shard(SafetensorsFile shard);

  std::vector<SafetensorsFile> shards_;
  // name -> (shard index, tensor index in that shard)
  std::map<std::string, std::pair<size_t, size_t>, std::less<>> by_name_;
};

}  // namespace socle::engine
