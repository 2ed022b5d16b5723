// HubConnection's CONNECT step against a scripted proxy on loopback (in this process): what a
// proxy that stays silent, sends too much, or sends bytes past its reply gets from connect().
// The happy path and real refusals are tests/e2e/test_proxy.py's, against tinyproxy.
#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "agent/hub/hub_connection.hpp"
#include "common/io/asio.hpp"

using namespace monsys;
using namespace monsys::agent::hub;
using tcp = asio::ip::tcp;

namespace {

// Accepts one connection, reads the CONNECT request, writes `reply` and keeps the first bytes
// the client sends after it (`after`), then holds the socket open until the client is done with
// `hold` (so a silent proxy stays silent instead of closing).
asio::awaitable<void> scripted_proxy(std::shared_ptr<tcp::acceptor> acceptor, std::string reply,
                                     std::shared_ptr<std::string> request,
                                     std::shared_ptr<std::string> after,
                                     std::shared_ptr<asio::steady_timer> hold) {
    auto executor = co_await asio::this_coro::executor;
    beast::error_code ec;
    tcp::socket socket(executor);
    co_await acceptor->async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    std::string buffer;
    co_await asio::async_read_until(socket, asio::dynamic_buffer(buffer, 4096), "\r\n\r\n",
                                    asio::redirect_error(asio::use_awaitable, ec));
    *request = buffer;
    if (!reply.empty()) {
        co_await asio::async_write(socket, asio::buffer(reply),
                                   asio::redirect_error(asio::use_awaitable, ec));
        std::array<char, 512> chunk{};
        const std::size_t n = co_await socket.async_read_some(
            asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
        after->assign(chunk.data(), n);
    }
    co_await hold->async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

struct Outcome {
    std::optional<ConnectError> error;
    std::string request;  // what the proxy received
    std::string after;    // the client's first bytes after the proxy's reply
};

asio::awaitable<void> run_connect(std::shared_ptr<HubConnection> connection,
                                  std::shared_ptr<std::optional<ConnectError>> out,
                                  std::shared_ptr<tcp::acceptor> acceptor,
                                  std::shared_ptr<asio::steady_timer> hold) {
    *out = co_await connection->connect();
    connection->abort();
    acceptor->close();
    hold->cancel();
}

// hub_tls false: the connection is given no TLS settings for the hub (a null context).
Outcome connect_through(const std::string& reply,
                        const std::string& hub_url = "wss://hub.example.net:8443/agent",
                        bool hub_tls = true) {
    asio::io_context io;
    auto acceptor =
        std::make_shared<tcp::acceptor>(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto port = acceptor->local_endpoint().port();

    ConnectOptions options;
    auto url = parse_hub_url(hub_url, true);
    REQUIRE(url);
    options.url = *url;
    options.token = "t0ken";
    options.user_agent = "monsys-agent/test";
    options.handshake_timeout = std::chrono::milliseconds(1500);
    ProxyUrl proxy;
    proxy.host = "127.0.0.1";
    proxy.port = std::to_string(port);
    proxy.username = "alice";
    proxy.password = "pw";
    options.proxy = proxy;
    auto tls = make_tls_context("");
    REQUIRE(tls);
    std::shared_ptr<HubConnection> connection =
        make_hub_connection(io.get_executor(), hub_tls ? *tls : nullptr, options);

    auto request = std::make_shared<std::string>();
    auto after = std::make_shared<std::string>();
    auto result = std::make_shared<std::optional<ConnectError>>();
    auto hold = std::make_shared<asio::steady_timer>(io);
    hold->expires_after(std::chrono::seconds(25));
    asio::co_spawn(io, scripted_proxy(acceptor, reply, request, after, hold), asio::detached);
    asio::co_spawn(io, run_connect(connection, result, acceptor, hold), asio::detached);
    io.run_for(std::chrono::seconds(30));
    return Outcome{*result, *request, *after};
}

}  // namespace

TEST_CASE("proxy connection: the CONNECT request reaches the proxy with the hub and credentials") {
    auto outcome = connect_through("HTTP/1.1 407 Proxy Authentication Required\r\n\r\n");
    CHECK(outcome.request ==
          "CONNECT hub.example.net:8443 HTTP/1.1\r\nHost: hub.example.net:8443\r\n"
          "Proxy-Authorization: Basic YWxpY2U6cHc=\r\nUser-Agent: monsys-agent/test\r\n\r\n");
    REQUIRE(outcome.error);
    CHECK(outcome.error->kind == ConnectFailure::proxy);
    CHECK(outcome.error->http_status == 407);
    CHECK(outcome.error->message.find("refused CONNECT hub.example.net:8443: HTTP 407") !=
          std::string::npos);
    CHECK(outcome.error->message.find("pw") == std::string::npos);
}

TEST_CASE("proxy connection: a proxy that never answers ends at the handshake timeout") {
    auto started = std::chrono::steady_clock::now();
    auto outcome = connect_through("");
    REQUIRE(outcome.error);
    CHECK(outcome.error->kind == ConnectFailure::proxy);
    CHECK(outcome.error->message.find("no complete reply within the handshake timeout") !=
          std::string::npos);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(20));
}

TEST_CASE("proxy connection: endless headers stop at the cap") {
    std::string endless = "HTTP/1.1 200 OK\r\n";
    while (endless.size() < 64 * 1024) endless += "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
    auto outcome = connect_through(endless);
    REQUIRE(outcome.error);
    CHECK(outcome.error->kind == ConnectFailure::proxy);
    CHECK(outcome.error->message.find("longer than 16384 bytes") != std::string::npos);
}

TEST_CASE("proxy connection: bytes after a 200 are refused, not handed to TLS") {
    auto outcome = connect_through("HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01junk");
    REQUIRE(outcome.error);
    CHECK(outcome.error->kind == ConnectFailure::proxy);
    CHECK(outcome.error->message.find("bytes after its reply") != std::string::npos);
}

// The TLS layer with the hub is there exactly when the URL says wss://, whatever the caller
// passed: what follows the proxy's 200 is a TLS ClientHello for wss://, an HTTP request for ws://.
TEST_CASE("proxy connection: through the tunnel a wss:// hub gets TLS, a ws:// hub plain HTTP") {
    const std::string established = "HTTP/1.1 200 Connection established\r\n\r\n";
    SUBCASE("wss:// with TLS settings") {
        auto outcome = connect_through(established);
        REQUIRE(outcome.after.size() >= 2);
        CHECK(outcome.after[0] == '\x16');  // TLS handshake record
        CHECK(outcome.after[1] == '\x03');
        REQUIRE(outcome.error);
        CHECK(outcome.error->kind == ConnectFailure::tls);
    }
    SUBCASE("wss:// without TLS settings still speaks TLS (checked against the system CAs)") {
        auto outcome = connect_through(established, "wss://hub.example.net:8443/agent", false);
        REQUIRE(outcome.after.size() >= 2);
        CHECK(outcome.after[0] == '\x16');
        CHECK(outcome.after.find("Bearer") == std::string::npos);
        REQUIRE(outcome.error);
        CHECK(outcome.error->kind == ConnectFailure::tls);
    }
    SUBCASE("ws:// (allowed here for the test) sends the WebSocket request itself") {
        auto outcome = connect_through(established, "ws://hub.example.net:8080/agent", false);
        CHECK(outcome.after.rfind("GET /agent HTTP/1.1\r\n", 0) == 0);
        REQUIRE(outcome.error);
        CHECK(outcome.error->kind == ConnectFailure::handshake);
    }
}
