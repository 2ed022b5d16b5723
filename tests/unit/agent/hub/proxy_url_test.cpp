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

TEST_CASE("proxy url: https:// and other schemes are refused with a reason") {
    CHECK(error_of("https://proxy.example:443").find("not supported") != std::string::npos);
    CHECK(error_of("socks5://proxy.example:1080").find("must be http://") != std::string::npos);
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
          "https://user:s3cret@proxy.example"}) {
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
