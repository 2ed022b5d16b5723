// Proxy URLs (hub_proxy, https_proxy): what is accepted, what is refused, and that neither the
// parsed form's description nor any error shows the credentials.
#include <doctest/doctest.h>

#include <string>

#include "agent/hub/proxy_url.hpp"

using monsys::agent::hub::describe;
using monsys::agent::hub::parse_proxy_url;
using monsys::agent::hub::percent_decode;
using monsys::agent::hub::ProxyUrl;

namespace {
ProxyUrl parsed(const std::string& text, bool scheme_optional = false) {
    auto url = parse_proxy_url(text, "hub_proxy", scheme_optional);
    INFO(text);
    REQUIRE(url);
    return *url;
}

std::string error_of(const std::string& text, bool scheme_optional = false) {
    auto url = parse_proxy_url(text, "hub_proxy", scheme_optional);
    INFO(text);
    REQUIRE_FALSE(url);
    return url.error();
}
}  // namespace

TEST_CASE("proxy url: host and port, lowercased, the port defaulting to 1080") {
    auto plain = parsed("http://Proxy.Example:3128");
    CHECK(plain.host == "proxy.example");
    CHECK(plain.port == "3128");
    CHECK_FALSE(plain.has_credentials());
    CHECK(parsed("HTTP://proxy.example:3128/").port == "3128");  // a trailing slash is allowed
    CHECK(parsed("http://proxy.example").port == "1080");
    CHECK(parsed("http://10.1.2.3:8080").host == "10.1.2.3");
    auto v6 = parsed("http://[FD00::1]:3128");
    CHECK(v6.host == "fd00::1");
    CHECK(v6.port == "3128");
    CHECK(describe(v6) == "http://[fd00::1]:3128");
}

TEST_CASE("proxy url: user info is percent-decoded and kept out of describe()") {
    auto url = parsed("http://us%65r:p%40ss%3Aw0rd@proxy.example:3128");
    CHECK(url.username == "user");
    CHECK(url.password == "p@ss:w0rd");
    CHECK(describe(url) == "http://proxy.example:3128 (with credentials)");
    // The last '@' ends the user info: a raw '@' in the password still works.
    auto raw_at = parsed("http://user:p@ss@proxy.example:3128");
    CHECK(raw_at.password == "p@ss");
    CHECK(raw_at.host == "proxy.example");
    auto no_password = parsed("http://user@proxy.example:3128");
    CHECK(no_password.username == "user");
    CHECK(no_password.password.empty());
    CHECK(no_password.has_credentials());
}

TEST_CASE("proxy url: a scheme is required in hub_proxy, optional in the environment") {
    CHECK(error_of("proxy.example:3128").find("must start with http://") != std::string::npos);
    auto env = parsed("proxy.example:3128", /*scheme_optional=*/true);
    CHECK(env.host == "proxy.example");
    CHECK(env.port == "3128");
}

TEST_CASE("proxy url: https:// is a TLS proxy, its port defaulting to 443") {
    auto tls = parsed("HTTPS://Proxy.Example");
    CHECK(tls.tls);
    CHECK(tls.host == "proxy.example");
    CHECK(tls.port == "443");
    CHECK(describe(tls) == "https://proxy.example:443");
    auto with_port = parsed("https://alice:pw@[fd00::1]:8443/");
    CHECK(with_port.tls);
    CHECK(with_port.port == "8443");
    CHECK(describe(with_port) == "https://[fd00::1]:8443 (with credentials)");
    CHECK_FALSE(parsed("http://proxy.example").tls);
    // Without a scheme (the environment's form) a proxy is http://, never TLS.
    CHECK_FALSE(parsed("proxy.example:443", /*scheme_optional=*/true).tls);
}

TEST_CASE("proxy url: other schemes are refused with a reason") {
    for (const char* text : {"socks5://proxy.example:1080", "socks5h://proxy.example",
                             "ftp://proxy.example", "wss://proxy.example"}) {
        CHECK(error_of(text).find("must be http:// or https://") != std::string::npos);
    }
}

TEST_CASE("proxy url: the host and port rules are the hub URL's, with the same words") {
    CHECK(error_of("http://[::1") == "hub_proxy has an unterminated IPv6 literal");
    CHECK(error_of("http://[nope]:1") == "hub_proxy host [nope] is not an IPv6 address");
    CHECK(error_of("http://[::1]x") == "hub_proxy has junk after the IPv6 literal");
    CHECK(error_of("http://:3128") == "hub_proxy has no host");
    CHECK(error_of("http://bad..host") ==
          "hub_proxy host \"bad..host\" is not a valid host name (an IPv6 address needs "
          "brackets)");
    CHECK(error_of("http://p:") == "hub_proxy has an empty port");
    CHECK(error_of("http://p:0") == "hub_proxy port is not a number from 1 to 65535");
    CHECK(error_of("https://p:65536") == "hub_proxy port is not a number from 1 to 65535");
}

TEST_CASE("proxy url: malformed URLs are refused, naming the setting") {
    for (const char* text : {"http://",
                             "http://:3128",
                             "http://proxy.example:0",
                             "http://proxy.example:65536",
                             "http://proxy.example:31x8",
                             "http://proxy.example:",
                             "http://proxy.example/path",
                             "http://proxy.example:3128?x=1",
                             "http://proxy.example#frag",
                             "http://[fd00::1",
                             "http://[fd00::zz]:3128",
                             "http://[fd00::1]x",
                             "http://prox y.example",
                             "http://proxy.example\r\n:3128",
                             "http://pro%78y.example",
                             "http://@proxy.example",
                             "http://us%3Aer:pw@proxy.example",
                             "http://user:pw%0a@proxy.example",
                             "http://user:pw%4@proxy.example",
                             "http://fd00::1:3128"}) {
        auto error = error_of(text);
        CHECK(error.rfind("hub_proxy", 0) == 0);
        CHECK(error.find('\n') == std::string::npos);
    }
    CHECK(error_of("http://" + std::string(5000, 'a')).find("longer than") != std::string::npos);
    std::string long_password = "http://user:" + std::string(2000, 'p') + "@proxy.example";
    CHECK(error_of(long_password).find("longer than") != std::string::npos);
}

TEST_CASE("proxy url: no error repeats the password") {
    // The host forgotten: "user:secret" must not come back as a port in the message.
    for (const char* text :
         {"http://user:s3cret", "http://user:s3cret@", "http://user:s3cret@proxy.example:99999",
          "http://user:s3cret@proxy.example/x", "http://user:s3cret%zz@proxy.example",
          "https://user:s3cret@proxy.example:0", "socks5://user:s3cret@proxy.example"}) {
        CHECK(error_of(text).find("s3cret") == std::string::npos);
    }
}

TEST_CASE("proxy url: percent_decode") {
    auto decoded = percent_decode("a%20b%7e");
    REQUIRE(decoded);
    CHECK(*decoded == "a b~");
    CHECK_FALSE(percent_decode("%"));
    CHECK_FALSE(percent_decode("%2"));
    CHECK_FALSE(percent_decode("%g0"));
    CHECK_FALSE(percent_decode("%00"));
    CHECK_FALSE(percent_decode("%7f"));
}
