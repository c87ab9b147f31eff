// Fixtures for the parser tests, made at run time from text written here: packages zipped by
// Info-ZIP's zip, PDFs rendered by groff (both independent of the libraries under test).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "rag/parse/document.h"

namespace socle::rag::testing {

// A fresh directory (mkdtemp) removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void write_file(const std::string& path, const std::string& content);
std::string read_file(const std::string& path);
// Runs `command` with /bin/sh; true when it exits with 0.
bool run(const std::string& command);

// A ZIP package of `entries` (name, content), the first one stored uncompressed and first in
// the archive (as ODF requires of "mimetype" when `stored_first`), made by the zip command.
std::string zip_package(const TempDir& dir,
                        const std::vector<std::pair<std::string, std::string>>& entries,
                        bool stored_first = false, const std::string& password = {});

// The PDF that `groff -Tpdf -Kutf8 ARGS` renders from `source`.
std::string groff_pdf(const TempDir& dir, const std::string& source, const std::string& args = {});

// "/Type /Page" objects in a PDF that groff wrote uncompressed: a page count that does not
// come from poppler.
int count_page_objects(const std::string& pdf);

// One line per block: "kind[level]: text  @ path > to  p3", for exact comparisons.
std::string show(const Block& b);
std::vector<std::string> show(const ParsedDocument& doc);

// parse_document with the default limits; fails the test when it fails.
ParsedDocument parse_ok(const std::string& bytes, const std::string& filename,
                        const std::string& content_type);

}  // namespace socle::rag::testing
