#include "action-wrapper/token_input.hpp"

#include <cerrno>
#include <cstring>
#include <memory>

namespace monsys::action {
namespace {

// Leaves room for a trailing newline (or CRLF) after a token of the maximum size.
constexpr std::size_t read_cap = max_token_input_bytes + 16;

bool is_trailing_space(char c) {
    return c == '\n' || c == '\r' || c == ' ' || c == '\t';
}

}  // namespace

Expected<std::string, std::string> read_token(std::FILE* stream) {
    std::string token(read_cap, '\0');
    std::size_t length = std::fread(token.data(), 1, token.size(), stream);
    if (std::ferror(stream))
        return unexpected(std::string("cannot read the token: ") + std::strerror(errno));
    token.resize(length);
    while (!token.empty() && is_trailing_space(token.back())) token.pop_back();
    if (token.empty())
        return unexpected(std::string("no token given (pass it on stdin or with --eat-file)"));
    if (token.size() > max_token_input_bytes) token.resize(max_token_input_bytes);
    return token;
}

Expected<std::string, std::string> read_token_file(const std::string& path) {
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                         &std::fclose);
    if (!file) return unexpected(path + ": cannot read: " + std::strerror(errno));
    return read_token(file.get());
}

}  // namespace monsys::action
