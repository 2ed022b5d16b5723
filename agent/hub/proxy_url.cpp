#include "agent/hub/proxy_url.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>

#include "agent/hub/hub_url.hpp"
#include "common/util/ascii.hpp"

namespace monsys::agent::hub {
namespace {

constexpr std::size_t max_proxy_url_bytes = 4096;
constexpr std::size_t max_credential_bytes = 1024;

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = ascii_lower(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

std::string bracketed(const std::string& host) {
    return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

}  // namespace

Expected<std::string, std::string> percent_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '%') {
            int high = i + 2 < text.size() ? hex_value(text[i + 1]) : -1;
            int low = high >= 0 ? hex_value(text[i + 2]) : -1;
            if (high < 0 || low < 0) {
                return unexpected(std::string("a '%' not followed by two hex digits"));
            }
            c = static_cast<char>(high * 16 + low);
            i += 2;
        }
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) return unexpected(std::string("a control character"));
        out += c;
    }
    return out;
}

Expected<ProxyUrl, std::string> parse_proxy_url(std::string_view text, std::string_view origin,
                                                bool scheme_optional) {
    const std::string what(origin);
    if (text.size() > max_proxy_url_bytes) {
        return unexpected(what + " is longer than " + std::to_string(max_proxy_url_bytes) +
                          " bytes");
    }
    for (char c : text) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f) {
            return unexpected(what + " contains a space, a control character or a non-ASCII byte");
        }
    }

    std::string_view rest = text;
    const std::size_t scheme_end = text.find("://");
    if (scheme_end != std::string_view::npos) {
        const std::string scheme = ascii_lowercase(text.substr(0, scheme_end));
        if (scheme == "https") {
            return unexpected(what +
                              ": https:// proxies (TLS to the proxy) are not supported; use an "
                              "http:// proxy (the hub connection inside it is TLS all the same)");
        }
        if (scheme != "http") {
            return unexpected(what +
                              ": the scheme must be http:// (SOCKS and others are not "
                              "supported)");
        }
        rest = text.substr(scheme_end + 3);
    } else if (!scheme_optional) {
        return unexpected(what + " must start with http://");
    }

    const std::size_t authority_end = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, authority_end);
    if (authority_end != std::string_view::npos && rest.substr(authority_end) != "/") {
        return unexpected(what +
                          " must be http://[user:password@]host[:port] with no path, "
                          "query or fragment");
    }

    ProxyUrl proxy;
    const std::size_t at = authority.rfind('@');
    if (at != std::string_view::npos) {
        std::string_view userinfo = authority.substr(0, at);
        authority = authority.substr(at + 1);
        const std::size_t colon = userinfo.find(':');
        auto user = percent_decode(userinfo.substr(0, colon));
        if (!user) return unexpected(what + ": the user name has " + user.error());
        std::string password;
        if (colon != std::string_view::npos) {
            auto decoded = percent_decode(userinfo.substr(colon + 1));
            if (!decoded) return unexpected(what + ": the password has " + decoded.error());
            password = std::move(*decoded);
        }
        if (user->find(':') != std::string::npos) {
            // Basic auth joins them with ':' (RFC 7617): the user name cannot hold one.
            return unexpected(what + ": the user name must not contain ':' (%3A)");
        }
        if (user->empty()) return unexpected(what + ": the user name before '@' is empty");
        if (user->size() > max_credential_bytes || password.size() > max_credential_bytes) {
            return unexpected(what + ": the user name or password is longer than " +
                              std::to_string(max_credential_bytes) + " bytes");
        }
        proxy.username = std::move(*user);
        proxy.password = std::move(password);
    }

    std::string_view port_text;
    bool has_port = false;
    if (!authority.empty() && authority.front() == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) {
            return unexpected(what + " has an unterminated IPv6 literal");
        }
        std::string literal(authority.substr(1, close - 1));
        in6_addr address{};
        if (::inet_pton(AF_INET6, literal.c_str(), &address) != 1) {
            return unexpected(what + ": host [" + literal + "] is not an IPv6 address");
        }
        proxy.host = ascii_lowercase(literal);
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return unexpected(what + " has junk after the IPv6 literal");
            has_port = true;
            port_text = after.substr(1);
        }
    } else {
        const std::size_t colon = authority.find(':');
        if (colon != std::string_view::npos) {
            has_port = true;
            port_text = authority.substr(colon + 1);
        }
        std::string_view host = authority.substr(0, colon);
        if (host.empty()) return unexpected(what + " has no host");
        proxy.host = ascii_lowercase(host);
        if (!is_valid_host_name(proxy.host)) {
            return unexpected(what + ": host \"" + proxy.host +
                              "\" is not a valid host name (an IPv6 address needs brackets)");
        }
    }

    if (has_port) {
        unsigned value = 0;
        auto [end, ec] =
            std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
        if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
            port_text.size() > 5 || value == 0 || value > 65535) {
            // Not repeated: with the host forgotten, "user:password" would read as host:port.
            return unexpected(what + ": the port is not a number from 1 to 65535");
        }
        proxy.port = std::to_string(value);
    } else {
        proxy.port = "1080";
    }
    return proxy;
}

std::string describe(const ProxyUrl& proxy) {
    std::string out = "http://" + bracketed(proxy.host) + ":" + proxy.port;
    if (proxy.has_credentials()) out += " (with credentials)";
    return out;
}

}  // namespace monsys::agent::hub
