#include "common/util/log.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>

namespace monsys::log {
namespace {

std::atomic<int> threshold{static_cast<int>(Level::info)};
std::atomic<Sink> sink{nullptr};
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

// One event, one line: embedded newlines from remote text must not forge further lines.
std::string one_line(std::string_view message) {
    std::string line;
    line.reserve(message.size());
    for (char c : message) line += (c == '\n' || c == '\r') ? ' ' : c;
    return line;
}

void to_stderr(Level level, std::string_view line_text) {
    std::string line;
    line.reserve(line_text.size() + 16);
    if (journal_prefix) {
        // stderr is a journal stream but no sink took the line: the "<N>" prefix still gives
        // journald the priority.
        line += '<';
        line += std::to_string(static_cast<int>(level));
        line += '>';
    } else {
        line += level_name(level);
        line += ": ";
    }
    line += line_text;
    line += '\n';
    std::string_view left = line;
    while (!left.empty()) {
        ssize_t n = ::write(STDERR_FILENO, left.data(), left.size());
        if (n <= 0) return;
        left.remove_prefix(static_cast<std::size_t>(n));
    }
}

void emit(Level level, std::string_view message, const Event* event, const EventFields* fields) {
    if (static_cast<int>(level) > threshold) return;
    const std::string line = one_line(message);
    if (Sink current = sink.load(); current != nullptr) {
        if (current(Record{level, line, event, fields})) return;
    }
    to_stderr(level, line);
}

}  // namespace

std::string_view message_id(Event event) {
    // Made once with a random generator; docs/logging.md lists them.
    switch (event) {
        case Event::hub_connected:
            return "be9d5ca04e9c4fc6836a664cd663d945";
        case Event::hub_disconnected:
            return "de8f610c1052452da428c505188bfd90";
        case Event::action_accepted:
            return "b18cf9fd607f44159f9b25ea42fb6119";
        case Event::action_result:
            return "bfb757f34029493ea0494c6a66e3f097";
        case Event::token_refused:
            return "f8c946d510624024b0a6c623c2a940a5";
        case Event::state_changed:
            return "712e8ce89b544fb18d51699633fba536";
        case Event::inventory_sent:
            return "fa41fe7709b145189f95eb0772953ed8";
    }
    return {};
}

std::string_view event_name(Event event) {
    switch (event) {
        case Event::hub_connected:
            return "hub_connected";
        case Event::hub_disconnected:
            return "hub_disconnected";
        case Event::action_accepted:
            return "action_accepted";
        case Event::action_result:
            return "action_result";
        case Event::token_refused:
            return "token_refused";
        case Event::state_changed:
            return "state_changed";
        case Event::inventory_sent:
            return "inventory_sent";
    }
    return {};
}

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

void set_sink(Sink new_sink) {
    sink = new_sink;
}

void write(Level level, std::string_view message) {
    emit(level, message, nullptr, nullptr);
}

void event(Level level, Event event, std::string_view message, const EventFields& fields) {
    emit(level, message, &event, &fields);
}

}  // namespace monsys::log
