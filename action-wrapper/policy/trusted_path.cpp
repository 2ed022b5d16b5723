#include "action-wrapper/policy/trusted_path.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

namespace monsys::action {
namespace {

std::optional<std::string> ownership_problem(const std::string& path, const struct stat& st,
                                             const char* what) {
    if (st.st_uid != 0 && st.st_uid != geteuid()) {
        return std::string(what) + " " + path + " is owned by uid " + std::to_string(st.st_uid) +
               ", not by root";
    }
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        return std::string(what) + " " + path + " is writable by group or others";
    }
    return std::nullopt;
}

// Checks every directory that leads to `path` (not the last component itself).
std::optional<std::string> ancestors_problem(const std::string& path) {
    std::string prefix = "/";
    std::size_t start = 1;
    while (true) {
        struct stat st {};
        if (stat(prefix.c_str(), &st) != 0) {
            return "cannot inspect " + prefix + ": " + std::strerror(errno);
        }
        if (auto problem = ownership_problem(prefix, st, "directory")) return problem;
        std::size_t end = path.find('/', start);
        if (end == std::string::npos) return std::nullopt;
        prefix = path.substr(0, end);
        start = end + 1;
    }
}

}  // namespace

std::optional<std::string> untrusted_file_problem(const std::filesystem::path& path) {
    const std::string given = path.string();
    if (given.empty() || given.front() != '/') return given + " is not an absolute path";

    char resolved_buffer[PATH_MAX];
    if (realpath(given.c_str(), resolved_buffer) == nullptr) {
        return "cannot resolve " + given + ": " + std::strerror(errno);
    }
    const std::string resolved = resolved_buffer;

    struct stat st {};
    if (stat(resolved.c_str(), &st) != 0) {
        return "cannot inspect " + resolved + ": " + std::strerror(errno);
    }
    if (!S_ISREG(st.st_mode)) return resolved + " is not a regular file";
    if (auto problem = ownership_problem(resolved, st, "file")) return problem;
    if (auto problem = ancestors_problem(resolved)) return problem;
    if (resolved != given) {
        // The link itself and the directories that hold it: whoever can write there can point
        // the link elsewhere.
        if (auto problem = ancestors_problem(given)) return problem;
    }
    return std::nullopt;
}

}  // namespace monsys::action
