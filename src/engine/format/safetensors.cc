#include "engine/format/safetensors.h"

#include <algorithm>
#include <bit>
#include <boost/json.hpp>
#include <cstring>
#include <filesystem>

#include "base/file.h"
#include "base/json.h"

namespace socle::engine {
namespace {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian and is read in place");

constexpr size_t HEADER_LENGTH_BYTES = 8;
constexpr char METADATA_KEY[] = "__metadata__";
constexpr char INDEX_FILE_NAME[] = "model.safetensors.index.json";
constexpr char SINGLE_FILE_NAME[] = "model.safetensors";

Status bad(const std::string& origin, const std::string& what) {
  return invalid_argument(origin + ": " + what);
}

std::string quote(std::string_view s) {
  return "'" + std::string(s) + "'";
}

// A non-negative JSON integer, whichever of Boost.JSON's integer kinds holds it.
std::optional<uint64_t> as_count(const boost::json::value& v) {
  if (v.is_uint64()) return v.get_uint64();
  if (v.is_int64() && v.get_int64() >= 0) return static_cast<uint64_t>(v.get_int64());
  return std::nullopt;
}

struct Entry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin;
  uint64_t end;
};

Result<Entry> parse_entry(const std::string& origin, std::string_view name,
                          const boost::json::value& v, uint64_t data_size) {
  std::string where = "tensor " + quote(name);
  if (!v.is_object()) return bad(origin, where + ": the header entry is not a JSON object");
  const auto& obj = v.as_object();
  for (const auto& kv : obj) {
    if (kv.key() != "dtype" && kv.key() != "shape" && kv.key() != "data_offsets") {
      return bad(origin, where + ": unknown field " + quote(kv.key()));
    }
  }
  const auto* dtype_v = obj.if_contains("dtype");
  if (dtype_v == nullptr || !dtype_v->is_string()) {
    return bad(origin, where + ": missing or non-string \"dtype\"");
  }
  std::string_view dtype_name_v = dtype_v->get_string();
  auto dtype = dtype_from_safetensors_name(dtype_name_v);
  if (!dtype) {
    return bad(origin, where + ": dtype " + quote(dtype_name_v) +
                           " is not supported (F32, F16, BF16, I32, I64)");
  }
  const auto* shape_v = obj.if_contains("shape");
  if (shape_v == nullptr || !shape_v->is_array()) {
    return bad(origin, where + ": missing or non-array \"shape\"");
  }
  Entry e{std::string(name), *dtype, {}, 0, 0};
  uint64_t numel = 1;
  for (const auto& d : shape_v->get_array()) {
    auto dim = as_count(d);
    if (!dim || *dim > static_cast<uint64_t>(INT64_MAX)) {
      return bad(origin, where + ": shape " + json::dump(*shape_v) +
                             " holds a value that is not a non-negative integer");
    }
    if (__builtin_mul_overflow(numel, *dim, &numel)) {
      return bad(origin, where + ": shape " + json::dump(*shape_v) + " overflows 64 bits");
    }
    e.shape.push_back(static_cast<int64_t>(*dim));
  }
  const auto* offsets_v = obj.if_contains("data_offsets");
  if (offsets_v == nullptr || !offsets_v->is_array() || offsets_v->get_array().size() != 2) {
    return bad(origin, where + ": \"data_offsets\" must be an array of two integers");
  }
  auto begin = as_count(offsets_v->get_array()[0]);
  auto end = as_count(offsets_v->get_array()[1]);
  if (!begin || !end) {
    return bad(origin, where + ": data_offsets " + json::dump(*offsets_v) +
                           " are not non-negative integers");
  }
  if (*begin > *end) {
    return bad(origin,
               where + ": data_offsets " + json::dump(*offsets_v) + " end before they begin");
  }
  if (*end > data_size) {
    return bad(origin, where + ": data_offsets " + json::dump(*offsets_v) +
                           " run past the data region of " + std::to_string(data_size) + " bytes");
  }
  uint64_t nbytes = 0;
  if (__builtin_mul_overflow(numel, static_cast<uint64_t>(dtype_size(*dtype)), &nbytes) ||
      nbytes != *end - *begin) {
    return bad(origin, where + ": " + dtype_name(*dtype) + " shape " + json::dump(*shape_v) +
                           " needs " + std::to_string(numel) + " x " +
                           std::to_string(dtype_size(*dtype)) + " bytes but data_offsets " +
                           json::dump(*offsets_v) + " hold " + std::to_string(*end - *begin));
  }
  e.begin = *begin;
  e.end = *end;
  return e;
}

}  // namespace

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

Result<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  SOCLE_ASSIGN_OR_RETURN(MappedFile mapped, MappedFile::open(path));
  SOCLE_ASSIGN_OR_RETURN(SafetensorsFile file, parse(mapped.bytes(), path));
  file.file_ = std::move(mapped);
  return file;
}

Result<SafetensorsFile> SafetensorsFile::parse(std::span<const std::byte> bytes,
                                               const std::string& origin) {
  if (bytes.size() < HEADER_LENGTH_BYTES) {
    return bad(origin, "the file has " + std::to_string(bytes.size()) +
                           " bytes, fewer than the 8-byte header length");
  }
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), HEADER_LENGTH_BYTES);
  if (header_len > SAFETENSORS_MAX_HEADER_BYTES) {
    return bad(origin, "the header length " + std::to_string(header_len) +
                           " exceeds the limit of " + std::to_string(SAFETENSORS_MAX_HEADER_BYTES) +
                           " bytes");
  }
  if (header_len > bytes.size() - HEADER_LENGTH_BYTES) {
    return bad(origin, "the header length " + std::to_string(header_len) +
                           " runs past the end of the file (" + std::to_string(bytes.size()) +
                           " bytes)");
  }
  std::string_view header(reinterpret_cast<const char*>(bytes.data()) + HEADER_LENGTH_BYTES,
                          header_len);
  if (header.empty() || header.front() != '{') {
    return bad(origin, "the header does not start with '{'");
  }
  auto parsed = json::parse(header);
  if (!parsed.is_ok())
    return bad(origin, "the header is not valid JSON: " + parsed.status().message());
  if (!parsed->is_object()) return bad(origin, "the header is not a JSON object");

  const std::byte* data = bytes.data() + HEADER_LENGTH_BYTES + header_len;
  uint64_t data_size = bytes.size() - HEADER_LENGTH_BYTES - header_len;

  SafetensorsFile out;
  out.origin_ = origin;
  std::vector<Entry> entries;
  for (const auto& kv : parsed->as_object()) {
    if (kv.key() == METADATA_KEY) {
      if (!kv.value().is_object()) return bad(origin, "\"__metadata__\" is not a JSON object");
      for (const auto& m : kv.value().as_object()) {
        if (!m.value().is_string()) {
          return bad(origin, "\"__metadata__\" value of " + quote(m.key()) + " is not a string");
        }
        out.metadata_[std::string(m.key())] = std::string(m.value().get_string());
      }
      continue;
    }
    SOCLE_ASSIGN_OR_RETURN(Entry e, parse_entry(origin, kv.key(), kv.value(), data_size));
    entries.push_back(std::move(e));
  }
  // Boost.JSON keeps one of duplicate keys; a dropped duplicate with its own bytes leaves a
  // gap that the tiling check below reports, and one with the same bytes is harmless.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  // As in the reference implementation, the tensors tile the data region exactly: each
  // begins where the previous one ended and the last ends at the end of the file. This
  // rejects overlaps (two tensors sharing bytes) and unaccounted bytes alike.
  uint64_t expected_begin = 0;
  for (const Entry& e : entries) {
    if (e.begin < expected_begin) {
      return bad(origin, "tensor " + quote(e.name) + ": data_offsets [" + std::to_string(e.begin) +
                             ", " + std::to_string(e.end) +
                             "] overlap the previous tensor, which ends at " +
                             std::to_string(expected_begin));
    }
    if (e.begin > expected_begin) {
      return bad(origin, "tensor " + quote(e.name) + ": data_offsets [" + std::to_string(e.begin) +
                             ", " + std::to_string(e.end) + "] leave a gap after byte " +
                             std::to_string(expected_begin) + " of the data region");
    }
    expected_begin = e.end;
  }
  if (expected_begin != data_size) {
    return bad(origin, "the tensors cover " + std::to_string(expected_begin) +
                           " bytes but the data region holds " + std::to_string(data_size));
  }
  out.tensors_.reserve(entries.size());
  for (Entry& e : entries) {
    TensorView t;
    t.name = std::move(e.name);
    t.dtype = e.dtype;
    t.shape = std::move(e.shape);
    t.data = data + e.begin;
    t.nbytes = e.end - e.begin;
    out.by_name_[t.name] = out.tensors_.size();
    out.tensors_.push_back(std::move(t));
  }
  return out;
}

const TensorView* SafetensorsFile::find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

Status SafetensorsModel::add_shard(SafetensorsFile shard) {
  size_t shard_index = shards_.size();
  for (size_t i = 0; i < shard.tensors().size(); ++i) {
    const std::string& name = shard.tensors()[i].name;
    auto [it, inserted] = by_name_.emplace(name, std::make_pair(shard_index, i));
    if (!inserted) {
      return bad(shard.origin(),
                 "tensor " + quote(name) + " is also in " + shards_[it->second.first].origin());
    }
  }
  shards_.push_back(std::move(shard));
  return Status::ok();
}

Result<SafetensorsModel> SafetensorsModel::open_file(const std::string& path) {
  SOCLE_ASSIGN_OR_RETURN(SafetensorsFile file, SafetensorsFile::open(path));
  SafetensorsModel model;
  SOCLE_RETURN_IF_ERROR(model.add_shard(std::move(file)));
  return model;
}

Result<SafetensorsModel> SafetensorsModel::open_dir(const std::string& dir) {
  std::filesystem::path index = std::filesystem::path(dir) / INDEX_FILE_NAME;
  std::error_code ec;
  if (std::filesystem::exists(index, ec)) return open_index(index.string());
  std::filesystem::path single = std::filesystem::path(dir) / SINGLE_FILE_NAME;
  if (!std::filesystem::exists(single, ec)) {
    return not_found(dir + " holds neither " + INDEX_FILE_NAME + " nor " + SINGLE_FILE_NAME);
  }
  return open_file(single.string());
}

Result<SafetensorsModel> SafetensorsModel::open_index(const std::string& index_path) {
  SOCLE_ASSIGN_OR_RETURN(std::string text, read_file(index_path));
  auto parsed = json::parse(text);
  if (!parsed.is_ok()) return bad(index_path, parsed.status().message());
  if (!parsed->is_object()) return bad(index_path, "the index is not a JSON object");
  const auto* map_v = parsed->as_object().if_contains("weight_map");
  if (map_v == nullptr || !map_v->is_object()) {
    return bad(index_path, "missing or non-object \"weight_map\"");
  }
  // Shard file name -> the tensors the index places in it, in a stable order.
  std::map<std::string, std::vector<std::string>> wanted;
  for (const auto& kv : map_v->as_object()) {
    if (!kv.value().is_string()) {
      return bad(index_path, "weight_map entry " + quote(kv.key()) + " is not a string");
    }
    std::string shard(kv.value().get_string());
    // Shards live next to the index: a path that climbs out or is absolute is refused.
    if (shard.empty() || shard.find('/') != std::string::npos || shard == "." || shard == "..") {
      return bad(index_path, "weight_map entry " + quote(kv.key()) + " names shard " +
                                 quote(shard) +
                                 ", which is not a plain file name in the index's folder");
    }
    wanted[shard].push_back(std::string(kv.key()));
  }
  if (wanted.empty()) return bad(index_path, "\"weight_map\" names no tensors");
  std::filesystem::path folder = std::filesystem::path(index_path).parent_path();
  SafetensorsModel model;
  for (const auto& [shard_name, names] : wanted) {
    SOCLE_ASSIGN_OR_RETURN(SafetensorsFile shard,
                           SafetensorsFile::open((folder / shard_name).string()));
    for (const std::string& name : names) {
      if (shard.find(name) == nullptr) {
        return bad(index_path, "weight_map places tensor " + quote(name) + " in " +
                                   quote(shard_name) + ", which does not hold it");
      }
    }
    if (shard.tensors().size() != names.size()) {
      return bad(index_path,
                 "shard " + quote(shard_name) + " holds " + std::to_string(shard.tensors().size()) +
                     " tensors but weight_map places " + std::to_string(names.size()) + " there");
    }
    SOCLE_RETURN_IF_ERROR(model.add_shard(std::move(shard)));
  }
  return model;
}

const TensorView* SafetensorsModel::find(std::string_view name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return nullptr;
  return &shards_[it->second.first].tensors()[it->second.second];
}

std::vector<std::string> SafetensorsModel::names() const {
  std::vector<std::string> out;
  out.reserve(by_name_.size());
  for (const auto& kv : by_name_)
    out.push_back(kv.first);
  return out;
}

}  // namespace socle::engine
