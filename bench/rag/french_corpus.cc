#include "french_corpus.h"

#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "base/file.h"
#include "rag/chunk/chunker.h"

namespace socle::bench::rag {
namespace {

// Sentence lengths, in words: French prose averages about 20 words a sentence; shorter ones
// keep the paragraphs' lengths easy to bound.
constexpr int MIN_SENTENCE_WORDS = 6;
constexpr int MAX_SENTENCE_WORDS = 14;
constexpr const char* MARKER_DIGITS = "bcdghjkmnpqrtvwz";

}  // namespace

Result<FrenchWords> FrenchWords::load(const std::string& path, uint64_t seed) {
  SOCLE_ASSIGN_OR_RETURN(std::string text, read_file(path));
  FrenchWords w;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) w.words_.push_back(line);
  }
  if (w.words_.size() < 1000) {
    return Status(StatusCode::FAILED_PRECONDITION,
                  path + " holds " + std::to_string(w.words_.size()) +
                      " words; install Debian's snowball-data (scripts/install-deps)");
  }
  std::mt19937_64 rng(seed);
  std::shuffle(w.words_.begin(), w.words_.end(), rng);
  double sum = 0;
  for (size_t r = 0; r < w.words_.size(); ++r) {
    sum += 1.0 / static_cast<double>(r + 1);
    w.cumulative_.push_back(sum);
  }
  return w;
}

const std::string& FrenchWords::word(std::mt19937_64& rng) const {
  std::uniform_real_distribution<double> u(0.0, cumulative_.back());
  auto at = std::upper_bound(cumulative_.begin(), cumulative_.end(), u(rng));
  size_t r = std::min(static_cast<size_t>(at - cumulative_.begin()), words_.size() - 1);
  return words_[r];
}

std::string FrenchWords::sentence(std::mt19937_64& rng, int words) const {
  std::string s;
  for (int i = 0; i < words; ++i) {
    if (i > 0) s += ' ';
    s += word(rng);
  }
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  s += '.';
  return s;
}

std::string FrenchWords::paragraph(std::mt19937_64& rng, int64_t min_chars,
                                   int64_t max_chars) const {
  std::uniform_int_distribution<int> length(MIN_SENTENCE_WORDS, MAX_SENTENCE_WORDS);
  while (true) {
    std::string p;
    while (socle::rag::count_code_points(p) < min_chars) {
      if (!p.empty()) p += ' ';
      p += sentence(rng, length(rng));
    }
    if (socle::rag::count_code_points(p) <= max_chars) return p;
  }
}

std::string page_marker(int64_t index) {
  std::string digits;
  do {
    digits.insert(digits.begin(), MARKER_DIGITS[index % 16]);
    index /= 16;
  } while (index > 0);
  return "zq" + digits;
}

Result<std::string> groff_pdf(const std::string& work_dir, const std::string& name,
                              const std::vector<std::string>& pages) {
  // .nh: no hyphenation, so that every word (the markers above all) stays whole on a line.
  std::string source = ".nh\n";
  for (size_t i = 0; i < pages.size(); ++i) {
    if (i > 0) source += ".bp\n";
    std::istringstream lines(pages[i]);
    for (std::string line; std::getline(lines, line);) {
      // A line starting with . or ' would be a groff request: protect it with \&.
      if (!line.empty() && (line[0] == '.' || line[0] == '\'')) source += "\\&";
      source += line + "\n";
    }
  }
  std::string in = work_dir + "/" + name + ".tr";
  std::string out = work_dir + "/" + name + ".pdf";
  SOCLE_RETURN_IF_ERROR(write_file_atomic(in, source));
  std::string command =
      "groff -Tpdf -Kutf8 -dpaper=a4 -P-pa4 '" + in + "' > '" + out + "' 2>/dev/null";
  int status = std::system(command.c_str());
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return internal_error("groff failed: " + command + " (install groff: scripts/install-deps)");
  }
  return read_file(out);
}

}  // namespace socle::bench::rag
