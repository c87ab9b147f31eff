#include "engine/models/gguf_requantize.h"

#include <cstring>
#include <deque>
#include <utility>
#include <vector>

#include "engine/kernels/quant.h"

namespace socle::engine {
namespace {

bool is_weight_type(DType type) {
  return type != DType::I32 && type != DType::I64;
}

}  // namespace

uint32_t gguf_file_type_of(DType type) {
  switch (type) {
    case DType::F16:
      return 1;  // LLAMA_FTYPE_MOSTLY_F16
    case DType::Q4_0:
      return 2;  // MOSTLY_Q4_0
    case DType::Q8_0:
      return 7;  // MOSTLY_Q8_0
    case DType::Q4_K:
      return 15;  // MOSTLY_Q4_K_M
    case DType::Q6_K:
      return 18;  // MOSTLY_Q6_K
    case DType::BF16:
      return 32;  // MOSTLY_BF16
    default:
      return 0;  // ALL_F32
  }
}

DType gguf_requantize_type(const GgufTensor& t, DType wanted) {
  if (t.dims.size() != 2) return t.type;
  return quant_type_for_row(wanted, t.cols());
}

Result<GgufRequantizeReport> gguf_requantize(const std::string& in, const std::string& out,
                                             const GgufRequantizeOptions& options) {
  if (!is_weight_type(options.type)) {
    return invalid_argument(std::string("cannot store weights as ") + dtype_name(options.type));
  }
  SOCLE_ASSIGN_OR_RETURN(GgufFile file, GgufFile::open(in));
  std::vector<std::pair<std::string, GgufValue>> meta;
  bool has_file_type = false;
  for (const auto& [key, value] : file.metadata()) {
    if (key == "general.file_type") {
      meta.emplace_back(key, GgufValue::u32(gguf_file_type_of(options.type)));
      has_file_type = true;
    } else {
      meta.emplace_back(key, value);
    }
  }
  if (!has_file_type) {
    meta.emplace_back("general.file_type", GgufValue::u32(gguf_file_type_of(options.type)));
  }

  GgufRequantizeReport report;
  std::deque<std::string> storage;  // the bytes `tensors` views; a deque never moves them
  std::vector<GgufTensorData> tensors;
  for (const GgufTensor& t : file.tensors()) {
    DType to = gguf_requantize_type(t, options.type);
    report.bytes_in += t.nbytes;
    if (to == t.type) {
      // Unchanged: the exact bytes, so that a vector or a matrix already in its type loses
      // nothing.
      tensors.push_back(
          {t.name, t.type, t.dims, {reinterpret_cast<const char*>(t.data), t.nbytes}});
    } else {
      if (dtype_is_quantized(t.type) && dtype_is_quantized(to) && !options.allow_requantize) {
        return invalid_argument(in + ": tensor '" + t.name + "' is already " + dtype_name(t.type) +
                                "; quantising it again to " + dtype_name(to) +
                                " compounds the rounding (allow it explicitly, or start from "
                                "an F32, F16 or BF16 file)");
      }
      int64_t cols = t.cols();
      int64_t rows = t.rows();
      size_t row_in = dtype_row_bytes(t.type, cols);
      size_t row_out = dtype_row_bytes(to, cols);
      // Row by row through an aligned copy: a file's tensor data need only be aligned to
      // general.alignment from the data section, which a hostile file may set to 1.
      std::vector<float> x(static_cast<size_t>(cols));
      std::vector<uint64_t> aligned((row_in + sizeof(uint64_t) - 1) / sizeof(uint64_t));
      std::string bytes(row_out * static_cast<size_t>(rows), '\0');
      for (int64_t r = 0; r < rows; ++r) {
        std::memcpy(aligned.data(), t.data + static_cast<size_t>(r) * row_in, row_in);
        dequantize_row(t.type, aligned.data(), x.data(), cols);
        quantize_row(to, x.data(), bytes.data() + static_cast<size_t>(r) * row_out, cols);
      }
      storage.push_back(std::move(bytes));
      tensors.push_back({t.name, to, t.dims, storage.back()});
    }
    auto& [count, nbytes] = report.by_type[to];
    ++count;
    nbytes += tensors.back().bytes.size();
    report.bytes_out += tensors.back().bytes.size();
  }
  SOCLE_RETURN_IF_ERROR(gguf_write(out, meta, tensors));
  return report;
}

}  // namespace socle::engine
