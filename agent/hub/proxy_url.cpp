#include "agent/hub/proxy_url.hpp"

#include "agent/hub/url_authority.hpp"
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

    ProxyUrl proxy;
    std::string_view rest = text;
    const std::size_t scheme_end = text.find("://");
    if (scheme_end != std::string_view::npos) {
        const std::string scheme = ascii_lowercase(text.substr(0, scheme_end));
        if (scheme != "http" && scheme != "https") {
            return unexpected(what +
                              ": the scheme must be http:// or https:// (SOCKS and others are "
                              "not supported)");
        }
        proxy.tls = scheme == "https";
        rest = text.substr(scheme_end + 3);
    } else if (!scheme_optional) {
        return unexpected(what + " must start with http:// or https://");
    }

    const std::size_t authority_end = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, authority_end);
    if (authority_end != std::string_view::npos && rest.substr(authority_end) != "/") {
        return unexpected(what +
                          " must be http[s]://[user:password@]host[:port] with no path, "
                          "query or fragment");
    }

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

    auto split = split_authority(authority, what);
    if (!split) return unexpected(std::move(split.error()));
    proxy.host = std::move(split->host);
    if (split->port) {
        auto port = parse_url_port(*split->port, what);
        if (!port) return unexpected(std::move(port.error()));
        proxy.port = std::move(*port);
    } else {
        proxy.port = proxy.tls ? "443" : "1080";  // curl's defaults
    }
    return proxy;
}

std::string describe(const ProxyUrl& proxy) {
    std::string out =
        std::string(proxy.tls ? "https://" : "http://") + bracketed(proxy.host) + ":" + proxy.port;
    if (proxy.has_credentials()) out += " (with credentials)";
    return out;
}

}  // namespace monsys::agent::hub
