// The CONNECT request's exact bytes and the reading of the proxy's reply.
#include <doctest/doctest.h>

#include <string>

#include "agent/hub/hub_url.hpp"
#include "agent/hub/proxy_tunnel.hpp"

using namespace monsys::agent::hub;

namespace {

HubUrl hub(const std::string& text) {
    auto url = parse_hub_url(text, false);
    REQUIRE(url);
    return *url;
}

ProxyUrl proxy(const std::string& text) {
    auto url = parse_proxy_url(text, "hub_proxy", false);
    REQUIRE(url);
    return *url;
}

ProxyReply complete(const std::string& bytes) {
    auto reply = read_proxy_reply(bytes);
    REQUIRE(reply);
    REQUIRE(reply->has_value());
    return **reply;
}

bool incomplete(const std::string& bytes) {
    auto reply = read_proxy_reply(bytes);
    return reply && !reply->has_value();
}

std::string error_of(const std::string& bytes) {
    auto reply = read_proxy_reply(bytes);
    REQUIRE_FALSE(reply);
    return reply.error();
}

}  // namespace

TEST_CASE("proxy tunnel: CONNECT names the hub's host and port, without credentials") {
    CHECK(connect_request(hub("wss://hub.example.com/agent"), proxy("http://p:3128"),
                          "monsys-agent/1.0") ==
          "CONNECT hub.example.com:443 HTTP/1.1\r\nHost: hub.example.com:443\r\n"
          "User-Agent: monsys-agent/1.0\r\n\r\n");
}

TEST_CASE("proxy tunnel: IPv6 hubs are bracketed") {
    CHECK(connect_request(hub("wss://[::1]:8443/agent"), proxy("http://p:3128"), "") ==
          "CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n");
}

TEST_CASE("proxy tunnel: Basic credentials, decoded first (RFC 7617)") {
    // "Aladdin:open sesame" is RFC 7617's example.
    CHECK(connect_request(hub("wss://hub.example.com:8443/"),
                          proxy("http://Aladdin:open%20sesame@p:3128"), "") ==
          "CONNECT hub.example.com:8443 HTTP/1.1\r\nHost: hub.example.com:8443\r\n"
          "Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n");
}

TEST_CASE("proxy tunnel: a complete reply gives the status, the reason and where it ends") {
    const std::string tinyproxy =
        "HTTP/1.0 200 Connection established\r\nProxy-agent: tinyproxy/1.11.1\r\n\r\n";
    auto ok = complete(tinyproxy);
    CHECK(ok.status == 200);
    CHECK(ok.reason == "Connection established");
    CHECK(ok.header_bytes == tinyproxy.size());

    auto bare = complete("HTTP/1.1 200\r\n\r\n");
    CHECK(bare.status == 200);
    CHECK(bare.reason.empty());
    CHECK(bare.header_bytes == 16);

    auto lf_only = complete("HTTP/1.1 407 Proxy Authentication Required\nX: y\n\n");
    CHECK(lf_only.status == 407);

    // Bytes after the headers are not part of the reply; the caller sees header_bytes.
    auto with_body = complete("HTTP/1.1 403 Forbidden\r\nContent-Length: 3\r\n\r\nno!");
    CHECK(with_body.status == 403);
    CHECK(with_body.header_bytes ==
          std::string("HTTP/1.1 403 Forbidden\r\nContent-Length: 3\r\n\r\n").size());
}

TEST_CASE("proxy tunnel: a partial reply asks for more") {
    CHECK(incomplete(""));
    CHECK(incomplete("HTT"));
    CHECK(incomplete("HTTP/1.1 2"));
    CHECK(incomplete("HTTP/1.1 200 OK"));
    CHECK(incomplete("HTTP/1.1 200 OK\r\n"));
    CHECK(incomplete("HTTP/1.1 200 OK\r\nVia: x\r\n"));
}

TEST_CASE("proxy tunnel: what is not HTTP/1.x fails at once") {
    CHECK(error_of("SSH-2.0-OpenSSH\r\n").find("not HTTP") != std::string::npos);
    CHECK(error_of("\x16\x03\x01").find("not HTTP") != std::string::npos);
    CHECK(error_of("HTTP/2 200\r\n\r\n").find("not HTTP/1.x") != std::string::npos);
    CHECK(error_of("HTTP/1.1 20\r\n\r\n").find("not HTTP/1.x") != std::string::npos);
    CHECK(error_of("HTTP/1.1 2000 OK\r\n\r\n").find("not HTTP/1.x") != std::string::npos);
    CHECK(error_of("HTTP/1.1 abc OK\r\n\r\n").find("not HTTP/1.x") != std::string::npos);
    // The quoted status line is printable and one line.
    auto quoted = error_of("HTTP/1.1 2\x01\x02 x\r\n\r\n");
    CHECK(quoted.find('\x01') == std::string::npos);
    CHECK(quoted.find('\n') == std::string::npos);
}

TEST_CASE("proxy tunnel: the reply's headers are capped") {
    std::string endless = "HTTP/1.1 200 OK\r\n";
    while (endless.size() < max_proxy_reply_bytes) endless += "X-Filler: aaaaaaaaaaaaaaaaaaaa\r\n";
    CHECK(error_of(endless).find("longer than 16384 bytes") != std::string::npos);
    // Just under the cap, complete: fine.
    std::string fits = "HTTP/1.1 200 OK\r\n";
    fits += "X: " + std::string(max_proxy_reply_bytes - fits.size() - 7, 'a') + "\r\n\r\n";
    REQUIRE(fits.size() == max_proxy_reply_bytes);
    CHECK(complete(fits).status == 200);
    // The end of the headers past the cap does not count.
    std::string late = fits.substr(0, fits.size() - 4) + "aaaa\r\n\r\n";
    CHECK(error_of(late).find("longer than") != std::string::npos);
}

TEST_CASE("proxy tunnel: the refusals the log explains") {
    CHECK(explain_proxy_status({407, "Proxy Authentication Required", 0}) ==
          "HTTP 407 Proxy Authentication Required: the proxy wants credentials, or refused the "
          "ones given");
    CHECK(explain_proxy_status({401, "Unauthorized", 0}).find("wants credentials") !=
          std::string::npos);
    CHECK(explain_proxy_status({403, "Forbidden", 0}).find("does not allow") != std::string::npos);
    CHECK(explain_proxy_status({502, "", 0}) == "HTTP 502: the proxy could not reach the hub");
    CHECK(explain_proxy_status({500, "Oops", 0}) == "HTTP 500 Oops");
}
