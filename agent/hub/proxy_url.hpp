#pragma once
// An HTTP proxy's address, from hub_proxy or the environment (docs/configuration.md, "Proxy"):
// http[s]://[user:password@]host[:port][/], where https:// is a proxy the agent speaks TLS to.
// The credentials are percent-decoded and kept apart, so nothing that prints a ProxyUrl
// (describe) can show them.
#include <string>
#include <string_view>

#include "common/util/expected.hpp"

namespace monsys::agent::hub {

struct ProxyUrl {
    std::string host;      // lowercase; IPv6 literals without brackets
    std::string port;      // unnamed: "1080" for http://, "443" for https:// (curl's defaults)
    bool tls = false;      // https://: TLS to the proxy (its certificate verified), then CONNECT
    std::string username;  // percent-decoded; empty with password empty: no Proxy-Authorization
    std::string password;  // percent-decoded
    bool has_credentials() const { return !username.empty() || !password.empty(); }
};

// Where the URL came from, for the errors: "hub_proxy", "https_proxy", ...
// A URL without a scheme is an http:// proxy when scheme_optional is set (curl's rule for the
// environment's variables); hub_proxy must name its scheme. Other schemes (socks5://, ...) are
// refused. Errors never repeat the credentials.
Expected<ProxyUrl, std::string> parse_proxy_url(std::string_view text, std::string_view origin,
                                                bool scheme_optional);

// "http://host:port" or "https://host:port", plus " (with credentials)" when it has some: for
// logs and check-config.
std::string describe(const ProxyUrl& proxy);

// Percent-decodes userinfo; refuses a bad escape and decoded control characters.
Expected<std::string, std::string> percent_decode(std::string_view text);

}  // namespace monsys::agent::hub
