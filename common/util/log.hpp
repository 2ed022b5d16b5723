#pragma once
// Log lines for the daemon: one line per event on stderr. Under systemd (JOURNAL_STREAM set)
// each line starts with the syslog priority prefix journald understands ("<4>"), elsewhere with
// the level's name. Thread-safe: one write(2) per line.
#include <string_view>

namespace monsys::log {

enum class Level { error = 3, warning = 4, notice = 5, info = 6, debug = 7 };

// Lines above this level are dropped; MONSYS_LOG_LEVEL=debug|info|notice|warning|error sets it
// at start (default info).
void set_threshold(Level level);
void init_from_environment();

void write(Level level, std::string_view message);

inline void error(std::string_view message) {
    write(Level::error, message);
}
inline void warning(std::string_view message) {
    write(Level::warning, message);
}
inline void notice(std::string_view message) {
    write(Level::notice, message);
}
inline void info(std::string_view message) {
    write(Level::info, message);
}
inline void debug(std::string_view message) {
    write(Level::debug, message);
}

}  // namespace monsys::log
