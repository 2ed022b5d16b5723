#pragma once
// The host section's `action_key`: monsys-action's public signing key, read from its state
// directory as the agent reads it for `hello` (action-key.json, checked), so a hub can hold the
// inventory against the key it pinned (docs/protocol.md, "inventory").
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/inventory/model.hpp"
#include "common/util/expected.hpp"

namespace monsys::inventory {

struct ActionKeyFact {
    std::optional<ActionKeyInfo> key;
    std::optional<std::string> error;  // why there is no key (names the file)
};

// A checked public document ({"kid", "jwk", "rotations"}) as the model holds it.
Expected<ActionKeyInfo, std::string> action_key_info_from(const nlohmann::json& document);

// Reads <state_dir>/action-key.json; an empty state_dir reads nothing (no key, no error).
ActionKeyFact read_action_key_fact(const std::filesystem::path& state_dir);

}  // namespace monsys::inventory
