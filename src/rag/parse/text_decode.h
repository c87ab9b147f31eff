// Bytes of a text format (plain text, Markdown, CSV, HTML) to UTF-8.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace socle::rag {

// UTF-8 as it is (without a leading BOM); otherwise the bytes read as Windows-1252, the
// Latin-1 superset that French Windows software writes (é, œ, ’, €). INVALID_ARGUMENT for
// a NUL byte (binary data or UTF-16, which the message names) and for the five bytes that
// Windows-1252 leaves undefined (0x81 0x8D 0x8F 0x90 0x9D), which no text in it contains.
// `what` names the file's format in messages ("the text file").
Result<std::string> decode_text(std::string_view bytes, std::string_view what);

}  // namespace socle::rag
