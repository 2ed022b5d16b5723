#include "agent/hub/hub_url.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "common/util/ascii.hpp"

namespace monsys::agent::hub {
namespace {

constexpr std::size_t max_url_bytes = 4096;

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
    if (text.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        if (ascii_lower(text[i]) != prefix[i]) return false;
    }
    return true;
}

bool is_loopback(std::string_view host, bool bracketed) {
    std::string text(host);
    if (bracketed) {
        in6_addr address{};
        return ::inet_pton(AF_INET6, text.c_str(), &address) == 1 &&
               std::memcmp(&address, &in6addr_loopback, sizeof address) == 0;
    }
    if (host == "localhost") return true;
    in_addr address{};
    if (::inet_pton(AF_INET, text.c_str(), &address) != 1) return false;
    return (ntohl(address.s_addr) >> 24) == 127;
}

std::string_view default_port(bool tls) {
    return tls ? "443" : "80";
}

}  // namespace

Expected<HubUrl, std::string> parse_hub_url(std::string_view text, bool allow_insecure_ws) {
    if (text.empty()) return unexpected(std::string("hub_url is empty"));
    if (text.size() > max_url_bytes) {
        return unexpected("hub_url is longer than " + std::to_string(max_url_bytes) + " bytes");
    }
    for (char c : text) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f) {
            return unexpected(
                std::string("hub_url contains a space, a control character or a non-ASCII byte"));
        }
    }

    HubUrl url;
    std::string_view rest;
    if (starts_with_ignoring_case(text, "wss://")) {
        url.tls = true;
        rest = text.substr(6);
    } else if (starts_with_ignoring_case(text, "ws://")) {
        url.tls = false;
        rest = text.substr(5);
    } else {
        return unexpected(std::string("hub_url must start with wss:// or ws://"));
    }
    // RFC 6455 forbids fragments in WebSocket URIs.
    if (rest.find('#') != std::string_view::npos) {
        return unexpected(std::string("hub_url must not have a fragment (#...)"));
    }

    const std::size_t authority_end = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, authority_end);
    std::string_view target =
        authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
    if (authority.find('@') != std::string_view::npos) {
        // Credentials in the URL would end up in logs; the agent token travels in a header.
        return unexpected(std::string("hub_url must not contain user info (user@host)"));
    }

    auto split = split_authority(authority, "hub_url");
    if (!split) return unexpected(std::move(split.error()));
    url.host = std::move(split->host);
    if (split->port) {
        auto port = parse_url_port(*split->port, "hub_url");
        if (!port) return unexpected(std::move(port.error()));
        url.port = std::move(*port);
    } else {
        url.port = std::string(default_port(url.tls));
    }

    url.target = target.empty() ? "/" : std::string(target);
    if (url.target.front() == '?') url.target.insert(0, "/");

    url.host_is_loopback = is_loopback(url.host, split->ipv6_literal);
    if (!url.tls && !url.host_is_loopback && !allow_insecure_ws) {
        return unexpected("hub_url ws://" + url.host +
                          " is not a loopback address: the agent token would cross the network "
                          "in the clear (use wss://, or set hub_allow_insecure_ws)");
    }
    return url;
}

std::string host_header(const HubUrl& url) {
    std::string out = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
    if (url.port != default_port(url.tls)) {
        out += ':';
        out += url.port;
    }
    return out;
}

}  // namespace monsys::agent::hub
