// Files (OpenAI's /v1/files): fine-tuning data uploaded once and named by jobs later.
//   POST   /v1/files               multipart: file (a .jsonl), purpose "fine-tune"
//   GET    /v1/files               ?purpose= &limit= &after= &order=asc|desc
//   GET    /v1/files/{id}
//   GET    /v1/files/{id}/content  the bytes as uploaded
//   DELETE /v1/files/{id}
// A file is its uploader's alone (the store scopes every call). A fine-tuning file is
// checked at upload (train/jsonl_validation.h) and refused with its first problems, each
// with its line and OpenAI's code, so that a job never starts on a file that cannot work.
// The bytes are written under data/files/<sha256> before the row exists: a crash in between
// leaves unnamed bytes, never a row without its bytes; a file is answered 200 only once
// both are durable.
#include "api/files.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <filesystem>
#include <mutex>

#include "api/auth.h"
#include "api/params.h"
#include "api/services.h"
#include "base/file.h"
#include "base/hash.h"
#include "http/multipart.h"
#include "tenancy/permissions.h"
#include "train/jsonl_validation.h"

namespace socle::api {
namespace {

constexpr std::string_view FILE_ID_PREFIX = "file-";
constexpr std::string_view PURPOSE_FINE_TUNE = "fine-tune";
constexpr int64_t DEFAULT_LIST_LIMIT = 10000;  // OpenAI's default page size for files
constexpr int64_t MAX_LIST_LIMIT = 10000;
constexpr size_t ERRORS_IN_MESSAGE = 5;

// Serialises writing bytes with creating their row, and deleting a row with deleting its
// bytes, so that a delete never removes bytes that an upload of the same content is about
// to name.
std::mutex& blob_mutex() {
  static std::mutex mu;
  return mu;
}

std::string blob_path(const Services& s, const std::string& sha256_hex) {
  return s.config.data_dir + "/files/" + sha256_hex;
}

std::string public_id(store::Id id) {
  return std::string(FILE_ID_PREFIX) + std::to_string(id);
}

// "file-12" -> 12; NOT_FOUND for anything else, as for a missing file.
Result<store::Id> parse_file_id(std::string_view text) {
  if (text.substr(0, FILE_ID_PREFIX.size()) != FILE_ID_PREFIX) {
    return not_found("no file '" + std::string(text) + "' (file ids look like file-12)");
  }
  return path_id(text.substr(FILE_ID_PREFIX.size()), "file");
}

boost::json::object file_json(const store::StoredFile& f) {
  return {{"id", public_id(f.id)},      {"object", "file"},          {"bytes", f.bytes},
          {"created_at", f.created_at}, {"filename", f.filename},    {"purpose", f.purpose},
          {"status", "processed"},      {"status_details", nullptr}, {"expires_at", nullptr}};
}

// 400 with the first problems of a fine-tuning file, each with its line and code.
Status refuse_data(const train::ValidationReport& r) {
  std::string msg = "the file is not valid fine-tuning data (" + std::to_string(r.error_count) +
                    (r.error_count == 1 ? " problem" : " problems") + "): ";
  for (size_t i = 0; i < r.errors.size() && i < ERRORS_IN_MESSAGE; ++i) {
    const auto& e = r.errors[i];
    if (i > 0) msg += "; ";
    msg += (e.line > 0 ? "line " + std::to_string(e.line) + ": " : std::string()) + e.code + ": " +
           e.message;
  }
  return invalid_argument(std::move(msg), "file");
}

Result<http::Response> upload(Services& s, const http::Request& req, const tenancy::Principal& p) {
  auto type = req.header("content-type");
  SOCLE_ASSIGN_OR_RETURN(http::MultipartForm form,
                         http::parse_multipart(type ? *type : "", req.body));
  for (const auto& part : form.parts) {
    if (part.name != "file" && part.name != "purpose") {
      return invalid_argument(
          "unknown form field '" + part.name + "'; the fields are file and purpose", part.name);
    }
  }
  SOCLE_RETURN_IF_ERROR(check_form_fields_unique(form));
  const http::MultipartPart* file = form.find("file");
  const http::MultipartPart* purpose = form.find("purpose");
  if (file == nullptr || file->filename.empty()) {
    return invalid_argument("the form field 'file' (a file) is required", "file");
  }
  if (purpose == nullptr || purpose->data != PURPOSE_FINE_TUNE) {
    return invalid_argument("'purpose' must be \"fine-tune\", the only purpose socle accepts",
                            "purpose");
  }
  if (!file->filename.ends_with(".jsonl")) {
    return invalid_argument(
        "a fine-tuning file must be JSON Lines named *.jsonl, not '" + file->filename + "'",
        "file");
  }
  if (static_cast<int64_t>(file->data.size()) > s.config.files_max_bytes) {
    return Status{StatusCode::PAYLOAD_TOO_LARGE,
                  "the file is " + std::to_string(file->data.size()) +
                      " bytes; files.max_bytes is " + std::to_string(s.config.files_max_bytes)};
  }
  train::ValidationReport report = train::validate_chat_jsonl(file->data, {});
  if (!report.ok()) return refuse_data(report);

  SOCLE_ASSIGN_OR_RETURN(
      store::StoredFile made,
      store_file_bytes(s, self(p), file->filename, std::string(PURPOSE_FINE_TUNE), file->data));
  return json_response(200, file_json(made));
}

Result<http::Response> list_files(Services& s, const http::Request& req,
                                  const tenancy::Principal& p) {
  SOCLE_RETURN_IF_ERROR(check_param_names(req.query, {"purpose", "limit", "after", "order"}));
  SOCLE_ASSIGN_OR_RETURN(auto purpose, param(req, "purpose"));
  SOCLE_ASSIGN_OR_RETURN(auto limit, optional_int_param(req, "limit", 1, MAX_LIST_LIMIT));
  SOCLE_ASSIGN_OR_RETURN(auto after, param(req, "after"));
  SOCLE_ASSIGN_OR_RETURN(auto order, param(req, "order"));
  if (order && *order != "asc" && *order != "desc") {
    return invalid_argument("'order' must be asc or desc", "order");
  }
  store::Id after_id = 0;
  if (after) {
    // A bad cursor is a bad request, not a missing file (as /v1/fine_tuning/jobs answers).
    Result<store::Id> id = parse_file_id(*after);
    if (!id.is_ok()) {
      return invalid_argument("'after' must be the id of a file (file-12), not '" + *after + "'",
                              "after");
    }
    after_id = *id;
  }
  int64_t n = limit.value_or(DEFAULT_LIST_LIMIT);
  bool descending = !order || *order == "desc";  // OpenAI lists newest first by default
  SOCLE_ASSIGN_OR_RETURN(
      auto files, s.store.files().list(self(p), purpose.value_or(""), after_id, descending, n + 1));
  bool more = static_cast<int64_t>(files.size()) > n;
  if (more) files.resize(static_cast<size_t>(n));
  boost::json::array data;
  for (const auto& f : files)
    data.emplace_back(file_json(f));
  boost::json::object out{{"object", "list"}, {"data", std::move(data)}, {"has_more", more}};
  out["first_id"] =
      files.empty() ? boost::json::value(nullptr) : boost::json::value(public_id(files.front().id));
  out["last_id"] =
      files.empty() ? boost::json::value(nullptr) : boost::json::value(public_id(files.back().id));
  return json_response(200, out);
}

Result<http::Response> file_content(Services& s, const http::Request& req,
                                    const tenancy::Principal& p) {
  SOCLE_ASSIGN_OR_RETURN(store::Id id, parse_file_id(req.param("id")));
  SOCLE_ASSIGN_OR_RETURN(store::StoredFile f, s.store.files().get(self(p), id));
  SOCLE_ASSIGN_OR_RETURN(std::string bytes, read_file(blob_path(s, f.sha256)));
  http::Response r;
  r.status = 200;
  r.set_header("content-type", "application/octet-stream");
  r.set_header("content-disposition", "attachment; filename=\"" + public_id(f.id) + ".jsonl\"");
  r.body = std::move(bytes);
  return r;
}

Result<http::Response> delete_file(Services& s, const http::Request& req,
                                   const tenancy::Principal& p) {
  SOCLE_ASSIGN_OR_RETURN(store::Id id, parse_file_id(req.param("id")));
  SOCLE_RETURN_IF_ERROR(delete_stored_file(s, self(p), id));
  return json_response(
      200, boost::json::object{{"id", public_id(id)}, {"object", "file"}, {"deleted", true}});
}

}  // namespace

Status delete_stored_file(Services& s, const store::Actor& actor, store::Id id) {
  std::lock_guard lock(blob_mutex());
  SOCLE_ASSIGN_OR_RETURN(store::StoredFile f, s.store.files().get(actor, id));
  SOCLE_ASSIGN_OR_RETURN(int64_t others, s.store.files().remove(actor, id));
  if (others == 0) {
    std::error_code ec;
    std::filesystem::remove(blob_path(s, f.sha256), ec);
  }
  return Status::ok();
}

Result<store::StoredFile> store_file_bytes(Services& s, const store::Actor& actor,
                                           const std::string& filename, const std::string& purpose,
                                           std::string_view data) {
  store::StoredFile f;
  f.filename = filename;
  f.purpose = purpose;
  f.bytes = static_cast<int64_t>(data.size());
  f.sha256 = to_hex(sha256(data));
  std::string path = blob_path(s, f.sha256);
  std::lock_guard lock(blob_mutex());
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec) return internal_error("cannot create " + path + ": " + ec.message());
  if (!std::filesystem::exists(path, ec))
    SOCLE_RETURN_IF_ERROR(write_file_atomic(path, data, 0600));
  return s.store.files().create(actor, f);
}

std::string file_public_id(store::Id id) {
  return public_id(id);
}

void register_file_routes(http::Router& router, Services& s) {
  // The multipart envelope adds little to the file: allow it a mebibyte over the limit, so
  // that the file's own size is what 413 reports.
  constexpr int64_t ENVELOPE_BYTES = int64_t{1} << 20;
  router.add("POST", "/v1/files", fine_tune_handler(s, upload),
             http::RouteOptions{s.config.files_max_bytes + ENVELOPE_BYTES});
  router.add("GET", "/v1/files", fine_tune_handler(s, list_files));
  router.add("GET", "/v1/files/{id}",
             fine_tune_handler(s,
                               [](Services& sv, const http::Request& req,
                                  const tenancy::Principal& p) -> Result<http::Response> {
                                 SOCLE_ASSIGN_OR_RETURN(store::Id id,
                                                        parse_file_id(req.param("id")));
                                 SOCLE_ASSIGN_OR_RETURN(auto f, sv.store.files().get(self(p), id));
                                 return json_response(200, file_json(f));
                               }));
  router.add("GET", "/v1/files/{id}/content", fine_tune_handler(s, file_content));
  router.add("DELETE", "/v1/files/{id}", fine_tune_handler(s, delete_file));
}

}  // namespace socle::api
