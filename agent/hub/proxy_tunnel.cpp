#include "agent/hub/proxy_tunnel.hpp"

#include "common/encoding/base64.hpp"
#include "common/util/printable.hpp"

namespace monsys::agent::hub {
namespace {

constexpr std::size_t max_reason_bytes = 80;

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

}  // namespace

std::string connect_request(const HubUrl& hub, const ProxyUrl& proxy, std::string_view user_agent) {
    const std::string authority =
        (hub.host.find(':') != std::string::npos ? "[" + hub.host + "]" : hub.host) + ":" +
        hub.port;
    std::string request = "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n";
    if (proxy.has_credentials()) {
        request += "Proxy-Authorization: Basic " +
                   encoding::encode(proxy.username + ":" + proxy.password,
                                    encoding::Alphabet::standard, /*pad=*/true) +
                   "\r\n";
    }
    if (!user_agent.empty()) request += "User-Agent: " + std::string(user_agent) + "\r\n";
    request += "\r\n";
    return request;
}

Expected<std::optional<ProxyReply>, std::string> read_proxy_reply(std::string_view received) {
    const std::string_view window = received.substr(0, max_proxy_reply_bytes);
    std::size_t end = window.find("\r\n\r\n");
    std::size_t terminator = 4;
    if (const std::size_t bare = window.find("\n\n");
        bare != std::string_view::npos && (end == std::string_view::npos || bare < end)) {
        end = bare;  // a proxy that ends lines with a bare LF
        terminator = 2;
    }

    // The status line can be judged as soon as it is complete: an answer that is not HTTP
    // fails at once instead of after the whole cap or the timeout.
    const std::size_t line_end = window.find('\n');
    std::string_view line = window.substr(0, line_end);
    if (line_end == std::string_view::npos && window.size() < 12) {
        if (std::string_view("HTTP/1.").substr(0, window.size()) != window.substr(0, 7)) {
            return unexpected(std::string("the proxy's answer is not HTTP"));
        }
        return std::optional<ProxyReply>();
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    // "HTTP/1.x SSS[ reason]"
    if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || !is_digit(line[7]) ||
        line[8] != ' ' || !is_digit(line[9]) || !is_digit(line[10]) || !is_digit(line[11]) ||
        (line.size() > 12 && line[12] != ' ')) {
        return unexpected("the proxy's answer is not HTTP/1.x: \"" +
                          printable_name(line, max_reason_bytes) + "\"");
    }
    if (end == std::string_view::npos) {
        if (received.size() >= max_proxy_reply_bytes) {
            return unexpected("the proxy's reply headers are longer than " +
                              std::to_string(max_proxy_reply_bytes) + " bytes");
        }
        return std::optional<ProxyReply>();
    }

    ProxyReply reply;
    reply.status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    if (line.size() > 13) reply.reason = printable_name(line.substr(13), max_reason_bytes);
    reply.header_bytes = end + terminator;
    return std::optional<ProxyReply>(std::move(reply));
}

std::string explain_proxy_status(const ProxyReply& reply) {
    std::string out = "HTTP " + std::to_string(reply.status);
    if (!reply.reason.empty()) out += " " + reply.reason;
    switch (reply.status) {
        case 401:  // what some proxies (tinyproxy) answer instead of 407
        case 407:
            return out + ": the proxy wants credentials, or refused the ones given";
        case 403:
            return out + ": the proxy does not allow this destination or port";
        case 502:
        case 503:
        case 504:
            return out + ": the proxy could not reach the hub";
        default:
            return out;
    }
}

}  // namespace monsys::agent::hub
