#include "common/action/wrapper_output.hpp"

namespace monsys::results {
namespace {

bool is_space(char c) {
    return c == '\n' || c == '\r' || c == ' ' || c == '\t';
}

std::string_view trim_end(std::string_view text) {
    while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
    return text;
}

bool is_base64url_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

// header.payload.signature, each part non-empty base64url (the payload may not be empty either:
// a result is never empty).
bool looks_like_compact_jws(std::string_view text) {
    int dots = 0;
    char previous = '.';
    for (char c : text) {
        if (c == '.') {
            if (previous == '.') return false;
            ++dots;
        } else if (!is_base64url_char(c)) {
            return false;
        }
        previous = c;
    }
    return dots == 2 && previous != '.';
}

}  // namespace

Expected<WrapperOutput, std::string> parse_wrapper_output(std::string_view text) {
    if (text.size() > max_wrapper_output_bytes) {
        return unexpected("output over " + std::to_string(max_wrapper_output_bytes) + " bytes");
    }
    text = trim_end(text);
    const auto newline = text.find('\n');
    std::string_view line = trim_end(text.substr(0, newline));
    std::string_view rest =
        newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    if (line.size() > max_result_bytes) {
        return unexpected("result over " + std::to_string(max_result_bytes) + " bytes");
    }
    auto result = check_result_json(line);
    if (!result) return unexpected("result: " + result.error());
    WrapperOutput output{std::move(*result), std::string(line), std::nullopt};
    if (!rest.empty()) {
        if (!looks_like_compact_jws(rest)) {
            return unexpected(std::string("line 2 is not a compact JWS (nothing else may follow "
                                          "the result)"));
        }
        output.result_jws = std::string(rest);
    }
    return output;
}

std::string format_wrapper_output(std::string_view result_text, std::string_view result_jws) {
    std::string out;
    out.reserve(result_text.size() + result_jws.size() + 2);
    out.append(result_text).append("\n").append(result_jws).append("\n");
    return out;
}

}  // namespace monsys::results
