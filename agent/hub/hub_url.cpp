#include "agent/hub/hub_url.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

#include "common/util/ascii.hpp"

namespace monsys::agent::hub {
namespace {

constexpr std::size_t max_url_bytes = 4096;
constexpr std::size_t max_host_bytes = 253;

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

Expected<std::string, std::string> parse_port(std::string_view text) {
    if (text.empty()) return unexpected(std::string("hub_url has an empty port"));
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || text.size() > 5 || value == 0 ||
        value > 65535) {
        return unexpected("hub_url port \"" + std::string(text) +
                          "\" is not a number from 1 to 65535");
    }
    return std::to_string(value);
}

}  // namespace

// Percent-encoding and the other characters RFC 3986 allows in a reg-name are refused: no
// resolver or certificate would match them.
bool is_valid_host_name(std::string_view host) {
    if (host.empty() || host.size() > max_host_bytes) return false;
    std::size_t label_length = 0;
    for (char c : host) {
        if (c == '.') {
            if (label_length == 0) return false;
            label_length = 0;
            continue;
        }
        bool allowed = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!allowed) return false;
        ++label_length;
    }
    return label_length > 0;
}

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

    std::string_view port_text;
    bool has_port = false;
    bool bracketed = false;
    if (!authority.empty() && authority.front() == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) {
            return unexpected(std::string("hub_url has an unterminated IPv6 literal"));
        }
        std::string literal(authority.substr(1, close - 1));
        in6_addr address{};
        if (::inet_pton(AF_INET6, literal.c_str(), &address) != 1) {
            return unexpected("hub_url host [" + literal + "] is not an IPv6 address");
        }
        url.host = ascii_lowercase(literal);
        bracketed = true;
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') {
                return unexpected(std::string("hub_url has junk after the IPv6 literal"));
            }
            has_port = true;
            port_text = after.substr(1);
        }
    } else {
        const std::size_t colon = authority.find(':');
        std::string_view host = authority.substr(0, colon);
        if (colon != std::string_view::npos) {
            has_port = true;
            port_text = authority.substr(colon + 1);
        }
        if (host.empty()) return unexpected(std::string("hub_url has no host"));
        url.host = ascii_lowercase(host);
        if (!is_valid_host_name(url.host)) {
            return unexpected("hub_url host \"" + std::string(host) +
                              "\" is not a valid host name (an IPv6 address needs brackets)");
        }
    }

    if (has_port) {
        auto port = parse_port(port_text);
        if (!port) return unexpected(std::move(port.error()));
        url.port = std::move(*port);
    } else {
        url.port = std::string(default_port(url.tls));
    }

    url.target = target.empty() ? "/" : std::string(target);
    if (url.target.front() == '?') url.target.insert(0, "/");

    url.host_is_loopback = is_loopback(url.host, bracketed);
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
