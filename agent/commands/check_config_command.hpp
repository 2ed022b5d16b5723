#pragma once
// `monsys-agent check-config`: everything the daemon needs before it can work, checked without
// connecting: the configuration file, the hub URL, the CA file, the agent token file, the state
// directory and the action command. Prints one line per problem, or one "ok" line.
#include <optional>
#include <ostream>
#include <string>

namespace monsys::agent::commands {

struct CheckConfigOptions {
    std::optional<std::string> config_path;
};

// 0 when the daemon can start, 1 otherwise.
int run_check_config(const CheckConfigOptions& options, std::ostream& out, std::ostream& err);

}  // namespace monsys::agent::commands
