// Ingestion of generated PDFs through the service's worker, as an upload to a lexical-only
// collection goes: parse (poppler), chunk page by page, store the chunks, index them in
// SQLite FTS5 with the French tokenizer. Parsing alone is timed on the same files, to show
// its share. Every page carries a marker word found nowhere else; each must come back from a
// lexical search on its own page of its own document.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "bench_collection.h"
#include "french_corpus.h"
#include "rag/parse/document.h"
#include "rag/service.h"
#include "sections.h"

namespace socle::bench::rag {
namespace {

// Paragraph lengths in characters: three such paragraphs fill about half an A4 page in
// groff's default 10-point type, so that each generated page stays one PDF page.
constexpr int64_t MIN_PARAGRAPH_CHARS = 250;
constexpr int64_t MAX_PARAGRAPH_CHARS = 400;
constexpr double MB = 1e6;

struct GeneratedPdf {
  std::string name;
  std::string bytes;
  int64_t first_page = 0;  // global index of its first page (for the markers)
};

}  // namespace

Status run_ingestion(const BenchSizes& sizes, Report& report) {
  SOCLE_ASSIGN_OR_RETURN(FrenchWords words, FrenchWords::load(FRENCH_VOCABULARY, sizes.seed));
  SOCLE_ASSIGN_OR_RETURN(std::string work, make_temp_dir("socle-bench-pdf-"));
  struct Cleanup {
    std::string dir;
    ~Cleanup() { remove_tree(dir); }
  } cleanup{work};

  std::mt19937_64 rng(sizes.seed);
  std::vector<GeneratedPdf> pdfs;
  int64_t pages = 0;
  size_t total_bytes = 0;
  for (int d = 0; d < sizes.pdfs; ++d) {
    std::vector<std::string> texts;
    for (int p = 0; p < sizes.pages_per_pdf; ++p) {
      std::string page = page_marker(pages + p) + " ";
      for (int k = 0; k < sizes.page_paragraphs; ++k) {
        if (k > 0) page += "\n\n";
        page += words.paragraph(rng, MIN_PARAGRAPH_CHARS, MAX_PARAGRAPH_CHARS);
      }
      texts.push_back(std::move(page));
    }
    GeneratedPdf pdf;
    pdf.name = "rapport-" + std::to_string(d) + ".pdf";
    SOCLE_ASSIGN_OR_RETURN(pdf.bytes, groff_pdf(work, "rapport-" + std::to_string(d), texts));
    pdf.first_page = pages;
    pages += sizes.pages_per_pdf;
    total_bytes += pdf.bytes.size();
    pdfs.push_back(std::move(pdf));
  }
  std::string what = std::to_string(sizes.pdfs) + " PDFs, " + std::to_string(pages) + " pages, " +
                     std::to_string(total_bytes / 1000) + " kB";

  // Parsing alone.
  int64_t parsed_pages = 0;
  Clock::time_point start = Clock::now();
  for (const auto& pdf : pdfs) {
    SOCLE_ASSIGN_OR_RETURN(socle::rag::ParsedDocument doc,
                           socle::rag::parse_document(pdf.bytes, pdf.name, "application/pdf",
                                                      socle::rag::ParseLimits{}));
    parsed_pages += doc.page_count;
  }
  double parse_s = seconds_since(start);
  report.add("ingestion", "parse alone (poppler)", static_cast<double>(parsed_pages) / parse_s,
             "pages/s", what);

  // The service: upload (untimed), then the worker's parse, chunk, store and lexical index.
  SOCLE_ASSIGN_OR_RETURN(auto col,
                         BenchCollection::create("", socle::rag::ChunkSettings{}.size, 0));
  for (const auto& pdf : pdfs)
    SOCLE_RETURN_IF_ERROR(col->add_document(pdf.name, "application/pdf", pdf.bytes).status_or_ok());
  start = Clock::now();
  col->ingest_all();
  double ingest_s = seconds_since(start);

  int64_t stored_pages = 0, chunks = 0, ready = 0;
  for (store::Id id : col->documents()) {
    SOCLE_ASSIGN_OR_RETURN(store::Document d, col->store().documents().get(col->actor(), id));
    stored_pages += d.page_count;
    chunks += d.chunk_count;
    ready += d.status == store::DocumentStatus::READY ? 1 : 0;
    if (d.status != store::DocumentStatus::READY) {
      std::fprintf(stderr, "  %s: %s\n", d.name.c_str(), d.error.c_str());
    }
  }
  report.add("ingestion", "parse + chunk + store + lexical index",
             static_cast<double>(stored_pages) / ingest_s, "pages/s",
             std::to_string(parse_s / ingest_s * 100).substr(0, 4) + "% of it parsing");
  report.add("ingestion", "parse + chunk + store + lexical index",
             static_cast<double>(chunks) / ingest_s, "chunks/s",
             std::to_string(chunks) + " chunks of <= 512 characters");
  report.add("ingestion", "parse + chunk + store + lexical index",
             static_cast<double>(total_bytes) / MB / ingest_s, "MB/s", "of PDF");
  report.check(ready == sizes.pdfs, "ingestion: " + std::to_string(ready) + " of " +
                                        std::to_string(sizes.pdfs) + " documents ready");
  report.check(parsed_pages == pages && stored_pages == pages,
               "ingestion: pages parsed " + std::to_string(parsed_pages) + " and stored " +
                   std::to_string(stored_pages) + ", generated " + std::to_string(pages));

  // Each page's marker, searched lexically, must lead to that page of that document.
  int64_t found = 0;
  for (const auto& pdf : pdfs) {
    for (int p = 0; p < sizes.pages_per_pdf; ++p) {
      socle::rag::SearchRequest r;
      r.query = page_marker(pdf.first_page + p);
      r.collections = {col->collection_id()};
      r.method = socle::rag::SearchMethod::LEXICAL;
      r.k = 1;
      SOCLE_ASSIGN_OR_RETURN(auto hits, col->search(r));
      found += !hits.empty() && hits[0].document_name == pdf.name &&
                       hits[0].chunk.page_start <= p + 1 && p + 1 <= hits[0].chunk.page_end
                   ? 1
                   : 0;
    }
  }
  report.check(found == pages, "ingestion: " + std::to_string(found) + " of " +
                                   std::to_string(pages) +
                                   " page markers found by lexical search on their page");
  return Status::ok();
}

}  // namespace socle::bench::rag
