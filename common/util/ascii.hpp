#pragma once
// ASCII case folding for protocol text (URL schemes, host names): never locale-dependent, unlike
// std::tolower, and never touching bytes outside A-Z.
#include <string>
#include <string_view>

namespace monsys {

constexpr char ascii_lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

inline std::string ascii_lowercase(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = ascii_lower(c);
    return out;
}

}  // namespace monsys
