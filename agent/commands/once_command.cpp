#include "agent/commands/once_command.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <optional>

#include "agent/daemon/agent_setup.hpp"
#include "agent/hub/messages.hpp"
#include "agent/hub/sequence_counter.hpp"
#include "agent/inventory/collect.hpp"
#include "common/action/action_key.hpp"
#include "common/inventory/inventory_json.hpp"

namespace monsys::agent::commands {
namespace {

struct OnceOutcome {
    int status = once_no_ack;
    std::string line;
};

std::string inventory_summary(const inventory::Inventory& inv) {
    // "312 units", "1 unit"; a section that failed counts as "no units".
    auto count = [](std::optional<std::size_t> n, const char* one, const char* many) {
        if (!n) return std::string("no ") + many;
        return std::to_string(*n) + " " + (*n == 1 ? one : many);
    };
    auto size_of = [](const auto& section, auto member) -> std::optional<std::size_t> {
        if (!section || section->status.error) return std::nullopt;
        return ((*section).*member).size();
    };
    using namespace inventory;
    return count(size_of(inv.systemd, &SystemdSection::units), "unit", "units") + ", " +
           count(size_of(inv.docker, &DockerSection::containers), "container", "containers") +
           ", " +
           count(size_of(inv.docker, &DockerSection::compose_services), "compose service",
                 "compose services") +
           ", " +
           count(size_of(inv.processes, &ProcessesSection::processes), "process", "processes") +
           ", " + count(size_of(inv.packages, &PackagesSection::packages), "package", "packages") +
           ", " + count(size_of(inv.ports, &PortsSection::ports), "port", "ports");
}

// Reads frames until the ack for `seq`; the caller's deadline aborts the connection.
asio::awaitable<void> exchange(hub::HubConnection& connection, std::string hello,
                               std::string message, std::uint64_t seq, const bool& timed_out,
                               OnceOutcome& outcome) {
    if (auto failure = co_await connection.connect()) {
        if (timed_out) co_return;
        outcome.status = failure->kind == hub::ConnectFailure::token_refused ? once_token_refused
                                                                             : once_hub_unreachable;
        outcome.line = failure->message;
        co_return;
    }
    if (co_await connection.write(std::move(hello)) ||
        co_await connection.write(std::move(message))) {
        outcome = {once_hub_unreachable,
                   "the hub closed the connection while the inventory was sent"};
        co_return;
    }
    for (;;) {
        hub::Frame frame = co_await connection.read();
        if (frame.error) {
            if (!timed_out) {
                outcome = {once_no_ack, "the hub closed the connection before acking seq " +
                                            std::to_string(seq) + " (" + frame.error.message() +
                                            ")"};
            }
            co_return;
        }
        auto decoded = hub::decode_hub_message(frame.text);
        if (!decoded) continue;
        if (auto* ack = std::get_if<hub::Ack>(&*decoded); ack && ack->seq == seq) {
            outcome = {once_acked, ""};
            co_await connection.close();
            co_return;
        }
    }
}

// Run as root, --once may create the sequence file; it must stay the agent user's (the owner of
// its directory), or the daemon could no longer write it.
void keep_owner_of_directory(const std::filesystem::path& directory,
                             const std::filesystem::path& file) {
    struct stat dir_info {};
    struct stat file_info {};
    if (::geteuid() != 0 || ::stat(directory.c_str(), &dir_info) != 0 ||
        ::lstat(file.c_str(), &file_info) != 0 || !S_ISREG(file_info.st_mode)) {
        return;
    }
    if (file_info.st_uid != dir_info.st_uid || file_info.st_gid != dir_info.st_gid) {
        (void)::lchown(file.c_str(), dir_info.st_uid, dir_info.st_gid);
    }
}

}  // namespace

int run_once(const OnceOptions& options, std::ostream& out, std::ostream& err) {
    const std::string prefix = "monsys-agent --once: ";
    auto setup = daemon::prepare_agent(options.config_path);
    if (!setup) {
        err << prefix << setup.error() << "\n";
        return once_config_error;
    }
    auto connect = daemon::connect_options(*setup);
    if (!connect) {
        err << prefix << connect.error() << "\n";
        return once_config_error;
    }
    if (auto dirs = daemon::prepare_state_dirs(setup->paths); !dirs) {
        err << prefix << dirs.error() << "\n";
        return once_config_error;
    }
    auto counter = hub::SequenceCounter::open(setup->paths.seq_file);
    if (!counter) {
        err << prefix << counter.error() << "\n";
        return once_config_error;
    }
    keep_owner_of_directory(setup->paths.hub_dir, setup->paths.seq_file);

    inventory::CollectRequest request;
    request.settings = setup->inventory_settings;
    const auto started = std::chrono::steady_clock::now();
    auto collected = inventory::collect_inventory(request);
    const auto collect_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);

    auto seq = counter->allocate();
    if (!seq) {
        err << prefix << seq.error() << "\n";
        return once_config_error;
    }
    auto message = hub::make_inventory_message(inventory::to_json(collected.inventory),
                                               std::chrono::system_clock::now());
    message["seq"] = *seq;
    hub::HelloFields hello;
    hello.agent_id = setup->config.agent_id;
    hello.version = build_info::version;
    hello.hostname = setup->host.hostname;
    hello.boot_id = setup->host.boot_id;
    hello.tags = setup->config.tags;
    hello.last_acked_seq = counter->last_acked();
    // monsys-action's public key, as the daemon's hello carries it; without it, null.
    if (auto key = results::read_action_public_key(setup->config.state_dir)) {
        hello.action_key = std::move(*key);
    } else {
        err << prefix << "warning: hello carries no action key: " << key.error() << "\n";
    }

    asio::io_context io(1);
    auto connection = hub::make_hub_connection(io.get_executor(), setup->tls, std::move(*connect));
    bool timed_out = false;
    OnceOutcome outcome;
    asio::steady_timer deadline(io);
    deadline.expires_after(std::chrono::seconds(options.ack_timeout_secs));
    deadline.async_wait([&timed_out, open = connection.get()](beast::error_code ec) {
        if (ec) return;
        timed_out = true;
        open->abort();
    });
    asio::co_spawn(io,
                   exchange(*connection, hub::encode_hello(hello),
                            message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                            *seq, timed_out, outcome),
                   // Stops the loop at once: a failed handshake may leave Beast's own timer armed.
                   [&deadline, &io](std::exception_ptr) {
                       deadline.cancel();
                       io.stop();
                   });
    io.run();

    if (timed_out) {
        err << prefix << "no ack from the hub within " << options.ack_timeout_secs << " s\n";
        return once_no_ack;
    }
    if (outcome.status != once_acked) {
        err << prefix << outcome.line << "\n";
        return outcome.status;
    }
    if (auto recorded = counter->record_ack(*seq); !recorded) {
        err << prefix << "warning: " << recorded.error() << "\n";
    }
    // The daemon then does not send the same inventory again at its next connect.
    if (auto recorded = daemon::record_inventory_acked(*setup); !recorded) {
        err << prefix << "warning: " << recorded.error() << "\n";
    } else {
        keep_owner_of_directory(setup->paths.hub_dir, setup->paths.inventory_acked_file);
    }
    out << "sent inventory: " << inventory_summary(collected.inventory) << " ("
        << collect_ms.count() << " ms); hub acked seq " << *seq << "\n";
    return once_acked;
}

}  // namespace monsys::agent::commands
