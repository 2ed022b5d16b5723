#include "agent/hub/proxy_choice.hpp"

#include <cstdlib>

#include "agent/hub/no_proxy.hpp"

namespace monsys::agent::hub {
namespace {

// A variable's value and its name; empty values count as unset (curl's rule).
struct Found {
    std::string name;
    std::string value;
};

std::optional<Found> first_set(const EnvironmentLookup& environment,
                               std::initializer_list<const char*> names) {
    for (const char* name : names) {
        if (auto value = environment(name); value && !value->empty()) {
            return Found{name, std::move(*value)};
        }
    }
    return std::nullopt;
}

}  // namespace

EnvironmentLookup process_environment() {
    return [](const std::string& name) -> std::optional<std::string> {
        if (const char* value = std::getenv(name.c_str())) return std::string(value);
        return std::nullopt;
    };
}

Expected<ProxyChoice, std::string> choose_proxy(const std::optional<std::string>& hub_proxy,
                                                const HubUrl& hub,
                                                const EnvironmentLookup& environment) {
    ProxyChoice choice;
    if (hub_proxy) {
        if (hub_proxy->empty()) {
            choice.reason = "hub_proxy is \"\" in the config; the environment is not consulted";
            return choice;
        }
        auto proxy = parse_proxy_url(*hub_proxy, "field 'hub_proxy'", /*scheme_optional=*/false);
        if (!proxy) return unexpected(std::move(proxy.error()));
        choice.proxy = std::move(*proxy);
        choice.reason = "hub_proxy in the config";
        return choice;
    }

    const auto variable = hub.tls ? first_set(environment, {"https_proxy", "HTTPS_PROXY"})
                                  : first_set(environment, {"http_proxy"});
    if (!variable) {
        choice.reason = hub.tls ? "no hub_proxy in the config, no https_proxy in the environment"
                                : "no hub_proxy in the config, no http_proxy in the environment";
        return choice;
    }
    if (auto no_proxy = first_set(environment, {"no_proxy", "NO_PROXY"});
        no_proxy && no_proxy_matches(no_proxy->value, hub.host)) {
        choice.reason = no_proxy->name + " from the environment matches the hub's host " +
                        (hub.host.find(':') != std::string::npos ? "[" + hub.host + "]" : hub.host);
        return choice;
    }
    auto proxy = parse_proxy_url(variable->value, "environment variable " + variable->name,
                                 /*scheme_optional=*/true);
    if (!proxy) return unexpected(std::move(proxy.error()));
    choice.proxy = std::move(*proxy);
    choice.reason = variable->name + " from the environment";
    return choice;
}

std::string describe(const ProxyChoice& choice) {
    if (!choice.proxy) return "no proxy (" + choice.reason + ")";
    return "proxy " + describe(*choice.proxy) + " (" + choice.reason + ")";
}

}  // namespace monsys::agent::hub
