// The HTTP proxy's parts that read outside text (agent/hub/proxy_tunnel, proxy_url, no_proxy):
// the proxy's reply to CONNECT, a proxy URL from hub_proxy or the environment, and no_proxy.
// The first byte picks the parser.
// Properties:
//  - reply: a complete reply is complete already at its header_bytes and not one byte earlier,
//    within the cap, with a one-line reason and explanation; an error is one line;
//  - URL: an accepted URL's CONNECT request is exactly one request (no header injected through
//    the credentials), names the hub, and describe() never shows the password and names the
//    scheme (https:// for a TLS proxy); errors are one line;
//  - no_proxy: "*" matches every host, and no input crashes the matcher.
#include <string>

#include "agent/hub/hub_url.hpp"
#include "agent/hub/no_proxy.hpp"
#include "agent/hub/proxy_tunnel.hpp"
#include "agent/hub/proxy_url.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace monsys;
using namespace monsys::agent::hub;

bool one_line(const std::string& text) {
    return text.find('\n') == std::string::npos && text.find('\r') == std::string::npos;
}

void fuzz_reply(std::string_view received) {
    auto read = read_proxy_reply(received);
    if (!read) {
        FUZZ_CHECK(!read.error().empty() && one_line(read.error()));
        return;
    }
    if (!read->has_value()) return;  // incomplete so far
    const ProxyReply& reply = **read;
    FUZZ_CHECK(reply.status >= 0 && reply.status <= 999);
    FUZZ_CHECK(reply.header_bytes > 0 && reply.header_bytes <= received.size() &&
               reply.header_bytes <= max_proxy_reply_bytes);
    FUZZ_CHECK(one_line(reply.reason) && one_line(explain_proxy_status(reply)));

    auto exact = read_proxy_reply(received.substr(0, reply.header_bytes));
    FUZZ_CHECK(exact && exact->has_value() && (*exact)->status == reply.status &&
               (*exact)->header_bytes == reply.header_bytes);
    auto short_by_one = read_proxy_reply(received.substr(0, reply.header_bytes - 1));
    FUZZ_CHECK(short_by_one && !short_by_one->has_value());
}

void fuzz_url(std::string_view text, bool scheme_optional) {
    auto proxy = parse_proxy_url(text, "hub_proxy", scheme_optional);
    if (!proxy) {
        FUZZ_CHECK(!proxy.error().empty() && one_line(proxy.error()));
        return;
    }
    FUZZ_CHECK(!proxy->host.empty() && !proxy->port.empty());
    FUZZ_CHECK(describe(*proxy).starts_with(proxy->tls ? "https://" : "http://"));
    if (!proxy->password.empty()) {
        FUZZ_CHECK(describe(*proxy).find(":" + proxy->password + "@") == std::string::npos);
    }

    static const HubUrl hub = *parse_hub_url("wss://hub.example.com:8443/agent", false);
    const std::string request = connect_request(hub, *proxy, "monsys-agent/fuzz");
    FUZZ_CHECK(request.starts_with("CONNECT hub.example.com:8443 HTTP/1.1\r\n"));
    FUZZ_CHECK(request.ends_with("\r\n\r\n") && request.find("\r\n\r\n") == request.size() - 4);
    for (std::size_t i = 0; i < request.size(); ++i) {
        if (request[i] == '\n') FUZZ_CHECK(i > 0 && request[i - 1] == '\r');
        if (request[i] == '\r') FUZZ_CHECK(i + 1 < request.size() && request[i + 1] == '\n');
    }
    FUZZ_CHECK((request.find("\r\nProxy-Authorization: Basic ") != std::string::npos) ==
               proxy->has_credentials());
}

void fuzz_no_proxy(std::string_view rest) {
    // "no_proxy value" NUL "host"
    const std::size_t nul = rest.find('\0');
    const std::string_view list = rest.substr(0, nul);
    const std::string_view host = nul == std::string_view::npos ? "" : rest.substr(nul + 1);
    (void)no_proxy_matches(list, host);
    FUZZ_CHECK(no_proxy_matches("*", host));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto [mode, rest] = fuzz::mode_and_rest(data, size);
    switch (mode % 4) {
        case 0: fuzz_reply(rest); break;
        case 1: fuzz_url(rest, false); break;
        case 2: fuzz_url(rest, true); break;
        default: fuzz_no_proxy(rest); break;
    }
    return 0;
}
