#pragma once
// The HTTP CONNECT exchange with a proxy (RFC 9110 section 9.3.6), as bytes: the request the
// agent sends and the reading of the proxy's reply. No I/O here; hub_connection moves the bytes.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "agent/hub/hub_url.hpp"
#include "agent/hub/proxy_url.hpp"
#include "common/util/expected.hpp"

namespace monsys::agent::hub {

// The proxy's status line and headers may take this much; a longer reply is refused.
inline constexpr std::size_t max_proxy_reply_bytes = 16 * 1024;

// "CONNECT host:port HTTP/1.1", Host: the same, Proxy-Authorization: Basic when the proxy URL
// has credentials, User-Agent. IPv6 hosts are bracketed.
std::string connect_request(const HubUrl& hub, const ProxyUrl& proxy, std::string_view user_agent);

struct ProxyReply {
    int status = 0;
    std::string reason;            // the reason phrase, printable and capped
    std::size_t header_bytes = 0;  // through the blank line that ends the headers
};

// Reads the reply from the bytes received so far: nothing while the headers are incomplete,
// the status when they are; an error when the reply is not HTTP/1.x, or when max_proxy_reply_bytes
// have arrived without the end of the headers.
Expected<std::optional<ProxyReply>, std::string> read_proxy_reply(std::string_view received);

// What a failed CONNECT means, for the log line: "HTTP 407 Proxy Authentication Required: the
// proxy wants credentials, or refused those in hub_proxy / the environment", ...
std::string explain_proxy_status(const ProxyReply& reply);

}  // namespace monsys::agent::hub
