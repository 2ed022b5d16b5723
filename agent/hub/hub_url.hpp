#pragma once
// The hub's address from the configuration, checked before any connection is tried.
#include <string>
#include <string_view>

#include "agent/hub/url_authority.hpp"
#include "common/util/expected.hpp"

namespace monsys::agent::hub {

struct HubUrl {
    bool tls = true;     // wss:// (true) or ws:// (false)
    std::string host;    // without brackets for IPv6 literals; used for SNI and verification
    std::string port;    // "443" / "80" when the URL names none
    std::string target;  // path and query, "/" when empty
    bool host_is_loopback = false;  // 127.0.0.0/8, ::1 or "localhost"
};

// Parses ws[s]://host[:port][/path][?query]. Refuses user info, fragments, empty hosts, bad
// ports, control characters and spaces. A ws:// URL whose host is not loopback is refused unless
// allow_insecure_ws is set (the agent token would cross the network in the clear).
Expected<HubUrl, std::string> parse_hub_url(std::string_view text, bool allow_insecure_ws);

// "host:port" for the Host header: IPv6 literals get their brackets back, default ports are left
// out.
std::string host_header(const HubUrl& url);

}  // namespace monsys::agent::hub
