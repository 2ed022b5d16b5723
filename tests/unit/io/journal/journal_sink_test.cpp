#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "common/io/journal/journal_sink.hpp"

namespace log = monsys::log;
using monsys::io::journal_fields;
using monsys::io::max_field_bytes;
using monsys::io::stderr_is_journal;

namespace {

bool has(const std::vector<std::string>& fields, const std::string& wanted) {
    return std::find(fields.begin(), fields.end(), wanted) != fields.end();
}

bool has_name(const std::vector<std::string>& fields, const std::string& name) {
    return std::any_of(fields.begin(), fields.end(),
                       [&name](const std::string& f) { return f.rfind(name + "=", 0) == 0; });
}

// Runs `body` with stderr pointed at a fresh temporary file; restores it afterwards.
template <typename Body>
void with_stderr_on_temp_file(Body body) {
    char path[] = "/tmp/monsys-journal-test-XXXXXX";
    const int fd = ::mkstemp(path);
    REQUIRE(fd >= 0);
    ::unlink(path);
    const int saved = ::dup(STDERR_FILENO);
    ::dup2(fd, STDERR_FILENO);
    struct stat status {};
    ::fstat(fd, &status);
    body(status);
    ::dup2(saved, STDERR_FILENO);
    ::close(saved);
    ::close(fd);
}

}  // namespace

TEST_CASE("an event's journal fields: message, priority, identifier, id and MONSYS_* fields") {
    const log::Event event = log::Event::action_result;
    const log::EventFields values{"j-1", "app-9", "systemd", "succeeded"};
    const auto fields =
        journal_fields(log::Record{log::Level::notice, "action j-1 succeeded", &event, &values},
                       "monsys-agent");
    CHECK(has(fields, "MESSAGE=action j-1 succeeded"));
    CHECK(has(fields, "PRIORITY=5"));
    CHECK(has(fields, "SYSLOG_IDENTIFIER=monsys-agent"));
    CHECK(has(fields, "MESSAGE_ID=bfb757f34029493ea0494c6a66e3f097"));
    CHECK(has(fields, "MONSYS_EVENT=action_result"));
    CHECK(has(fields, "MONSYS_JTI=j-1"));
    CHECK(has(fields, "MONSYS_APP_ID=app-9"));
    CHECK(has(fields, "MONSYS_APP_TYPE=systemd"));
    CHECK(has(fields, "MONSYS_STATUS=succeeded"));
}

TEST_CASE("a plain line has no MESSAGE_ID and empty fields are left out") {
    auto fields = journal_fields(log::Record{log::Level::warning, "plain"}, "monsys-action");
    CHECK(fields.size() == 3);
    CHECK_FALSE(has_name(fields, "MESSAGE_ID"));
    const log::Event event = log::Event::token_refused;
    const log::EventFields values{"", "app-1", "", ""};
    fields = journal_fields(log::Record{log::Level::warning, "x", &event, &values}, "a");
    CHECK(has(fields, "MONSYS_APP_ID=app-1"));
    CHECK_FALSE(has_name(fields, "MONSYS_JTI"));
    CHECK_FALSE(has_name(fields, "MONSYS_STATUS"));
}

TEST_CASE("a hostile field value stays one bounded line and cannot add a field") {
    const log::Event event = log::Event::token_refused;
    const std::string jti = "j\nMONSYS_STATUS=succeeded\x01" + std::string(10000, 'x');
    const log::EventFields values{jti, "", "", ""};
    const auto fields =
        journal_fields(log::Record{log::Level::warning, "refused", &event, &values}, "a");
    CHECK_FALSE(has_name(fields, "MONSYS_STATUS"));
    for (const std::string& f : fields) {
        CHECK(f.find('\n') == std::string::npos);
        CHECK(f.find('\x01') == std::string::npos);
        CHECK(f.size() <= max_field_bytes + 32);
    }
}

TEST_CASE("stderr is the journal only when JOURNAL_STREAM names stderr's device and inode") {
    const char* before = std::getenv("JOURNAL_STREAM");
    const std::string saved = before ? before : "";
    with_stderr_on_temp_file([](const struct stat& status) {
        const std::string mine =
            std::to_string(status.st_dev) + ":" + std::to_string(status.st_ino);
        ::setenv("JOURNAL_STREAM", mine.c_str(), 1);
        CHECK(stderr_is_journal());
        const std::string other =
            std::to_string(status.st_dev) + ":" + std::to_string(status.st_ino + 1);
        ::setenv("JOURNAL_STREAM", other.c_str(), 1);
        CHECK_FALSE(stderr_is_journal());  // inherited from a parent whose stderr was elsewhere
        for (const char* junk : {"", ":", "12", "12:", ":12", "a:b", "1:2:3", "-1:5"}) {
            ::setenv("JOURNAL_STREAM", junk, 1);
            CHECK_FALSE(stderr_is_journal());
        }
        ::unsetenv("JOURNAL_STREAM");
        CHECK_FALSE(stderr_is_journal());
    });
    if (before) ::setenv("JOURNAL_STREAM", saved.c_str(), 1);
}
