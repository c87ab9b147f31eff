#include "engine/format/gguf.h"

#include <array>
#include <bit>
#include <cstring>

namespace socle::engine {
namespace {

static_assert(std::endian::native == std::endian::little,
              "GGUF is little-endian and is read in place");

constexpr char GGUF_MAGIC[4] = {'G', 'G', 'U', 'F'};
constexpr char ALIGNMENT_KEY[] = "general.alignment";

// The fewest bytes one metadata entry or tensor description can take: what the counts in the
// header are checked against before anything is allocated for them.
constexpr uint64_t STRING_MIN_BYTES = 8;                                      // the length alone
constexpr uint64_t KV_MIN_BYTES = STRING_MIN_BYTES + 4 + 1;                   // key, type, a uint8
constexpr uint64_t TENSOR_INFO_MIN_BYTES = STRING_MIN_BYTES + 4 + 8 + 4 + 8;  // one dim

uint64_t align_up(uint64_t n, uint64_t alignment) {
  return (n + alignment - 1) / alignment * alignment;
}

// Bytes of one scalar of `type`; 0 for STRING and ARRAY, which have their own sizes.
uint64_t scalar_size(GgufType type) {
  switch (type) {
    case GgufType::UINT8:
    case GgufType::INT8:
    case GgufType::BOOL:
      return 1;
    case GgufType::UINT16:
    case GgufType::INT16:
      return 2;
    case GgufType::UINT32:
    case GgufType::INT32:
    case GgufType::FLOAT32:
      return 4;
    case GgufType::UINT64:
    case GgufType::INT64:
    case GgufType::FLOAT64:
      return 8;
    case GgufType::STRING:
    case GgufType::ARRAY:
      return 0;
  }
  return 0;
}

bool known_type(uint32_t t) {
  return t <= static_cast<uint32_t>(GgufType::FLOAT64);
}

// Reads the file front to back; every read checks the bytes left first, and every error says
// at which byte it happened.
class Cursor {
 public:
  Cursor(std::span<const std::byte> bytes, const std::string& origin)
      : bytes_(bytes), origin_(origin) {}

  uint64_t pos() const { return pos_; }
  uint64_t left() const { return bytes_.size() - pos_; }

  Status bad(const std::string& what) const { return bad_at(pos_, what); }
  Status bad_at(uint64_t at, const std::string& what) const {
    return invalid_argument(origin_ + ": at byte " + std::to_string(at) + ": " + what);
  }

  template <typename T>
  Result<T> read(const char* what) {
    if (left() < sizeof(T)) {
      return bad(std::string(what) + " needs " + std::to_string(sizeof(T)) + " bytes but " +
                 std::to_string(left()) + " are left");
    }
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  Result<std::string> read_string(const std::string& what) {
    uint64_t at = pos_;
    SOCLE_ASSIGN_OR_RETURN(uint64_t len, read<uint64_t>((what + "'s length").c_str()));
    if (len > left()) {
      return bad_at(at, what + " has length " + std::to_string(len) + " but only " +
                            std::to_string(left()) + " bytes are left");
    }
    std::string s(reinterpret_cast<const char*>(bytes_.data()) + pos_, len);
    pos_ += len;
    return s;
  }

 private:
  std::span<const std::byte> bytes_;
  const std::string& origin_;
  uint64_t pos_ = 0;
};

Result<GgufValue> read_scalar(Cursor& c, GgufType type, const std::string& where) {
  GgufValue v;
  v.type = type;
  switch (type) {
    case GgufType::UINT8: {
      SOCLE_ASSIGN_OR_RETURN(uint8_t x, c.read<uint8_t>(where.c_str()));
      v.u = x;
      return v;
    }
    case GgufType::INT8: {
      // Read as a byte and sign-extended explicitly: INT8 holds a number, not a character.
      SOCLE_ASSIGN_OR_RETURN(uint8_t x, c.read<uint8_t>(where.c_str()));
      v.i = x < 128 ? x : static_cast<int64_t>(x) - 256;
      return v;
    }
    case GgufType::UINT16: {
      SOCLE_ASSIGN_OR_RETURN(uint16_t x, c.read<uint16_t>(where.c_str()));
      v.u = x;
      return v;
    }
    case GgufType::INT16: {
      SOCLE_ASSIGN_OR_RETURN(int16_t x, c.read<int16_t>(where.c_str()));
      v.i = x;
      return v;
    }
    case GgufType::UINT32: {
      SOCLE_ASSIGN_OR_RETURN(uint32_t x, c.read<uint32_t>(where.c_str()));
      v.u = x;
      return v;
    }
    case GgufType::INT32: {
      SOCLE_ASSIGN_OR_RETURN(int32_t x, c.read<int32_t>(where.c_str()));
      v.i = x;
      return v;
    }
    case GgufType::UINT64: {
      SOCLE_ASSIGN_OR_RETURN(v.u, c.read<uint64_t>(where.c_str()));
      return v;
    }
    case GgufType::INT64: {
      SOCLE_ASSIGN_OR_RETURN(v.i, c.read<int64_t>(where.c_str()));
      return v;
    }
    case GgufType::FLOAT32: {
      SOCLE_ASSIGN_OR_RETURN(float x, c.read<float>(where.c_str()));
      v.f = x;
      return v;
    }
    case GgufType::FLOAT64: {
      SOCLE_ASSIGN_OR_RETURN(v.f, c.read<double>(where.c_str()));
      return v;
    }
    case GgufType::BOOL: {
      uint64_t at = c.pos();
      SOCLE_ASSIGN_OR_RETURN(uint8_t x, c.read<uint8_t>(where.c_str()));
      if (x > 1) return c.bad_at(at, where + " is a bool of value " + std::to_string(x));
      v.b = x != 0;
      return v;
    }
    case GgufType::STRING: {
      SOCLE_ASSIGN_OR_RETURN(v.s, c.read_string(where));
      return v;
    }
    case GgufType::ARRAY:
      break;
  }
  return c.bad(where + ": arrays of arrays are not supported");
}

Result<GgufValue> read_value(Cursor& c, const std::string& where) {
  uint64_t at = c.pos();
  SOCLE_ASSIGN_OR_RETURN(uint32_t raw, c.read<uint32_t>((where + "'s type").c_str()));
  if (!known_type(raw))
    return c.bad_at(at, where + " has unknown value type " + std::to_string(raw));
  auto type = static_cast<GgufType>(raw);
  if (type != GgufType::ARRAY) return read_scalar(c, type, where);
  at = c.pos();
  SOCLE_ASSIGN_OR_RETURN(uint32_t elem_raw, c.read<uint32_t>((where + "'s element type").c_str()));
  if (!known_type(elem_raw)) {
    return c.bad_at(at, where + " is an array of unknown type " + std::to_string(elem_raw));
  }
  auto elem = static_cast<GgufType>(elem_raw);
  if (elem == GgufType::ARRAY) return c.bad_at(at, where + ": arrays of arrays are not supported");
  at = c.pos();
  SOCLE_ASSIGN_OR_RETURN(uint64_t count, c.read<uint64_t>((where + "'s length").c_str()));
  uint64_t min_size = elem == GgufType::STRING ? STRING_MIN_BYTES : scalar_size(elem);
  if (count > c.left() / min_size) {
    return c.bad_at(at, where + " claims " + std::to_string(count) + " elements, more than the " +
                            std::to_string(c.left()) + " bytes left can hold");
  }
  GgufValue v;
  v.type = GgufType::ARRAY;
  v.array_type = elem;
  v.array.reserve(count);
  for (uint64_t k = 0; k < count; ++k) {
    SOCLE_ASSIGN_OR_RETURN(GgufValue e,
                           read_scalar(c, elem, where + "[" + std::to_string(k) + "]"));
    v.array.push_back(std::move(e));
  }
  return v;
}

}  // namespace

int64_t GgufTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : dims)
    n *= d;
  return n;
}

std::optional<uint32_t> ggml_type_of(DType type) {
  switch (type) {
    case DType::F32:
      return 0;
    case DType::F16:
      return 1;
    case DType::Q4_0:
      return 2;
    case DType::Q8_0:
      return 8;
    case DType::Q4_K:
      return 12;
    case DType::Q6_K:
      return 14;
    case DType::BF16:
      return 30;
    case DType::I32:
    case DType::I64:
      break;
  }
  return std::nullopt;
}

std::optional<DType> dtype_from_ggml(uint32_t ggml_type) {
  for (DType t :
       {DType::F32, DType::F16, DType::Q4_0, DType::Q8_0, DType::Q4_K, DType::Q6_K, DType::BF16}) {
    if (ggml_type_of(t) == ggml_type) return t;
  }
  return std::nullopt;
}

const GgufTensor* GgufFile::find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

const GgufValue* GgufFile::value(std::string_view key) const {
  auto it = metadata_.find(key);
  return it == metadata_.end() ? nullptr : &it->second;
}

Result<GgufFile> GgufFile::open(const std::string& path) {
  SOCLE_ASSIGN_OR_RETURN(MappedFile mapped, MappedFile::open(path));
  SOCLE_ASSIGN_OR_RETURN(GgufFile file, parse(mapped.bytes(), path));
  file.file_ = std::move(mapped);
  return file;
}

Result<GgufFile> GgufFile::parse(std::span<const std::byte> bytes, const std::string& origin) {
  GgufFile out;
  out.origin_ = origin;
  Cursor c(bytes, out.origin_);
  using Magic = std::array<char, 4>;
  SOCLE_ASSIGN_OR_RETURN(Magic magic, c.read<Magic>("the magic"));
  if (std::memcmp(magic.data(), GGUF_MAGIC, sizeof(GGUF_MAGIC)) != 0) {
    return c.bad_at(0, "the file does not start with \"GGUF\"");
  }
  SOCLE_ASSIGN_OR_RETURN(uint32_t version, c.read<uint32_t>("the version"));
  if (version != GGUF_VERSION) {
    return c.bad_at(4, "version " + std::to_string(version) + " is not supported (only 3)");
  }
  SOCLE_ASSIGN_OR_RETURN(uint64_t n_tensors, c.read<uint64_t>("the tensor count"));
  SOCLE_ASSIGN_OR_RETURN(uint64_t n_kv, c.read<uint64_t>("the metadata count"));
  if (n_kv > c.left() / KV_MIN_BYTES) {
    return c.bad_at(16, "the metadata count " + std::to_string(n_kv) + " is more than the " +
                            std::to_string(c.left()) + " bytes left can hold");
  }
  if (n_tensors > c.left() / TENSOR_INFO_MIN_BYTES) {
    return c.bad_at(8, "the tensor count " + std::to_string(n_tensors) + " is more than the " +
                           std::to_string(c.left()) + " bytes left can hold");
  }
  for (uint64_t k = 0; k < n_kv; ++k) {
    uint64_t at = c.pos();
    SOCLE_ASSIGN_OR_RETURN(std::string key, c.read_string("metadata key " + std::to_string(k)));
    if (out.metadata_.count(key) != 0) return c.bad_at(at, "metadata key '" + key + "' repeats");
    SOCLE_ASSIGN_OR_RETURN(GgufValue v, read_value(c, "metadata '" + key + "'"));
    if (key == ALIGNMENT_KEY) {
      if (v.type != GgufType::UINT32 || v.u == 0 || !std::has_single_bit(v.u)) {
        return c.bad_at(at, "general.alignment must be a uint32 power of two");
      }
      out.alignment_ = v.u;
    }
    out.metadata_.emplace(std::move(key), std::move(v));
  }
  // Tensor descriptions; offsets must follow one another exactly, each size padded.
  uint64_t expected_offset = 0;
  out.tensors_.reserve(n_tensors);
  for (uint64_t k = 0; k < n_tensors; ++k) {
    uint64_t at = c.pos();
    GgufTensor t;
    SOCLE_ASSIGN_OR_RETURN(t.name, c.read_string("tensor " + std::to_string(k) + "'s name"));
    std::string where = "tensor '" + t.name + "'";
    if (out.by_name_.count(t.name) != 0) return c.bad_at(at, where + " repeats");
    uint64_t dims_at = c.pos();
    SOCLE_ASSIGN_OR_RETURN(uint32_t n_dims,
                           c.read<uint32_t>((where + "'s dimension count").c_str()));
    if (n_dims == 0 || n_dims > GGUF_MAX_DIMS) {
      return c.bad_at(dims_at, where + " has " + std::to_string(n_dims) + " dimensions (1 to 4)");
    }
    int64_t numel = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      SOCLE_ASSIGN_OR_RETURN(int64_t dim, c.read<int64_t>((where + "'s dimension").c_str()));
      if (dim < 0) return c.bad_at(dims_at, where + " has a negative dimension");
      if (__builtin_mul_overflow(numel, dim, &numel)) {
        return c.bad_at(dims_at, where + "'s dimensions overflow 64 bits");
      }
      t.dims.push_back(dim);
    }
    uint64_t type_at = c.pos();
    SOCLE_ASSIGN_OR_RETURN(uint32_t ggml_type, c.read<uint32_t>((where + "'s type").c_str()));
    auto type = dtype_from_ggml(ggml_type);
    if (!type) {
      return c.bad_at(type_at, where + " has ggml type " + std::to_string(ggml_type) +
                                   ", which socle does not read (F32, F16, BF16, Q8_0, Q4_0, "
                                   "Q4_K, Q6_K)");
    }
    t.type = *type;
    if (t.dims[0] % dtype_block_values(t.type) != 0) {
      return c.bad_at(dims_at, where + ": rows of " + std::to_string(t.dims[0]) +
                                   " values are "
                                   "not whole " +
                                   dtype_name(t.type) + " blocks of " +
                                   std::to_string(dtype_block_values(t.type)));
    }
    uint64_t row_bytes = dtype_row_bytes(t.type, t.dims[0]);
    uint64_t rows = t.dims[0] == 0 ? 0 : static_cast<uint64_t>(numel / t.dims[0]);
    uint64_t nbytes = 0;
    if (__builtin_mul_overflow(row_bytes, rows, &nbytes) || nbytes > bytes.size()) {
      return c.bad_at(dims_at, where + " needs more bytes than the file has");
    }
    t.nbytes = nbytes;
    uint64_t offset_at = c.pos();
    SOCLE_ASSIGN_OR_RETURN(t.offset, c.read<uint64_t>((where + "'s offset").c_str()));
    if (t.offset != expected_offset) {
      return c.bad_at(offset_at, where + " has offset " + std::to_string(t.offset) +
                                     " but the tensors before it end at " +
                                     std::to_string(expected_offset) + " (padded to " +
                                     std::to_string(out.alignment_) + ")");
    }
    expected_offset += align_up(nbytes, out.alignment_);
    out.by_name_.emplace(t.name, out.tensors_.size());
    out.tensors_.push_back(std::move(t));
  }
  uint64_t data_start = align_up(c.pos(), out.alignment_);
  if (data_start > bytes.size()) {
    return c.bad("the data section would start at byte " + std::to_string(data_start) +
                 ", past the end of the file (" + std::to_string(bytes.size()) + " bytes)");
  }
  uint64_t data_size = bytes.size() - data_start;
  // The writer pads every tensor, the last one too; a shorter data section is a cut file.
  if (data_size < expected_offset) {
    return c.bad_at(data_start, "the data section has " + std::to_string(data_size) +
                                    " bytes but the tensors take " +
                                    std::to_string(expected_offset) + " (each padded to " +
                                    std::to_string(out.alignment_) + ")");
  }
  for (GgufTensor& t : out.tensors_) {
    if (t.offset > data_size || t.nbytes > data_size - t.offset) {
      return c.bad_at(data_start + t.offset,
                      "tensor '" + t.name + "' (" + std::to_string(t.nbytes) + " bytes at offset " +
                          std::to_string(t.offset) + ") runs past the end of the file (" +
                          std::to_string(data_size) + " bytes of data)");
    }
    t.data = bytes.data() + data_start + t.offset;
  }
  return out;
}

}  // namespace socle::engine
