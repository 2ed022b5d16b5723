#pragma once
// The host[:port] part of the hub's URL and of a proxy's URL, split and checked by one set of
// rules so that both refuse the same things with the same words.
#include <optional>
#include <string>
#include <string_view>

#include "common/util/expected.hpp"

namespace monsys::agent::hub {

struct UrlAuthority {
    std::string host;           // lowercase; an IPv6 literal without its brackets
    bool ipv6_literal = false;  // it was written in brackets
    // The port as written after the ':', checked by parse_url_port; none when there is no ':'.
    std::optional<std::string_view> port;
};

// `what` names the setting at the start of every error: "hub_url has no host". A host is a DNS
// name or an IPv4 address (is_valid_host_name) or a bracketed IPv6 literal; an IPv6 address
// without brackets is refused, since it cannot be told from host:port.
Expected<UrlAuthority, std::string> split_authority(std::string_view authority,
                                                    std::string_view what);

// "0443" -> "443". Refuses an empty port and anything but a number from 1 to 65535; the error
// does not repeat the text (in a proxy URL with the host forgotten it could be a password).
Expected<std::string, std::string> parse_url_port(std::string_view text, std::string_view what);

// Letters, digits, '-' and '_' in dot-separated, non-empty labels (lowercase): a DNS name or an
// IPv4 address. Percent-encoding and the other characters RFC 3986 allows in a reg-name are
// refused: no resolver or certificate would match them.
bool is_valid_host_name(std::string_view host);

// An IPv4 address or an IPv6 address (without brackets), as split_authority gives the host: a
// certificate must then carry it as an IP entry, and TLS sends no SNI for it.
bool is_ip_literal(const std::string& host);

}  // namespace monsys::agent::hub
