#pragma once
// Which proxy, if any, the agent uses to reach the hub, and why (docs/configuration.md,
// "Proxy"). hub_proxy in the config wins; "" there means no proxy. Unset, the environment
// decides with curl's rules: for a wss:// hub https_proxy, then HTTPS_PROXY; for a ws:// hub
// http_proxy (lowercase only, as curl); then no_proxy, then NO_PROXY, may exempt the hub's host.
// An empty variable counts as unset. no_proxy does not apply to hub_proxy: the config file is
// the one place that says what the agent does.
#include <functional>
#include <optional>
#include <string>

#include "agent/hub/hub_url.hpp"
#include "agent/hub/proxy_url.hpp"
#include "common/util/expected.hpp"

namespace monsys::agent::hub {

struct ProxyChoice {
    std::optional<ProxyUrl> proxy;  // none: straight to the hub
    // Why, in words, without credentials: "hub_proxy in the config", "https_proxy from the
    // environment", "no_proxy from the environment matches hub.example", ...
    std::string reason;
};

// The value of an environment variable; nothing when it is unset.
using EnvironmentLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvironmentLookup process_environment();

// Fails, naming the setting or variable, when the URL it holds is not a usable proxy URL.
Expected<ProxyChoice, std::string> choose_proxy(const std::optional<std::string>& hub_proxy,
                                                const HubUrl& hub,
                                                const EnvironmentLookup& environment);

// One line for check-config and the start-up log: "proxy http://p:3128 (https_proxy from the
// environment)" or "no proxy (no hub_proxy, no https_proxy in the environment)".
std::string describe(const ProxyChoice& choice);

}  // namespace monsys::agent::hub
