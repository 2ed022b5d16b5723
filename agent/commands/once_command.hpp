#pragma once
// `monsys-agent --once`: collect the extended inventory, send it to the hub, wait for the ack,
// print one line. The manual trigger for an operator whose hub shows nothing discovered yet.
#include <optional>
#include <ostream>
#include <string>

namespace monsys::agent::commands {

struct OnceOptions {
    std::optional<std::string> config_path;
    int ack_timeout_secs = 30;
};

// Exit statuses (docs/protocol.md).
inline constexpr int once_acked = 0;
inline constexpr int once_config_error = 1;
inline constexpr int once_hub_unreachable = 2;
inline constexpr int once_token_refused = 3;
inline constexpr int once_no_ack = 4;

int run_once(const OnceOptions& options, std::ostream& out, std::ostream& err);

}  // namespace monsys::agent::commands
