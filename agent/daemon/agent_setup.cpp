#include "agent/daemon/agent_setup.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "agent/hub/agent_token.hpp"
#include "agent/inventory/host.hpp"
#include "common/build_info.hpp"
#include "common/util/durable_file.hpp"

namespace monsys::agent::daemon {

AgentPaths agent_paths(const config::Config& config) {
    AgentPaths paths;
    paths.hub_dir = config.hub_state_dir;
    paths.outbox_dir = paths.hub_dir / "outbox";
    paths.seq_file = paths.hub_dir / "seq";
    paths.tracked_apps_file = paths.hub_dir / "tracked-apps.json";
    paths.inflight_dir = paths.hub_dir / "inflight";
    paths.ledger_dir = paths.hub_dir / "ledger";
    paths.inventory_acked_file = paths.hub_dir / "inventory-acked-boot";
    return paths;
}

Expected<AgentSetup, std::string> prepare_agent(const std::optional<std::string>& config_path) {
    AgentSetup setup;
    setup.config_path = config_path ? *config_path : build_info::default_config_path;
    auto config = config::load_config(setup.config_path);
    if (!config) return unexpected("config " + config.error());
    setup.config = std::move(*config);
    const std::string where = "config " + setup.config_path.string() + ": ";
    if (auto fields = config::check_fields_for_actions(setup.config); !fields) {
        return unexpected(where + fields.error());
    }
    if (setup.config.hub_url.empty()) {
        return unexpected(where + "field 'hub_url' is required (wss://your-hub/...)");
    }
    auto url = hub::parse_hub_url(setup.config.hub_url, setup.config.hub_allow_insecure_ws);
    if (!url) return unexpected(where + "field 'hub_url': " + url.error());
    setup.url = std::move(*url);
    auto proxy = hub::choose_proxy(setup.config.hub_proxy, setup.url, hub::process_environment());
    if (!proxy) return unexpected(where + proxy.error());
    setup.proxy = std::move(*proxy);
    if (setup.proxy.proxy && setup.proxy.proxy->tls) {
        auto proxy_tls = hub::make_tls_context(setup.config.hub_proxy_ca_file, "hub_proxy_ca_file");
        if (!proxy_tls) return unexpected(where + proxy_tls.error());
        setup.proxy_tls = std::move(*proxy_tls);
    }
    if (setup.url.tls) {
        auto tls = hub::make_tls_context(setup.config.hub_ca_file);
        if (!tls) return unexpected(where + tls.error());
        setup.tls = std::move(*tls);
    }
    setup.paths = agent_paths(setup.config);
    setup.host = inventory::read_host("");
    setup.inventory_settings = inventory::inventory_settings_from(setup.config);
    return setup;
}

Expected<void, std::string> prepare_state_dirs(const AgentPaths& paths) {
    for (const auto& dir :
         {paths.hub_dir, paths.outbox_dir, paths.inflight_dir, paths.ledger_dir}) {
        if (auto made = ensure_directory(dir); !made) {
            return unexpected(made.error() + " (the agent's user must be able to write there)");
        }
    }
    return ok();
}

bool inventory_acked_this_boot(const AgentSetup& setup) {
    auto recorded = read_regular_file(setup.paths.inventory_acked_file, 256);
    return recorded && *recorded && **recorded == setup.host.boot_id;
}

Expected<void, std::string> record_inventory_acked(const AgentSetup& setup) {
    return write_file_atomically(setup.paths.inventory_acked_file, setup.host.boot_id);
}

Expected<hub::ConnectOptions, std::string> connect_options(const AgentSetup& setup) {
    auto token = hub::read_agent_token(setup.config.hub_token_file);
    if (!token) return unexpected(token.error());
    hub::ConnectOptions options;
    options.url = setup.url;
    options.proxy = setup.proxy.proxy;
    options.proxy_tls = setup.proxy_tls;
    options.token = std::move(*token);
    options.user_agent = std::string("monsys-agent/") + build_info::version;
    return options;
}

actions::ActionSettings action_settings_from(const config::Config& config) {
    actions::ActionSettings settings;
    settings.verifier.issuer = config.issuer;
    settings.verifier.agent_id = config.agent_id;
    settings.verifier.keys = config.hub_keys;
    settings.verifier.clock_skew_secs = config.clock_skew_secs;
    settings.verifier.max_lifetime_secs = config.max_token_lifetime_secs;
    settings.replay_store = config::replay_store_path(config);
    settings.action_command = config.action_command;
    settings.action_socket = config.action_socket;
    // monsys-action's own restart timeout, its inspection before and after, and sudo.
    settings.wrapper_timeout = std::chrono::seconds(config.restart_timeout_secs + 30);
    // A fixed environment; the session bus variables pass through for systemd_bus "user".
    settings.environment = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"};
    for (const char* name : {"DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"}) {
        if (const char* value = std::getenv(name)) {
            settings.environment.push_back(std::string(name) + "=" + value);
        }
    }
    return settings;
}

}  // namespace monsys::agent::daemon
