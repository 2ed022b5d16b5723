#pragma once
// The agent's bearer token for the hub: the first line of hub_token_file, a file only the
// agent's user may read (docs/security.md). A token file that group or others can read is
// refused: the token would already be in other hands.
#include <filesystem>
#include <string>

#include "common/util/expected.hpp"

namespace monsys::agent::hub {

inline constexpr std::size_t max_token_file_bytes = 4096;

// The error is one line naming the file and what to do.
Expected<std::string, std::string> read_agent_token(const std::filesystem::path& file);

}  // namespace monsys::agent::hub
