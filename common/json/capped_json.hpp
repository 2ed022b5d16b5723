#pragma once
// The one intake for JSON that comes from outside the process (network, Docker, tokens, files).
// It caps size and nesting depth before parsing, never throws, and can refuse duplicate member
// names (nlohmann silently keeps the last one, which matters for signed tokens).
#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/util/expected.hpp"

namespace monsys::json {

using Json = nlohmann::json;

struct Limits {
    std::size_t max_bytes = 1 << 20;
    int max_depth = 32;
    bool reject_duplicate_keys = true;
    bool allow_comments = false;  // only for local configuration files
};

enum class ParseFailure { too_large, too_deep, duplicate_key, syntax };

struct ParseError {
    ParseFailure kind;
    std::string message;
};

const char* to_string(ParseFailure kind);

// Parses text within the limits. Returns the value or a reason that names the first problem.
Expected<Json, ParseError> parse(std::string_view text, const Limits& limits = {});

// Returns the deepest nesting of arrays and objects in text, stopping early past `stop_after`.
// Brackets inside strings and comments do not count.
int nesting_depth(std::string_view text, int stop_after);

}  // namespace monsys::json
