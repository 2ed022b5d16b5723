#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/util/log.hpp"

namespace log = monsys::log;

namespace {

struct Seen {
    log::Level level;
    std::string message;
    std::optional<log::Event> event;
    std::string jti, app_id, app_type, status;
};
std::vector<Seen> seen;
bool accept_sink = true;

bool recording_sink(const log::Record& record) {
    Seen entry{record.level, std::string(record.message), std::nullopt, {}, {}, {}, {}};
    if (record.event) entry.event = *record.event;
    if (record.fields) {
        entry.jti = record.fields->jti;
        entry.app_id = record.fields->app_id;
        entry.app_type = record.fields->app_type;
        entry.status = record.fields->status;
    }
    seen.push_back(entry);
    return accept_sink;
}

// What the log writes to stderr while `body` runs.
template <typename Body>
std::string captured_stderr(Body body) {
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    const int saved = ::dup(STDERR_FILENO);
    ::dup2(pipe_fds[1], STDERR_FILENO);
    ::close(pipe_fds[1]);
    body();
    ::dup2(saved, STDERR_FILENO);
    ::close(saved);
    std::string text;
    char buffer[4096];
    ::fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK);
    for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;) text.append(buffer, n);
    ::close(pipe_fds[0]);
    return text;
}

struct SinkGuard {
    SinkGuard() {
        seen.clear();
        accept_sink = true;
        log::set_sink(&recording_sink);
    }
    ~SinkGuard() { log::set_sink(nullptr); }
};

}  // namespace

TEST_CASE("every event has its own message id of 32 lowercase hex digits") {
    std::set<std::string_view> ids;
    std::set<std::string_view> names;
    for (log::Event event : log::all_events) {
        const std::string_view id = log::message_id(event);
        CHECK(id.size() == 32);
        for (char c : id) CHECK((std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f')));
        ids.insert(id);
        names.insert(log::event_name(event));
    }
    CHECK(ids.size() == std::size(log::all_events));
    CHECK(names.size() == std::size(log::all_events));
    // Released ids never change: operators have them in their filters.
    CHECK(log::message_id(log::Event::action_result) == "bfb757f34029493ea0494c6a66e3f097");
}

TEST_CASE("outside journald an event is exactly the plain line") {
    const std::string plain = captured_stderr([] { log::notice("action j-1: app a restarted"); });
    const std::string as_event = captured_stderr([] {
        log::event(log::Level::notice, log::Event::action_result, "action j-1: app a restarted",
                   {"j-1", "a", "systemd", "succeeded"});
    });
    CHECK(plain == "notice: action j-1: app a restarted\n");
    CHECK(as_event == plain);
}

TEST_CASE("a line from outside cannot forge a second line") {
    const std::string text = captured_stderr([] { log::warning("bad frame\nerror: forged\r"); });
    CHECK(text == "warning: bad frame error: forged \n");
}

TEST_CASE("a sink gets the event, its fields and the one-line message") {
    SinkGuard guard;
    const std::string stderr_text = captured_stderr([] {
        log::event(log::Level::warning, log::Event::token_refused, "refused\nx",
                   {"j-2", "app-7", "", "rejected"});
        log::info("plain");
    });
    CHECK(stderr_text.empty());
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].level == log::Level::warning);
    CHECK(seen[0].message == "refused x");
    REQUIRE(seen[0].event.has_value());
    CHECK(*seen[0].event == log::Event::token_refused);
    CHECK(seen[0].jti == "j-2");
    CHECK(seen[0].app_id == "app-7");
    CHECK(seen[0].app_type.empty());
    CHECK(seen[0].status == "rejected");
    CHECK_FALSE(seen[1].event.has_value());
    CHECK(seen[1].message == "plain");
}

TEST_CASE("a line the sink cannot deliver still reaches stderr") {
    SinkGuard guard;
    accept_sink = false;
    const std::string text = captured_stderr([] { log::error("disk full"); });
    CHECK(seen.size() == 1);
    CHECK(text == "error: disk full\n");
}

TEST_CASE("lines above the threshold reach neither the sink nor stderr") {
    SinkGuard guard;
    log::set_threshold(log::Level::notice);
    const std::string text = captured_stderr([] {
        log::info("chatty");
        log::event(log::Level::debug, log::Event::state_changed, "chatty too");
    });
    log::set_threshold(log::Level::info);
    CHECK(text.empty());
    CHECK(seen.empty());
}
