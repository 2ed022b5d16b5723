#include "common/json/capped_json.hpp"

#include <set>
#include <vector>

namespace monsys::json {

const char* to_string(ParseFailure kind) {
    switch (kind) {
        case ParseFailure::too_large:
            return "too_large";
        case ParseFailure::too_deep:
            return "too_deep";
        case ParseFailure::duplicate_key:
            return "duplicate_key";
        case ParseFailure::syntax:
            return "syntax";
    }
    return "unknown";
}

int nesting_depth(std::string_view text, int stop_after) {
    int depth = 0;
    int deepest = 0;
    bool in_string = false;
    bool escaped = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        switch (c) {
            case '"':
                in_string = true;
                break;
            case '/': {
                // A comment is skipped the way the parser skips it (a quote in it opens no
                // string, a bracket in it opens nothing): "/* */", or "//" up to a line end,
                // which for nlohmann is '\n' or '\r'. Where comments are not allowed the parser
                // refuses the text anyway; an unterminated one likewise.
                if (i + 1 >= text.size()) return deepest;
                std::size_t end = std::string_view::npos;
                if (text[i + 1] == '*') {
                    end = text.find("*/", i + 2);
                    if (end != std::string_view::npos) ++end;
                } else if (text[i + 1] == '/') {
                    end = text.find_first_of("\n\r", i + 2);
                } else {
                    break;
                }
                if (end == std::string_view::npos) return deepest;
                i = end;
                break;
            }
            case '[':
            case '{':
                if (++depth > deepest) deepest = depth;
                if (deepest > stop_after) return deepest;
                break;
            case ']':
            case '}':
                if (depth > 0) --depth;
                break;
            default:
                break;
        }
    }
    return deepest;
}

Expected<Json, ParseError> parse(std::string_view text, const Limits& limits) {
    if (text.size() > limits.max_bytes) {
        return unexpected(
            ParseError{ParseFailure::too_large, "document of " + std::to_string(text.size()) +
                                                    " bytes exceeds the limit of " +
                                                    std::to_string(limits.max_bytes)});
    }
    // nlohmann stops at a NUL byte as if the input ended there, so "{...}\0junk" would parse.
    // JSON text never holds a raw NUL (inside strings it must be escaped).
    if (text.find('\0') != std::string_view::npos) {
        return unexpected(ParseError{ParseFailure::syntax, "not valid JSON (NUL byte)"});
    }
    // The scan skips comments as the parser does, so a quote inside one cannot hide brackets.
    if (nesting_depth(text, limits.max_depth) > limits.max_depth) {
        return unexpected(ParseError{ParseFailure::too_deep,
                                     "nesting deeper than " + std::to_string(limits.max_depth)});
    }

    std::vector<std::set<std::string>> open_objects;
    std::string duplicate;
    Json::parser_callback_t on_event = [&](int, Json::parse_event_t event, Json& parsed) {
        if (!limits.reject_duplicate_keys) return true;
        switch (event) {
            case Json::parse_event_t::object_start:
                open_objects.emplace_back();
                break;
            case Json::parse_event_t::object_end:
                if (!open_objects.empty()) open_objects.pop_back();
                break;
            case Json::parse_event_t::key:
                if (!open_objects.empty() && duplicate.empty() &&
                    !open_objects.back().insert(parsed.get<std::string>()).second) {
                    duplicate = parsed.get<std::string>();
                }
                break;
            default:
                break;
        }
        return true;
    };

    Json value = Json::parse(text.begin(), text.end(), on_event, /*allow_exceptions=*/false,
                             limits.allow_comments);
    if (value.is_discarded()) {
        return unexpected(ParseError{ParseFailure::syntax, "not valid JSON"});
    }
    if (!duplicate.empty()) {
        return unexpected(
            ParseError{ParseFailure::duplicate_key, "duplicate member name \"" + duplicate + "\""});
    }
    return value;
}

}  // namespace monsys::json
