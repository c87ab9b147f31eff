#include "engine/format/safetensors_writer.h"

#include <boost/json.hpp>
#include <set>

#include "base/file.h"
#include "base/json.h"

namespace socle::engine {
namespace {

constexpr size_t HEADER_ALIGNMENT = 8;

}  // namespace

Result<std::string> safetensors_serialize(std::span<const TensorData> tensors,
                                          const std::map<std::string, std::string>& metadata) {
  boost::json::object header;
  if (!metadata.empty()) {
    boost::json::object meta;
    for (const auto& [k, v] : metadata)
      meta[k] = v;
    header["__metadata__"] = std::move(meta);
  }
  std::set<std::string> seen;
  uint64_t offset = 0;
  for (const TensorData& t : tensors) {
    if (!seen.insert(t.name).second) return invalid_argument("tensor '" + t.name + "' repeats");
    uint64_t numel = 1;
    boost::json::array shape;
    for (int64_t d : t.shape) {
      if (d < 0) return invalid_argument("tensor '" + t.name + "' has a negative dimension");
      numel *= static_cast<uint64_t>(d);
      shape.push_back(d);
    }
    if (numel * dtype_size(t.dtype) != t.bytes.size()) {
      return invalid_argument("tensor '" + t.name + "' has " + std::to_string(t.bytes.size()) +
                              " bytes but its dtype and shape need " +
                              std::to_string(numel * dtype_size(t.dtype)));
    }
    boost::json::object entry;
    entry["dtype"] = dtype_name(t.dtype);
    entry["shape"] = std::move(shape);
    entry["data_offsets"] = boost::json::array{offset, offset + t.bytes.size()};
    header[t.name] = std::move(entry);
    offset += t.bytes.size();
  }
  std::string text = json::dump(header);
  text.append((HEADER_ALIGNMENT - text.size() % HEADER_ALIGNMENT) % HEADER_ALIGNMENT, ' ');
  std::string out;
  out.reserve(8 + text.size() + offset);
  uint64_t len = text.size();
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((len >> (8 * i)) & 0xFF));
  out += text;
  for (const TensorData& t : tensors)
    out.append(t.bytes);
  return out;
}

Status safetensors_write(const std::string& path, std::span<const TensorData> tensors,
                         const std::map<std::string, std::string>& metadata) {
  SOCLE_ASSIGN_OR_RETURN(std::string bytes, safetensors_serialize(tensors, metadata));
  return write_file_atomic(path, bytes);
}

}  // namespace socle::engine
