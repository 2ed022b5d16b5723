// The request of a monsys-action.socket connection: two lines, capped, nothing else.
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "action-wrapper/connection_request.hpp"
#include "common/app/identifier.hpp"

using namespace monsys::action;

TEST_CASE("connection request: restart-app <id>, then the token") {
    auto request = parse_connection_request("restart-app app-7\nhdr.payload.sig\n");
    REQUIRE(request);
    CHECK(request->app_id == "app-7");
    CHECK(request->token == "hdr.payload.sig");
    auto crlf = parse_connection_request("restart-app app-7\nhdr.payload.sig\r\n");
    REQUIRE(crlf);
    CHECK(crlf->token == "hdr.payload.sig");
    CHECK(parse_connection_request("restart-app app-7\nhdr.payload.sig"));  // no final newline
}

TEST_CASE("connection request: anything else is refused with a reason") {
    CHECK(parse_connection_request("").error().find("first line") != std::string::npos);
    CHECK(parse_connection_request("restart-app app-7").error().find("first line") !=
          std::string::npos);
    CHECK(parse_connection_request("verify app-7\nt\n").error().find("restart-app") !=
          std::string::npos);
    CHECK_FALSE(parse_connection_request("restart-app \nt\n"));
    CHECK_FALSE(parse_connection_request("restart-app a b\nt\n"));  // a space in the id
    CHECK_FALSE(parse_connection_request("restart-app a\x01\nt\n"));
    CHECK_FALSE(parse_connection_request("restart-app " + std::string(256, 'a') + "\nt\n"));
    CHECK(parse_connection_request("restart-app a\n\n").error().find("no token") !=
          std::string::npos);
    CHECK(
        parse_connection_request("restart-app a\nt\n--config /tmp/x\n").error().find("two lines") !=
        std::string::npos);
}

TEST_CASE("connection request: read until the peer half-closes, capped, with a deadline") {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    const std::string sent = "restart-app app-1\ntoken\n";
    REQUIRE(::write(fds[1], sent.data(), sent.size()) == static_cast<ssize_t>(sent.size()));
    ::shutdown(fds[1], SHUT_WR);
    auto bytes = read_connection_request(fds[0], std::chrono::seconds(2));
    REQUIRE(bytes);
    CHECK(*bytes == sent);
    auto uid = peer_uid(fds[0]);
    REQUIRE(uid);
    CHECK(*uid == ::getuid());
    ::close(fds[0]);
    ::close(fds[1]);
}

TEST_CASE("connection request: a peer that never half-closes runs into the deadline") {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    REQUIRE(::write(fds[1], "restart-app a\n", 14) == 14);
    auto started = std::chrono::steady_clock::now();
    auto bytes = read_connection_request(fds[0], std::chrono::milliseconds(200));
    CHECK_FALSE(bytes);
    CHECK(bytes.error().find("in time") != std::string::npos);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(2));
    ::close(fds[0]);
    ::close(fds[1]);
}

TEST_CASE("connection request: more than 16 KiB is refused") {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    std::thread writer([fd = fds[1]] {
        std::string junk(max_connection_request_bytes + 4096, 'x');
        std::string_view left = junk;
        while (!left.empty()) {
            ssize_t n = ::send(fd, left.data(), left.size(), MSG_NOSIGNAL);
            if (n <= 0) break;
            left.remove_prefix(static_cast<std::size_t>(n));
        }
        ::shutdown(fd, SHUT_WR);
    });
    auto bytes = read_connection_request(fds[0], std::chrono::seconds(2));
    ::close(fds[0]);
    writer.join();
    ::close(fds[1]);
    REQUIRE_FALSE(bytes);
    CHECK(bytes.error().find("16 KiB") != std::string::npos);
}

TEST_CASE("connection request: a pipe is not a socket, so no peer can be named") {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    CHECK_FALSE(peer_uid(fds[0]));
    ::close(fds[0]);
    ::close(fds[1]);
}

TEST_CASE("connection request: the app id follows the one app id grammar") {
    for (const char* good : {"app-7", "tenant:app@eu-1", "a.b_c"}) {
        INFO(good);
        CHECK(parse_connection_request(std::string("restart-app ") + good + "\nt\n"));
    }
    for (const char* bad : {"app 7", "app/7", "-app", "app;reboot", "\xc3\xa4pp"}) {
        INFO(bad);
        auto request = parse_connection_request(std::string("restart-app ") + bad + "\nt\n");
        REQUIRE_FALSE(request);
        CHECK(request.error().find(monsys::app::app_id_rule) != std::string::npos);
    }
    CHECK(parse_connection_request("restart-app " + std::string(128, 'a') + "\nt\n"));
    CHECK_FALSE(parse_connection_request("restart-app " + std::string(129, 'a') + "\nt\n"));
}
