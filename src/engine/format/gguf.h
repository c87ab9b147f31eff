// GGUF version 3, the file format of llama.cpp: a header ("GGUF", version, tensor and
// metadata counts), typed key/value metadata, tensor descriptions (name, dimensions
// innermost first, ggml type, offset), then the tensor data, each tensor aligned to
// `general.alignment` (32 by default). Files are memory-mapped and validated before anything
// is handed out: every count against the bytes left, known value and tensor types, no
// duplicate keys or names, each offset equal to the running sum of the padded sizes before
// it; a rejection names the file, the byte offset and the item at fault.
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

inline constexpr uint32_t GGUF_VERSION = 3;
inline constexpr uint64_t GGUF_DEFAULT_ALIGNMENT = 32;
inline constexpr uint32_t GGUF_MAX_DIMS = 4;  // ggml's GGML_MAX_DIMS

// The metadata value types, numbered as on disk.
enum class GgufType : uint32_t {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
};

// One metadata value. Integers of every width live in `u` (unsigned) or `i` (signed), both
// floats in `f`; an ARRAY holds its element type and elements (arrays do not nest).
struct GgufValue {
  GgufType type = GgufType::UINT32;
  uint64_t u = 0;
  int64_t i = 0;
  double f = 0;
  bool b = false;
  std::string s;
  GgufType array_type = GgufType::UINT32;
  std::vector<GgufValue> array;

  static GgufValue u32(uint32_t v);
  static GgufValue u64(uint64_t v);
  static GgufValue i32(int32_t v);
  static GgufValue f32(float v);
  static GgufValue boolean(bool v);
  static GgufValue str(std::string v);
  static GgufValue strings(const std::vector<std::string>& v);
  static GgufValue f32s(const std::vector<float>& v);
  static GgufValue i32s(const std::vector<int32_t>& v);

  // The value as an unsigned count, if it is a non-negative integer of any width.
  std::optional<uint64_t> as_count() const;
  // The value as a double, if it is a number of any type.
  std::optional<double> as_number() const;
};

// ggml's number for a weight type (F32 0, F16 1, Q4_0 2, Q8_0 8, Q4_K 12, Q6_K 14, BF16 30);
// nullopt for the integer types.
std::optional<uint32_t> ggml_type_of(DType type);
// The weight type of a ggml number; nullopt for types socle does not compute with.
std::optional<DType> dtype_from_ggml(uint32_t ggml_type);

struct GgufTensor {
  std::string name;
  DType type = DType::F32;
  std::vector<int64_t> dims;  // ggml order: dims[0] is the row length (innermost)
  uint64_t offset = 0;        // from the start of the data section
  const std::byte* data = nullptr;
  size_t nbytes = 0;

  int64_t numel() const;
  int64_t cols() const { return dims.empty() ? 1 : dims[0]; }
  int64_t rows() const { return cols() == 0 ? 0 : numel() / cols(); }
};

class GgufFile {
 public:
  // Maps and validates `path`.
  static Result<GgufFile> open(const std::string& path);
  // Validates bytes owned by the caller, which must outlive the result; `origin` names them
  // in errors. For tests and fuzzers.
  static Result<GgufFile> parse(std::span<const std::byte> bytes, const std::string& origin);

  // In file order.
  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  const GgufTensor* find(std::string_view name) const;
  const std::map<std::string, GgufValue, std::less<>>& metadata() const { return metadata_; }
  const GgufValue* value(std::string_view key) const;
  uint64_t alignment() const { return alignment_; }
  const std::string& origin() const { return origin_; }

 private:
  GgufFile() = default;

  std::optional<MappedFile> file_;
  std::string origin_;
  uint64_t alignment_ = GGUF_DEFAULT_ALIGNMENT;
  std::vector<GgufTensor> tensors_;
  std::map<std::string, size_t, std::less<>> by_name_;
  std::map<std::string, GgufValue, std::less<>> metadata_;
};

// A tensor to write: `bytes` holds the rows of `type` (dtype_row_bytes(type, dims[0]) each).
struct GgufTensorData {
  std::string name;
  DType type = DType::F32;
  std::vector<int64_t> dims;  // ggml order, innermost first
  std::string_view bytes;
};

// The file's bytes, metadata in the order given (a `general.alignment` entry, if any, sets
// the alignment), tensors laid out in order, each padded with zeros to the alignment.
// INVALID_ARGUMENT for a repeated key or name, a byte count that disagrees with the type and
// dimensions, a row length that is not a multiple of the type's block, or an alignment that
// is not a power of two.
Result<std::string> gguf_serialize(const std::vector<std::pair<std::string, GgufValue>>& metadata,
                                   std::span<const GgufTensorData> tensors);

// Serialises and writes atomically to `path`.
Status gguf_write(const std::string& path,
                  const std::vector<std::pair<std::string, GgufValue>>& metadata,
                  std::span<const GgufTensorData> tensors);

}  // namespace socle::engine
