// tests/tools/mint_eat.py is what integration tests mint fresh tokens with: check that what it
// prints now, at the real time, passes (or fails) verify_token as its options say.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <string>

#include "tests/unit/common/eat/eat_fixtures.hpp"

namespace {

constexpr const char* python = "/usr/bin/python3";

// Runs mint_eat.py with `arguments` (already shell-quoted) and returns its stdout without the
// final newline, or an empty string if it failed.
std::string mint(const std::string& arguments) {
    std::string command = std::string(python) +
                          " " MONSYS_SOURCE_DIR "/tests/tools/mint_eat.py --key " +
                          MONSYS_FIXTURES_DIR "/eat/hub-1.pem " + arguments;
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string out;
    char buffer[4096];
    std::size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
    int status = ::pclose(pipe);
    INFO(command);
    REQUIRE(status == 0);
    REQUIRE_FALSE(out.empty());
    REQUIRE(out.back() == '\n');
    out.pop_back();
    return out;
}

std::string verify_now(const std::string& token) {
    return eat_test::outcome_of(token, eat_test::common_settings(),
                                static_cast<std::int64_t>(std::time(nullptr)));
}

}  // namespace

TEST_CASE("mint_eat.py: a default token minted now verifies now") {
    REQUIRE_MESSAGE(::access(python, X_OK) == 0, python << " (with python3-jwt) is needed");
    CHECK(verify_now(mint("")) == "ok");
    CHECK(verify_now(mint("--app-type process --app-id app-5 --identifier /opt/a/bin/a "
                          "--restart-command /opt/a/bin/restart --lvl 3")) == "ok");
}

TEST_CASE("mint_eat.py: its hostile options produce the matching refusals") {
    REQUIRE(::access(python, X_OK) == 0);
    CHECK(verify_now(mint("--alg none")) == "bad_alg");
    CHECK(verify_now(mint("--mutate strip-signature")) == "missing_signature");
    CHECK(verify_now(mint("--tamper-claims '{\"lvl\": 9}'")) == "bad_signature");
    CHECK(verify_now(mint("--claims '{\"exp\": 1000, \"iat\": 900, \"nbf\": 900}'")) == "expired");
    CHECK(verify_now(mint("--sub someone-else")) == "wrong_agent");
    CHECK(verify_now(mint("--header '{\"crit\": [\"exp\"]}'")) == "crit_unsupported");
}
