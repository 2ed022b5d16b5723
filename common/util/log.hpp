#pragma once
// Log lines for both programs: one line per event. By default each line goes to stderr, starting
// with the level's name ("warning: "), or with the syslog priority prefix ("<4>") when stderr
// is a journal stream (JOURNAL_STREAM set). Under journald a sink (common/io/journal) sends each
// line to the journal instead, with its priority and, for the events an operator follows
// (Event), a stable MESSAGE_ID and MONSYS_* fields (docs/logging.md). Thread-safe.
#include <string_view>

namespace monsys::log {

enum class Level { error = 3, warning = 4, notice = 5, info = 6, debug = 7 };

// Lines above this level are dropped; MONSYS_LOG_LEVEL=debug|info|notice|warning|error sets it
// at start (default info).
void set_threshold(Level level);
void init_from_environment();

// The events of a restart's story and of the hub link, each with a stable journal MESSAGE_ID.
enum class Event {
    hub_connected,
    hub_disconnected,
    action_accepted,
    action_result,
    token_refused,
    state_changed,
    inventory_sent,
};
inline constexpr Event all_events[] = {
    Event::hub_connected,  Event::hub_disconnected, Event::action_accepted, Event::action_result,
    Event::token_refused,  Event::state_changed,    Event::inventory_sent,
};
// 32 lowercase hex digits; never changes once released (operators filter on it).
std::string_view message_id(Event event);
std::string_view event_name(Event event);

// The fields journalctl can filter on (MONSYS_JTI=..., ...); empty ones are left out.
struct EventFields {
    std::string_view jti;
    std::string_view app_id;
    std::string_view app_type;
    std::string_view status;
};

// One line as the sink gets it; `event` and `fields` are null for plain lines.
struct Record {
    Level level;
    std::string_view message;  // one line: newlines already replaced
    const Event* event = nullptr;
    const EventFields* fields = nullptr;
};
// Returns false when it could not deliver: the line then goes to stderr.
using Sink = bool (*)(const Record& record);
// Null: back to stderr.
void set_sink(Sink sink);

void write(Level level, std::string_view message);
// Outside journald the line is exactly what write() prints.
void event(Level level, Event event, std::string_view message, const EventFields& fields = {});

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
