#include "agent/inventory/action_key_fact.hpp"

#include "common/action/action_key.hpp"

namespace monsys::inventory {

Expected<ActionKeyInfo, std::string> action_key_info_from(const nlohmann::json& document) {
    // check_public_key_document has the form's rules; this only takes the values over.
    if (auto ok = results::check_public_key_document(document); !ok) {
        return unexpected(std::move(ok.error()));
    }
    ActionKeyInfo info;
    info.kid = document.at("kid").get<std::string>();
    info.x = document.at("jwk").at("x").get<std::string>();
    for (const auto& statement : document.at("rotations")) {
        info.rotations.push_back(statement.get<std::string>());
    }
    return info;
}

ActionKeyFact read_action_key_fact(const std::filesystem::path& state_dir) {
    ActionKeyFact fact;
    if (state_dir.empty()) return fact;
    auto document = results::read_action_public_key(state_dir);
    if (!document) {
        fact.error = std::move(document.error());
        return fact;
    }
    auto info = action_key_info_from(*document);
    if (!info) {
        fact.error = std::move(info.error());
        return fact;
    }
    fact.key = std::move(*info);
    return fact;
}

}  // namespace monsys::inventory
