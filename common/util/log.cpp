#include "common/util/log.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>

namespace monsys::log {
namespace {

std::atomic<int> threshold{static_cast<int>(Level::info)};
std::atomic<bool> journal_prefix{false};

const char* level_name(Level level) {
    switch (level) {
        case Level::error:
            return "error";
        case Level::warning:
            return "warning";
        case Level::notice:
            return "notice";
        case Level::info:
            return "info";
        case Level::debug:
            return "debug";
    }
    return "info";
}

}  // namespace

void set_threshold(Level level) {
    threshold = static_cast<int>(level);
}

void init_from_environment() {
    journal_prefix = std::getenv("JOURNAL_STREAM") != nullptr;
    if (const char* wanted = std::getenv("MONSYS_LOG_LEVEL")) {
        std::string_view name = wanted;
        for (Level level :
             {Level::error, Level::warning, Level::notice, Level::info, Level::debug}) {
            if (name == level_name(level)) set_threshold(level);
        }
    }
}

void write(Level level, std::string_view message) {
    if (static_cast<int>(level) > threshold) return;
    std::string line;
    line.reserve(message.size() + 16);
    if (journal_prefix) {
        line += '<';
        line += std::to_string(static_cast<int>(level));
        line += '>';
    } else {
        line += level_name(level);
        line += ": ";
    }
    // One event, one line: embedded newlines from remote text must not forge further lines.
    for (char c : message) line += (c == '\n' || c == '\r') ? ' ' : c;
    line += '\n';
    std::string_view left = line;
    while (!left.empty()) {
        ssize_t n = ::write(STDERR_FILENO, left.data(), left.size());
        if (n <= 0) return;
        left.remove_prefix(static_cast<std::size_t>(n));
    }
}

}  // namespace monsys::log
