// run_child with bytes on standard input: spawns /bin/cat and /bin/sh, which every Debian has.
#include <doctest/doctest.h>

#include <string>

#include "common/io/process/child_process.hpp"

using namespace monsys::io::process;

TEST_CASE("child process: the given input arrives on stdin and stdin is then closed") {
    ChildSpec spec{.path = "/bin/cat",
                   .argv = {},
                   .env = {},
                   .cwd = "/",
                   .stdin_data = "header.payload.signature\n"};
    auto result = run_child(spec, ChildLimits{});
    REQUIRE(result);
    CHECK(result->ending == ChildEnding::exited);
    CHECK(result->exit_code == 0);
    CHECK(result->out.text == "header.payload.signature\n");
}

TEST_CASE("child process: without input, stdin is /dev/null") {
    ChildSpec spec{.path = "/bin/sh", .argv = {"/bin/sh", "-c", "wc -c"}, .env = {}, .cwd = "/"};
    auto result = run_child(spec, ChildLimits{});
    REQUIRE(result);
    CHECK(result->out.text.find('0') != std::string::npos);
}

TEST_CASE("child process: a program that ignores its input still runs") {
    ChildSpec spec{.path = "/bin/true",
                   .argv = {},
                   .env = {},
                   .cwd = "/",
                   .stdin_data = std::string(50000, 'x')};
    auto result = run_child(spec, ChildLimits{});
    REQUIRE(result);
    CHECK(result->exit_code == 0);
}

TEST_CASE("child process: input larger than the cap is refused before anything runs") {
    ChildSpec spec{.path = "/bin/cat",
                   .argv = {},
                   .env = {},
                   .cwd = "/",
                   .stdin_data = std::string(max_stdin_bytes + 1, 'x')};
    auto result = run_child(spec, ChildLimits{});
    REQUIRE_FALSE(result);
    CHECK(result.error().find("too large") != std::string::npos);
}
