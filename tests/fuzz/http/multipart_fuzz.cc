// libFuzzer: multipart/form-data parsing must refuse or accept, never crash or overrun, and
// what it accepts must survive serialize-then-parse.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/check.h"
#include "http/multipart.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto form = socle::http::parse_multipart("multipart/form-data; boundary=b0undary", body);
  if (!form.is_ok()) return 0;
  auto again = socle::http::parse_multipart(form->content_type(), form->serialize());
  SOCLE_CHECK(again.is_ok() && again->parts.size() == form->parts.size(),
              "a parsed form survives serialize-then-parse");
  return 0;
}
