#pragma once
// A name taken from a file or from the network (a config member, a policy entry), fit to be
// quoted in a one-line message: control bytes and backslashes escaped ("\n", "\x01", "\\"), and
// at most `max_bytes` of it kept ("..." marks the cut). Header-only: the fuzz targets compile the
// parsers that use it without extra sources.
#include <cstddef>
#include <string>
#include <string_view>

namespace monsys {

inline std::string printable_name(std::string_view text, std::size_t max_bytes = 64) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    const std::string_view kept = text.substr(0, max_bytes);
    out.reserve(kept.size() + 8);
    for (char c : kept) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\\') {
            out += "\\\\";
        } else if (byte < 0x20 || byte == 0x7f) {
            out += "\\x";
            out += digits[byte >> 4];
            out += digits[byte & 0xF];
        } else {
            out += c;
        }
    }
    if (text.size() > max_bytes) out += "...";
    return out;
}

}  // namespace monsys
