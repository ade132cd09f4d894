#pragma once

#include <string>
#include <string_view>

namespace asmegress::policy {

// Appends `text` as a JSON string, quotes included, escaped exactly as
// Boost.JSON's serializer escapes it ("\"", "\\", \b \t \n \f \r, other
// control characters as \u00xx; everything else as is), so that text written
// by hand and text from boost::json::serialize cannot differ.
void append_json_string(std::string& out, std::string_view text);

// Appends the standard (RFC 4648 section 4) base64 of `data`, with padding.
void append_base64(std::string& out, std::string_view data);

}  // namespace asmegress::policy
