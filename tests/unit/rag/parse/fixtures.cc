#include "unit/rag/parse/fixtures.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace socle::rag::testing {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "socle-rag-XXXXXX").string();
  char* made = ::mkdtemp(pattern.data());
  if (made == nullptr) ADD_FAILURE() << "mkdtemp failed for " << pattern;
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void write_file(const std::string& path, const std::string& content) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream f(path, std::ios::binary);
  f << content;
  if (!f) ADD_FAILURE() << "cannot write " << path;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) ADD_FAILURE() << "cannot read " << path;
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool run(const std::string& command) {
  int status = std::system(command.c_str());
  return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::string zip_package(const TempDir& dir,
                        const std::vector<std::pair<std::string, std::string>>& entries,
                        bool stored_first, const std::string& password) {
  static int counter = 0;
  std::string root = dir.file("package" + std::to_string(counter));
  std::string out = dir.file("package" + std::to_string(counter++) + ".zip");
  for (const auto& [name, content] : entries)
    write_file(root + "/" + name, content);
  std::string options = "-q -X" + (password.empty() ? std::string() : " -P '" + password + "'");
  std::string command = "cd '" + root + "'";
  size_t rest = 0;
  if (stored_first && !entries.empty()) {
    command += " && zip " + options + " -0 '" + out + "' '" + entries[0].first + "'";
    rest = 1;
  }
  for (size_t i = rest; i < entries.size(); ++i)
    command += " && zip " + options + " '" + out + "' '" + entries[i].first + "'";
  EXPECT_TRUE(run(command)) << command;
  return read_file(out);
}

std::string groff_pdf(const TempDir& dir, const std::string& source, const std::string& args) {
  static int counter = 0;
  std::string in = dir.file("doc" + std::to_string(counter) + ".tr");
  std::string out = dir.file("doc" + std::to_string(counter++) + ".pdf");
  write_file(in, source);
  std::string command = "groff -Tpdf -Kutf8 " + args + " '" + in + "' > '" + out + "' 2>/dev/null";
  EXPECT_TRUE(run(command)) << command;
  return read_file(out);
}

int count_page_objects(const std::string& pdf) {
  int n = 0;
  for (size_t at = pdf.find("/Type /Page"); at != std::string::npos;
       at = pdf.find("/Type /Page", at + 1)) {
    char next = at + 11 < pdf.size() ? pdf[at + 11] : ' ';
    if (!std::isalpha(static_cast<unsigned char>(next))) ++n;  // not /Pages
  }
  return n;
}

std::string show(const Block& b) {
  std::string s = block_kind_name(b.kind);
  if (b.kind == BlockKind::HEADING) s += std::to_string(b.level);
  s += ": " + b.text;
  for (size_t i = 0; i < b.heading_path.size(); ++i)
    s += (i == 0 ? "  @ " : " > ") + b.heading_path[i];
  if (b.page != 0) s += "  p" + std::to_string(b.page);
  return s;
}

std::vector<std::string> show(const ParsedDocument& doc) {
  std::vector<std::string> out;
  for (const Block& b : doc.blocks)
    out.push_back(show(b));
  return out;
}

ParsedDocument parse_ok(const std::string& bytes, const std::string& filename,
                        const std::string& content_type) {
  Result<ParsedDocument> r = parse_document(bytes, filename, content_type, ParseLimits{});
  if (!r.is_ok()) {
    ADD_FAILURE() << filename << ": " << r.status().to_string();
    return {};
  }
  return std::move(r).value();
}

}  // namespace socle::rag::testing
