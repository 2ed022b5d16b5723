#pragma once
// curl's no_proxy rules (docs/configuration.md, "Proxy"): whether a host bypasses the proxy.
#include <string_view>

namespace monsys::agent::hub {

// no_proxy is a list separated by commas or white space. "*" matches every host. A name entry
// (a leading dot is ignored) matches the host itself and every name below it on a label
// boundary: "example.com" matches "example.com" and "hub.example.com", not "badexample.com".
// An IP entry matches that address, or a range with "/bits" (10.0.0.0/8, fd00::/8); IPv6
// entries may be bracketed. A ":port" on an entry is ignored. Matching is case-insensitive.
// host is the hub's host as in HubUrl: lowercase, IPv6 literals without brackets.
bool no_proxy_matches(std::string_view no_proxy, std::string_view host);

}  // namespace monsys::agent::hub
