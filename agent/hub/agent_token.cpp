#include "agent/hub/agent_token.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/util/unique_fd.hpp"

namespace monsys::agent::hub {

Expected<std::string, std::string> read_agent_token(const std::filesystem::path& file) {
    const std::string name = "hub_token_file " + file.string();
    // The checks below are made on the descriptor that is then read, never on the path again.
    UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid()) return unexpected(name + ": cannot read: " + std::strerror(errno));
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
        return unexpected(name + ": not a regular file");
    }
    if ((info.st_mode & 0077) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.st_mode & 07777));
        return unexpected(name + ": readable by group or others (mode " + mode +
                          "); make it readable by the agent's user only (chmod 0600)");
    }
    std::string text(max_token_file_bytes + 1, '\0');
    std::size_t used = 0;
    while (used < text.size()) {
        ssize_t n = ::read(fd.get(), text.data() + used, text.size() - used);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            return unexpected(name + ": cannot read: " + std::strerror(errno));
        }
        if (n == 0) break;
        used += static_cast<std::size_t>(n);
    }
    fd.reset();
    if (used > max_token_file_bytes) return unexpected(name + ": larger than 4 KiB");
    text.resize(used);
    std::string token = text.substr(0, text.find('\n'));
    while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
    if (token.empty()) return unexpected(name + ": empty");
    for (unsigned char c : token) {
        if (c < 0x21 || c > 0x7e) {
            return unexpected(name + ": the token may only hold visible ASCII characters");
        }
    }
    return token;
}

}  // namespace monsys::agent::hub
