// JSON flattened to "path: value" lines, one block per top-level element, so that a record and
// its fields stay together and every value carries the names that give it meaning.
#include "base/json.h"

#include <array>
#include <boost/json/parse_options.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <string>

#include "rag/parse/block_builder.h"
#include "rag/parse/formats.h"

namespace socle::rag {
namespace {

// Appends one line per scalar under `v`. Recursion is bounded by the parser's depth limit.
void flatten(const boost::json::value& v, const std::string& path, std::string& out) {
  auto line = [&](std::string_view value) {
    std::string text = normalize_space(value);
    if (text.empty()) return;
    if (!out.empty()) out += '\n';
    if (!path.empty()) {
      out += label(path, 4 * MAX_LABEL_BYTES);  // its keys are labels; its depth is bounded
      out += ": ";
    }
    out += text;
  };
  switch (v.kind()) {
    case boost::json::kind::object:
      for (const auto& member : v.get_object()) {
        std::string key = label(std::string(member.key()));
        flatten(member.value(), path.empty() ? key : path + "." + key, out);
      }
      break;
    case boost::json::kind::array: {
      const auto& array = v.get_array();
      for (size_t i = 0; i < array.size(); ++i)
        flatten(array[i], path + "[" + std::to_string(i) + "]", out);
      break;
    }
    case boost::json::kind::string:
      line(std::string_view(v.get_string()));
      break;
    case boost::json::kind::double_: {
      // The shortest text that reads back as the same double ("1.5", not Boost's "1.5E0").
      // 32 bytes hold any double's shortest form (at most 24 characters).
      std::array<char, 32> buf;
      char* end = std::to_chars(buf.data(), buf.data() + buf.size(), v.get_double()).ptr;
      line(std::string_view(buf.data(), static_cast<size_t>(end - buf.data())));
      break;
    }
    default:
      line(boost::json::serialize(v));  // integers, true, false, null
  }
}

}  // namespace

Result<ParsedDocument> parse_json(std::string_view bytes) {
  boost::json::parse_options options;
  options.max_depth = json::MAX_DEPTH;
  boost::json::stream_parser parser({}, options);
  boost::system::error_code ec;
  size_t used = parser.write_some(bytes.data(), bytes.size(), ec);
  if (!ec) parser.finish(ec);
  if (ec) {
    return invalid_argument("the JSON file is invalid at byte " + std::to_string(used) + ": " +
                            ec.message());
  }
  boost::json::value root = parser.release();
  BlockBuilder builder;
  std::string lines;
  if (root.is_object()) {
    for (const auto& member : root.get_object()) {
      flatten(member.value(), label(std::string(member.key())), lines);
      builder.add_lines(lines);
      lines.clear();
    }
  } else if (root.is_array()) {
    for (const auto& element : root.get_array()) {
      flatten(element, "", lines);
      builder.add_lines(lines);
      lines.clear();
    }
  } else {
    flatten(root, "", lines);
    builder.add_lines(lines);
  }
  ParsedDocument out;
  out.blocks = builder.take();
  return out;
}

}  // namespace socle::rag
