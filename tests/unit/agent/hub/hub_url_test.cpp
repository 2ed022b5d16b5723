#include <doctest/doctest.h>

#include <string>

#include "agent/hub/hub_url.hpp"
#include "agent/hub/url_authority.hpp"

using monsys::agent::hub::host_header;
using monsys::agent::hub::HubUrl;
using monsys::agent::hub::is_ip_literal;
using monsys::agent::hub::parse_hub_url;

namespace {

HubUrl parse_ok(std::string_view text, bool allow_insecure_ws = false) {
    auto url = parse_hub_url(text, allow_insecure_ws);
    if (!url) FAIL_CHECK("refused: " << url.error());
    REQUIRE(url);
    return *url;
}

std::string refusal(std::string_view text, bool allow_insecure_ws = false) {
    auto url = parse_hub_url(text, allow_insecure_ws);
    REQUIRE_FALSE(url);
    return url.error();
}

bool contains(const std::string& text, std::string_view part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("hub_url: wss defaults to port 443, ws to 80") {
    auto tls = parse_ok("wss://hub.example.net/agent");
    CHECK(tls.tls);
    CHECK(tls.host == "hub.example.net");
    CHECK(tls.port == "443");
    CHECK(tls.target == "/agent");
    CHECK_FALSE(tls.host_is_loopback);
    CHECK(host_header(tls) == "hub.example.net");

    auto plain = parse_ok("ws://localhost/agent");
    CHECK_FALSE(plain.tls);
    CHECK(plain.port == "80");
    CHECK(plain.host_is_loopback);
    CHECK(host_header(plain) == "localhost");
}

TEST_CASE("hub_url: explicit ports, and the Host header names only non-default ones") {
    auto url = parse_ok("wss://hub.example.net:8443/v1/agent");
    CHECK(url.port == "8443");
    CHECK(url.target == "/v1/agent");
    CHECK(host_header(url) == "hub.example.net:8443");

    CHECK(host_header(parse_ok("wss://hub.example.net:443/")) == "hub.example.net");
    CHECK(host_header(parse_ok("ws://127.0.0.1:80/")) == "127.0.0.1");
    // 80 is not the default of wss, nor 443 of ws.
    CHECK(host_header(parse_ok("wss://hub.example.net:80/")) == "hub.example.net:80");
    CHECK(host_header(parse_ok("ws://localhost:443/")) == "localhost:443");
    CHECK(parse_ok("wss://h:65535/").port == "65535");
    CHECK(parse_ok("wss://h:1/").port == "1");
}

TEST_CASE("hub_url: IPv6 literals lose their brackets, the Host header gets them back") {
    auto url = parse_ok("ws://[::1]:8080/agent");
    CHECK(url.host == "::1");
    CHECK(url.port == "8080");
    CHECK(url.host_is_loopback);
    CHECK(host_header(url) == "[::1]:8080");

    auto remote = parse_ok("wss://[2001:DB8::10]/agent");
    CHECK(remote.host == "2001:db8::10");
    CHECK(remote.port == "443");
    CHECK_FALSE(remote.host_is_loopback);
    CHECK(host_header(remote) == "[2001:db8::10]");

    CHECK(contains(refusal("wss://[::1/agent"), "unterminated"));
    CHECK(contains(refusal("wss://[not-an-address]/"), "not an IPv6 address"));
    CHECK(contains(refusal("wss://[]/"), "not an IPv6 address"));
    CHECK(contains(refusal("wss://[::1]x/"), "junk"));
    CHECK(contains(refusal("wss://[fe80::1%25eth0]/"), "not an IPv6 address"));
    // Without brackets an IPv6 address cannot be told from host:port.
    CHECK(contains(refusal("wss://::1/"), "no host"));
    CHECK(contains(refusal("wss://2001:db8::1/"), "port"));
}

TEST_CASE("url authority: an IP literal is an address, everything else a name") {
    // A certificate must then name the address as an IP entry; a name gets SNI and a DNS check.
    CHECK(is_ip_literal("127.0.0.1"));
    CHECK(is_ip_literal("::1"));
    CHECK(is_ip_literal("2001:db8::10"));
    CHECK(is_ip_literal(parse_ok("wss://[::1]:4443/agent").host));
    CHECK_FALSE(is_ip_literal("localhost"));
    CHECK_FALSE(is_ip_literal("proxy.example"));
    CHECK_FALSE(is_ip_literal("1.2.3"));  // a name to a resolver, not a dotted quad
    CHECK_FALSE(is_ip_literal("[::1]"));  // the host as split: without brackets
    CHECK_FALSE(is_ip_literal("10.0.0.300"));
}

TEST_CASE("hub_url: loopback hosts") {
    CHECK(parse_ok("ws://localhost/").host_is_loopback);
    CHECK(parse_ok("ws://LOCALHOST/").host_is_loopback);
    CHECK(parse_ok("ws://127.0.0.1/").host_is_loopback);
    CHECK(parse_ok("ws://127.255.3.4:9000/").host_is_loopback);
    CHECK(parse_ok("ws://[::1]/").host_is_loopback);
    CHECK(parse_ok("ws://[0:0:0:0:0:0:0:1]/").host_is_loopback);

    CHECK_FALSE(parse_ok("wss://128.0.0.1/").host_is_loopback);
    CHECK_FALSE(parse_ok("wss://localhost.example.net/").host_is_loopback);
    CHECK_FALSE(parse_ok("wss://127.0.0.1.example.net/").host_is_loopback);
    CHECK_FALSE(parse_ok("wss://[::2]/").host_is_loopback);
    CHECK_FALSE(parse_ok("wss://[::ffff:127.0.0.1]/").host_is_loopback);
    // Not a dotted quad, so a name, which a resolver could send anywhere.
    CHECK_FALSE(parse_ok("wss://127.1/").host_is_loopback);
}

TEST_CASE("hub_url: ws to a non-loopback host is refused unless allowed") {
    std::string why = refusal("ws://hub.example.net/agent");
    CHECK(contains(why, "hub_allow_insecure_ws"));
    CHECK(contains(why, "hub.example.net"));
    CHECK_FALSE(parse_hub_url("ws://10.0.0.5:8080/", false));
    CHECK_FALSE(parse_hub_url("ws://[2001:db8::1]/", false));
    CHECK_FALSE(parse_hub_url("ws://127.1/", false));

    auto allowed = parse_ok("ws://hub.example.net/agent", true);
    CHECK_FALSE(allowed.tls);
    CHECK_FALSE(allowed.host_is_loopback);
    CHECK(allowed.port == "80");
    // wss needs no permission, whatever the host.
    CHECK(parse_hub_url("wss://hub.example.net/", false));
}

TEST_CASE("hub_url: the scheme") {
    CHECK(parse_ok("WSS://hub.example.net/").tls);
    CHECK_FALSE(parse_ok("Ws://localhost/").tls);
    CHECK(contains(refusal("https://hub.example.net/"), "wss://"));
    CHECK(contains(refusal("hub.example.net/agent"), "wss://"));
    CHECK(contains(refusal("wss:/hub.example.net/"), "wss://"));
    CHECK(contains(refusal("wss:hub.example.net"), "wss://"));
}

TEST_CASE("hub_url: user info, fragments and empty hosts are refused") {
    CHECK(contains(refusal("wss://user:secret@hub.example.net/"), "user info"));
    CHECK(contains(refusal("wss://user@hub.example.net/"), "user info"));
    CHECK(contains(refusal("wss://@hub.example.net/"), "user info"));
    CHECK(contains(refusal("wss://hub.example.net/agent#frag"), "fragment"));
    CHECK(contains(refusal("wss://hub.example.net#"), "fragment"));
    CHECK(contains(refusal("wss:///agent"), "no host"));
    CHECK(contains(refusal("wss://"), "no host"));
    CHECK(contains(refusal("wss://:443/"), "no host"));
    CHECK(contains(refusal("wss://?q=1"), "no host"));
    CHECK(contains(refusal(""), "empty"));
}

TEST_CASE("hub_url: bad ports") {
    for (const char* text :
         {"wss://h:0/", "wss://h:99999/", "wss://h:65536/", "wss://h:http/", "wss://h:-1/",
          "wss://h:+443/", "wss://h:44 3/", "wss://h:443x/", "wss://h:18446744073709551617/",
          "wss://h:000443/", "wss://[::1]:0/", "wss://[::1]:/", "wss://h:/"}) {
        CAPTURE(text);
        CHECK_FALSE(parse_hub_url(text, false));
    }
    CHECK(contains(refusal("wss://h:0/"), "1 to 65535"));
    CHECK(contains(refusal("wss://h:/"), "empty port"));
    // Leading zeros within five digits still name a port.
    CHECK(parse_ok("wss://h:0443/").port == "443");
}

TEST_CASE("hub_url: spaces, control characters and non-ASCII bytes are refused") {
    for (std::string text :
         {std::string("wss://hub.example.net/a b"), std::string(" wss://hub.example.net/"),
          std::string("wss://hub.example.net/\n"), std::string("wss://hub.example.net/\r\nX: y"),
          std::string("wss://hub.example.net/\t"), std::string("wss://hub\x7f.net/"),
          std::string("wss://h\xc3\xa9.example/"), std::string("wss://hub.example.net/\0x", 24)}) {
        CAPTURE(text);
        CHECK(contains(refusal(text), "control character"));
    }
}

TEST_CASE("hub_url: host names") {
    CHECK(parse_ok("wss://Hub.Example.NET/").host == "hub.example.net");
    CHECK(parse_ok("wss://hub_1.example/").host == "hub_1.example");
    CHECK(contains(refusal("wss://hub..example/"), "not a valid host name"));
    CHECK(contains(refusal("wss://.hub/"), "not a valid host name"));
    CHECK(contains(refusal("wss://hub.example.net./"), "not a valid host name"));
    CHECK(contains(refusal("wss://hub%2eexample/"), "not a valid host name"));
    CHECK(contains(refusal("wss://hub!/"), "not a valid host name"));
    CHECK(contains(refusal("wss://" + std::string(254, 'a') + "/"), "not a valid host name"));
    CHECK_FALSE(parse_hub_url("wss://" + std::string(5000, 'a') + "/", false));
}

TEST_CASE("hub_url: the target: path and query kept, \"/\" when missing") {
    CHECK(parse_ok("wss://hub.example.net").target == "/");
    CHECK(parse_ok("wss://hub.example.net:8443").target == "/");
    CHECK(parse_ok("wss://hub.example.net/").target == "/");
    CHECK(parse_ok("wss://hub.example.net/agent?site=eu&x=%20").target == "/agent?site=eu&x=%20");
    CHECK(parse_ok("wss://hub.example.net?token=abc").target == "/?token=abc");
    CHECK(parse_ok("wss://hub.example.net:9/?q").target == "/?q");
    // '@' or ':' after the authority belong to the path.
    auto url = parse_ok("wss://hub.example.net/a@b:c");
    CHECK(url.host == "hub.example.net");
    CHECK(url.target == "/a@b:c");
}
