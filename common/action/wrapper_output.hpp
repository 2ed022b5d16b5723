#pragma once
// What monsys-action writes to its stdout (docs/monsys-action.md, "Output"): line 1 the result
// object, line 2 the compact JWS over exactly the bytes of line 1. The agent relays both
// unchanged: line 1 as the frame's `result`, line 2 as its `result_jws`.
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/action/action_result.hpp"
#include "common/util/expected.hpp"

namespace monsys::results {

// The JWS carries line 1 again, base64url-encoded (4/3 of its size), plus header and signature.
inline constexpr std::size_t max_wrapper_output_bytes =
    max_result_bytes + (max_result_bytes / 3 + 1) * 4 + 4096;

struct WrapperOutput {
    nlohmann::json result;                  // line 1, checked by check_result_json
    std::string result_text;                // line 1 byte for byte, without its newline
    std::optional<std::string> result_jws;  // line 2; none from an older wrapper or when absent
};

// Splits and checks what monsys-action printed. Only the JWS's form is checked here (three
// base64url parts); its signature is the hub's to verify. A single line (an older wrapper) is a
// result without a JWS. The error names the problem.
Expected<WrapperOutput, std::string> parse_wrapper_output(std::string_view text);

// The two lines, each ending in '\n'.
std::string format_wrapper_output(std::string_view result_text, std::string_view result_jws);

}  // namespace monsys::results
