// CSV (RFC 4180), row-aware: each record becomes one block that names its columns, so that a
// chunk holding a row can be understood without the header.
#include <array>
#include <string>
#include <vector>

#include "rag/parse/block_builder.h"
#include "rag/parse/formats.h"
#include "rag/parse/text_decode.h"

namespace socle::rag {
namespace {

// RFC 4180's comma; the semicolon that French spreadsheets write (the comma is their decimal
// separator); tab-separated exports.
constexpr std::array<char, 3> DELIMITERS = {',', ';', '\t'};

// The delimiter that occurs most often, outside quotes, in the first record; a comma on a tie
// or when none occurs (a single column).
char detect_delimiter(std::string_view text) {
  std::array<size_t, DELIMITERS.size()> counts{};
  bool quoted = false;
  for (char c : text) {
    if (c == '"') quoted = !quoted;
    if (quoted) continue;
    if (c == '\n') break;
    for (size_t d = 0; d < DELIMITERS.size(); ++d) {
      if (c == DELIMITERS[d]) ++counts[d];
    }
  }
  size_t best = 0;
  for (size_t d = 1; d < DELIMITERS.size(); ++d) {
    if (counts[d] > counts[best]) best = d;
  }
  return DELIMITERS[best];
}

using Record = std::vector<std::string>;

// Reads the records of `text`. A quoted field may hold delimiters, newlines and doubled
// quotes; characters after its closing quote are kept (a lenient reading of malformed files,
// as spreadsheets do). An unterminated quote is INVALID_ARGUMENT naming its line.
Result<std::vector<Record>> read_records(std::string_view text, char delimiter) {
  std::vector<Record> records;
  Record record;
  std::string field;
  size_t line = 1;
  size_t i = 0;
  auto end_record = [&] {
    record.push_back(std::move(field));
    field.clear();
    records.push_back(std::move(record));
    record.clear();
  };
  while (i < text.size()) {
    char c = text[i];
    if (c == '"' && field.empty()) {
      size_t opened_at = line;
      ++i;
      for (;;) {
        if (i >= text.size()) {
          return invalid_argument("the CSV file has a quoted field opened on line " +
                                  std::to_string(opened_at) + " that is never closed");
        }
        if (text[i] == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        if (text[i] == '\n') ++line;
        field += text[i++];
      }
      continue;
    }
    if (c == delimiter) {
      record.push_back(std::move(field));
      field.clear();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      ++line;
      end_record();
    } else {
      field += c;
    }
    ++i;
  }
  if (!field.empty() || !record.empty()) end_record();
  return records;
}

}  // namespace

Result<ParsedDocument> parse_csv(std::string_view bytes) {
  SOCLE_ASSIGN_OR_RETURN(std::string text, decode_text(bytes, "the CSV file"));
  SOCLE_ASSIGN_OR_RETURN(std::vector<Record> records, read_records(text, detect_delimiter(text)));
  BlockBuilder builder;
  std::vector<std::string> names;
  bool header_read = false;
  for (const Record& record : records) {
    bool blank = true;
    for (const std::string& f : record) {
      if (!normalize_space(f).empty()) blank = false;
    }
    if (blank) continue;  // empty lines, and the ";;;;" rows spreadsheets leave at the end
    if (!header_read) {
      for (const std::string& f : record)
        names.push_back(label(normalize_space(f)));
      header_read = true;
      continue;
    }
    std::string row;
    for (size_t c = 0; c < record.size(); ++c) {
      std::string value = normalize_space(record[c]);
      if (value.empty()) continue;
      std::string name = c < names.size() ? names[c] : std::string();
      if (name.empty()) name = "column " + std::to_string(c + 1);
      if (!row.empty()) row += " | ";
      row += name;
      row += ": ";
      row += value;
    }
    builder.add(BlockKind::TABLE_ROW, row);
  }
  ParsedDocument out;
  out.blocks = builder.take();
  return out;
}

}  // namespace socle::rag
