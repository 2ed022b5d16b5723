#pragma once
// Reads the token monsys-action is given, from standard input or a file, with a hard cap.
#include <cstdio>
#include <string>

#include "common/util/expected.hpp"

namespace monsys::action {

// More than a token may hold (8 KiB), so an oversized token is seen as such by the verifier
// rather than cut to a size that might parse.
inline constexpr std::size_t max_token_input_bytes = 8192 + 1;

// Reads at most max_token_input_bytes (plus trailing white space, which is dropped) from `stream`.
Expected<std::string, std::string> read_token(std::FILE* stream);
Expected<std::string, std::string> read_token_file(const std::string& path);

}  // namespace monsys::action
