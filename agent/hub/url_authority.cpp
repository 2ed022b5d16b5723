#include "agent/hub/url_authority.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>

#include "common/util/ascii.hpp"

namespace monsys::agent::hub {
namespace {

constexpr std::size_t max_host_bytes = 253;

}  // namespace

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

Expected<UrlAuthority, std::string> split_authority(std::string_view authority,
                                                    std::string_view what_view) {
    const std::string what(what_view);
    UrlAuthority out;
    if (!authority.empty() && authority.front() == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) {
            return unexpected(what + " has an unterminated IPv6 literal");
        }
        std::string literal(authority.substr(1, close - 1));
        in6_addr address{};
        if (::inet_pton(AF_INET6, literal.c_str(), &address) != 1) {
            return unexpected(what + " host [" + literal + "] is not an IPv6 address");
        }
        out.host = ascii_lowercase(literal);
        out.ipv6_literal = true;
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return unexpected(what + " has junk after the IPv6 literal");
            out.port = after.substr(1);
        }
        return out;
    }
    const std::size_t colon = authority.find(':');
    std::string_view host = authority.substr(0, colon);
    if (colon != std::string_view::npos) out.port = authority.substr(colon + 1);
    if (host.empty()) return unexpected(what + " has no host");
    out.host = ascii_lowercase(host);
    if (!is_valid_host_name(out.host)) {
        return unexpected(what + " host \"" + out.host +
                          "\" is not a valid host name (an IPv6 address needs brackets)");
    }
    return out;
}

bool is_ip_literal(const std::string& host) {
    in_addr v4{};
    in6_addr v6{};
    return inet_pton(AF_INET, host.c_str(), &v4) == 1 ||
           inet_pton(AF_INET6, host.c_str(), &v6) == 1;
}

Expected<std::string, std::string> parse_url_port(std::string_view text, std::string_view what) {
    if (text.empty()) return unexpected(std::string(what) + " has an empty port");
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || text.size() > 5 || value == 0 ||
        value > 65535) {
        return unexpected(std::string(what) + " port is not a number from 1 to 65535");
    }
    return std::to_string(value);
}

}  // namespace monsys::agent::hub
