// Which proxy the agent uses: hub_proxy over the environment, curl's variables and no_proxy.
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "agent/hub/hub_url.hpp"
#include "agent/hub/proxy_choice.hpp"

using namespace monsys::agent::hub;

namespace {

EnvironmentLookup environment(std::map<std::string, std::string> variables) {
    return [variables](const std::string& name) -> std::optional<std::string> {
        auto found = variables.find(name);
        if (found == variables.end()) return std::nullopt;
        return found->second;
    };
}

HubUrl hub(const std::string& text = "wss://hub.example.com/agent") {
    auto url = parse_hub_url(text, false);
    REQUIRE(url);
    return *url;
}

ProxyChoice choose(const std::optional<std::string>& hub_proxy,
                   std::map<std::string, std::string> variables, const HubUrl& to = hub()) {
    auto choice = choose_proxy(hub_proxy, to, environment(std::move(variables)));
    REQUIRE(choice);
    return *choice;
}

}  // namespace

TEST_CASE("proxy choice: nothing configured, nothing in the environment: no proxy") {
    auto choice = choose(std::nullopt, {});
    CHECK_FALSE(choice.proxy);
    CHECK(describe(choice) ==
          "no proxy (no hub_proxy in the config, no https_proxy in the environment)");
}

TEST_CASE("proxy choice: hub_proxy wins over the environment and ignores no_proxy") {
    auto choice = choose("http://u:pw@cfg.proxy:3128",
                         {{"https_proxy", "http://env.proxy:8080"}, {"no_proxy", "*"}});
    REQUIRE(choice.proxy);
    CHECK(choice.proxy->host == "cfg.proxy");
    CHECK(describe(choice) ==
          "proxy http://cfg.proxy:3128 (with credentials) (hub_proxy in the config)");
    CHECK(describe(choice).find("pw") == std::string::npos);
}

TEST_CASE("proxy choice: hub_proxy \"\" means no proxy whatever the environment says") {
    auto choice = choose("", {{"https_proxy", "http://env.proxy:8080"}});
    CHECK_FALSE(choice.proxy);
    CHECK(describe(choice).find("hub_proxy is \"\"") != std::string::npos);
}

TEST_CASE("proxy choice: https_proxy before HTTPS_PROXY; empty counts as unset") {
    auto lower = choose(std::nullopt,
                        {{"https_proxy", "http://lower:1"}, {"HTTPS_PROXY", "http://upper:2"}});
    REQUIRE(lower.proxy);
    CHECK(lower.proxy->host == "lower");
    CHECK(lower.reason == "https_proxy from the environment");

    auto upper = choose(std::nullopt, {{"https_proxy", ""}, {"HTTPS_PROXY", "upper:2"}});
    REQUIRE(upper.proxy);
    CHECK(upper.proxy->host == "upper");  // no scheme: http://, as curl
    CHECK(upper.proxy->port == "2");
    CHECK(upper.reason == "HTTPS_PROXY from the environment");
}

TEST_CASE("proxy choice: a ws:// hub uses http_proxy (lowercase only), not https_proxy") {
    const HubUrl ws = hub("ws://127.0.0.1:8080/agent");
    CHECK_FALSE(choose(std::nullopt, {{"https_proxy", "http://p:1"}}, ws).proxy);
    CHECK_FALSE(choose(std::nullopt, {{"HTTP_PROXY", "http://p:1"}}, ws).proxy);
    auto choice = choose(std::nullopt, {{"http_proxy", "http://p:1"}}, ws);
    REQUIRE(choice.proxy);
    CHECK(choice.reason == "http_proxy from the environment");
}

TEST_CASE("proxy choice: no_proxy (then NO_PROXY) exempts the hub's host") {
    auto bypass = choose(std::nullopt,
                         {{"https_proxy", "http://p:1"}, {"no_proxy", "localhost,.example.com"}});
    CHECK_FALSE(bypass.proxy);
    CHECK(bypass.reason == "no_proxy from the environment matches the hub's host hub.example.com");

    auto upper = choose(std::nullopt, {{"https_proxy", "http://p:1"}, {"NO_PROXY", "example.com"}});
    CHECK_FALSE(upper.proxy);
    CHECK(upper.reason.rfind("NO_PROXY", 0) == 0);

    // no_proxy, when set, hides NO_PROXY (curl reads one of them).
    auto hidden = choose(
        std::nullopt,
        {{"https_proxy", "http://p:1"}, {"no_proxy", "other.net"}, {"NO_PROXY", "example.com"}});
    CHECK(hidden.proxy);

    auto v6 = choose(std::nullopt, {{"https_proxy", "http://p:1"}, {"no_proxy", "::1"}},
                     hub("wss://[::1]:8443/agent"));
    CHECK_FALSE(v6.proxy);
    CHECK(v6.reason.find("[::1]") != std::string::npos);
}

TEST_CASE("proxy choice: a bad proxy URL is an error naming where it came from") {
    auto config = choose_proxy(std::string("http://proxy:notaport"), hub(), environment({}));
    REQUIRE_FALSE(config);
    CHECK(config.error().rfind("field 'hub_proxy'", 0) == 0);

    auto env = choose_proxy(std::nullopt, hub(), environment({{"HTTPS_PROXY", "socks5://p:1"}}));
    REQUIRE_FALSE(env);
    CHECK(env.error().rfind("environment variable HTTPS_PROXY", 0) == 0);
    CHECK(env.error().find("not supported") != std::string::npos);
}

TEST_CASE("proxy choice: an https:// proxy from the environment is a TLS proxy") {
    auto env = choose_proxy(std::nullopt, hub(), environment({{"https_proxy", "https://p"}}));
    REQUIRE(env);
    REQUIRE(env->proxy);
    CHECK(env->proxy->tls);
    CHECK(env->proxy->port == "443");
    CHECK(describe(*env) == "proxy https://p:443 (https_proxy from the environment)");
}
