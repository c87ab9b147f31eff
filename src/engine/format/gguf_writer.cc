// GGUF writing and the metadata value helpers. The writer lays a file out exactly as the
// reader demands (and as llama.cpp's gguf_write does): header, metadata, tensor descriptions
// with running offsets, zero padding to the alignment, then each tensor padded the same way.
#include <bit>
#include <cstring>
#include <set>

#include "base/file.h"
#include "engine/format/gguf.h"

namespace socle::engine {
namespace {

uint64_t align_up(uint64_t n, uint64_t alignment) {
  return (n + alignment - 1) / alignment * alignment;
}

template <typename T>
void put(std::string& out, T v) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  out.append(buf, sizeof(T));
}

void put_string(std::string& out, std::string_view s) {
  put<uint64_t>(out, s.size());
  out.append(s);
}

void put_scalar(std::string& out, GgufType type, const GgufValue& v) {
  switch (type) {
    case GgufType::UINT8:
      return put<uint8_t>(out, static_cast<uint8_t>(v.u));
    case GgufType::INT8:
      return put<int8_t>(out, static_cast<int8_t>(v.i));
    case GgufType::UINT16:
      return put<uint16_t>(out, static_cast<uint16_t>(v.u));
    case GgufType::INT16:
      return put<int16_t>(out, static_cast<int16_t>(v.i));
    case GgufType::UINT32:
      return put<uint32_t>(out, static_cast<uint32_t>(v.u));
    case GgufType::INT32:
      return put<int32_t>(out, static_cast<int32_t>(v.i));
    case GgufType::UINT64:
      return put<uint64_t>(out, v.u);
    case GgufType::INT64:
      return put<int64_t>(out, v.i);
    case GgufType::FLOAT32:
      return put<float>(out, static_cast<float>(v.f));
    case GgufType::FLOAT64:
      return put<double>(out, v.f);
    case GgufType::BOOL:
      return put<uint8_t>(out, v.b ? 1 : 0);
    case GgufType::STRING:
      return put_string(out, v.s);
    case GgufType::ARRAY:
      break;
  }
}

void put_value(std::string& out, const GgufValue& v) {
  put<uint32_t>(out, static_cast<uint32_t>(v.type));
  if (v.type != GgufType::ARRAY) return put_scalar(out, v.type, v);
  put<uint32_t>(out, static_cast<uint32_t>(v.array_type));
  put<uint64_t>(out, v.array.size());
  for (const GgufValue& e : v.array)
    put_scalar(out, v.array_type, e);
}

}  // namespace

GgufValue GgufValue::u32(uint32_t v) {
  GgufValue out;
  out.type = GgufType::UINT32;
  out.u = v;
  return out;
}

GgufValue GgufValue::u64(uint64_t v) {
  GgufValue out;
  out.type = GgufType::UINT64;
  out.u = v;
  return out;
}

GgufValue GgufValue::i32(int32_t v) {
  GgufValue out;
  out.type = GgufType::INT32;
  out.i = v;
  return out;
}

GgufValue GgufValue::f32(float v) {
  GgufValue out;
  out.type = GgufType::FLOAT32;
  out.f = v;
  return out;
}

GgufValue GgufValue::boolean(bool v) {
  GgufValue out;
  out.type = GgufType::BOOL;
  out.b = v;
  return out;
}

GgufValue GgufValue::str(std::string v) {
  GgufValue out;
  out.type = GgufType::STRING;
  out.s = std::move(v);
  return out;
}

GgufValue GgufValue::strings(const std::vector<std::string>& v) {
  GgufValue out;
  out.type = GgufType::ARRAY;
  out.array_type = GgufType::STRING;
  for (const auto& s : v)
    out.array.push_back(str(s));
  return out;
}

GgufValue GgufValue::f32s(const std::vector<float>& v) {
  GgufValue out;
  out.type = GgufType::ARRAY;
  out.array_type = GgufType::FLOAT32;
  for (float x : v)
    out.array.push_back(f32(x));
  return out;
}

GgufValue GgufValue::i32s(const std::vector<int32_t>& v) {
  GgufValue out;
  out.type = GgufType::ARRAY;
  out.array_type = GgufType::INT32;
  for (int32_t x : v)
    out.array.push_back(i32(x));
  return out;
}

std::optional<uint64_t> GgufValue::as_count() const {
  switch (type) {
    case GgufType::UINT8:
    case GgufType::UINT16:
    case GgufType::UINT32:
    case GgufType::UINT64:
      return u;
    case GgufType::INT8:
    case GgufType::INT16:
    case GgufType::INT32:
    case GgufType::INT64:
      if (i >= 0) return static_cast<uint64_t>(i);
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

std::optional<double> GgufValue::as_number() const {
  if (type == GgufType::FLOAT32 || type == GgufType::FLOAT64) return f;
  if (type == GgufType::INT8 || type == GgufType::INT16 || type == GgufType::INT32 ||
      type == GgufType::INT64) {
    return static_cast<double>(i);
  }
  if (auto c = as_count()) return static_cast<double>(*c);
  return std::nullopt;
}

Result<std::string> gguf_serialize(const std::vector<std::pair<std::string, GgufValue>>& metadata,
                                   std::span<const GgufTensorData> tensors) {
  uint64_t alignment = GGUF_DEFAULT_ALIGNMENT;
  std::set<std::string_view> keys;
  for (const auto& [key, value] : metadata) {
    if (!keys.insert(key).second) return invalid_argument("metadata key '" + key + "' repeats");
    if (key == "general.alignment") {
      if (value.type != GgufType::UINT32 || value.u == 0 || !std::has_single_bit(value.u)) {
        return invalid_argument("general.alignment must be a uint32 power of two");
      }
      alignment = value.u;
    }
  }
  std::set<std::string_view> names;
  for (const GgufTensorData& t : tensors) {
    if (!names.insert(t.name).second) return invalid_argument("tensor '" + t.name + "' repeats");
    if (t.dims.empty() || t.dims.size() > GGUF_MAX_DIMS) {
      return invalid_argument("tensor '" + t.name + "' needs 1 to 4 dimensions");
    }
    if (!ggml_type_of(t.type) || t.dims[0] % dtype_block_values(t.type) != 0) {
      return invalid_argument("tensor '" + t.name + "': " + dtype_name(t.type) +
                              " cannot hold rows of " + std::to_string(t.dims[0]) + " values");
    }
    int64_t rows = 1;
    for (size_t d = 1; d < t.dims.size(); ++d)
      rows *= t.dims[d];
    size_t want = dtype_row_bytes(t.type, t.dims[0]) * static_cast<size_t>(rows);
    if (want != t.bytes.size()) {
      return invalid_argument("tensor '" + t.name + "' has " + std::to_string(t.bytes.size()) +
                              " bytes; its type and dimensions need " + std::to_string(want));
    }
  }
  std::string out;
  out.append("GGUF", 4);
  put<uint32_t>(out, GGUF_VERSION);
  put<uint64_t>(out, tensors.size());
  put<uint64_t>(out, metadata.size());
  for (const auto& [key, value] : metadata) {
    put_string(out, key);
    put_value(out, value);
  }
  uint64_t offset = 0;
  for (const GgufTensorData& t : tensors) {
    put_string(out, t.name);
    put<uint32_t>(out, static_cast<uint32_t>(t.dims.size()));
    for (int64_t d : t.dims)
      put<int64_t>(out, d);
    put<uint32_t>(out, *ggml_type_of(t.type));
    put<uint64_t>(out, offset);
    offset += align_up(t.bytes.size(), alignment);
  }
  out.resize(align_up(out.size(), alignment), '\0');
  for (const GgufTensorData& t : tensors) {
    out.append(t.bytes);
    out.resize(align_up(out.size(), alignment), '\0');
  }
  return out;
}

Status gguf_write(const std::string& path,
                  const std::vector<std::pair<std::string, GgufValue>>& metadata,
                  std::span<const GgufTensorData> tensors) {
  SOCLE_ASSIGN_OR_RETURN(std::string bytes, gguf_serialize(metadata, tensors));
  return write_file_atomic(path, bytes);
}

}  // namespace socle::engine
