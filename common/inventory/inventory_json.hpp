#pragma once
// The inventory document (docs/inventory.md): the model as JSON, schema version 1.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "common/inventory/model.hpp"

namespace monsys::inventory {

// RFC 3339 UTC with seconds, e.g. 2026-11-27T23:20:59Z.
std::string format_utc(std::int64_t unix_secs);

nlohmann::json to_json(const Inventory& inventory);

}  // namespace monsys::inventory
