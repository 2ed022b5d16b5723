// The agent token file: first line, visible ASCII, readable by the agent's user only.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include "../temp_dir.hpp"
#include "agent/hub/agent_token.hpp"

using monsys::agent::hub::read_agent_token;
using monsys::agent::test::TempDir;
using monsys::agent::test::write_all;

namespace {
std::filesystem::path token_file(const TempDir& dir, std::string_view text, mode_t mode) {
    auto file = dir.path() / "agent.token";
    write_all(file, text);
    ::chmod(file.c_str(), mode);
    return file;
}
}  // namespace

TEST_CASE("agent token: the first line, without trailing whitespace") {
    TempDir dir;
    auto token = read_agent_token(token_file(dir, "tok-abc_123\r\nsecond line\n", 0600));
    REQUIRE(token);
    CHECK(*token == "tok-abc_123");
}

TEST_CASE("agent token: a file group or others can read is refused with the fix") {
    TempDir dir;
    for (mode_t mode : {0640, 0604, 0644}) {
        auto token = read_agent_token(token_file(dir, "tok\n", mode));
        REQUIRE_FALSE(token);
        CHECK(token.error().find("chmod 0600") != std::string::npos);
    }
}

TEST_CASE("agent token: missing, empty, oversized, binary and symlinked files are refused") {
    TempDir dir;
    CHECK_FALSE(read_agent_token(dir.path() / "missing"));
    CHECK(read_agent_token(token_file(dir, "\n", 0600)).error().find("empty") != std::string::npos);
    CHECK(read_agent_token(token_file(dir, std::string(5000, 'a'), 0600)).error().find("4 KiB") !=
          std::string::npos);
    CHECK_FALSE(read_agent_token(token_file(dir, "tok en\n", 0600)));
    CHECK_FALSE(read_agent_token(token_file(dir, "tok\x01\n", 0600)));
    auto real = token_file(dir, "tok\n", 0600);
    auto link = dir.path() / "link.token";
    std::filesystem::create_symlink(real, link);
    CHECK_FALSE(read_agent_token(link));
    CHECK_FALSE(read_agent_token(dir.path()));
}
