// Hub frame decoding (agent/hub/messages): every message type the hub sends, as one text frame.
// Properties: an error is one line; a decoded app list is within its cap, holds only valid ids
// and identifiers, no id twice, and each app survives the stored form (to_json, then
// tracked_app_from_json) unchanged; an ack's seq is positive.
#include <set>
#include <string>

#include "agent/hub/messages.hpp"
#include "common/app/identifier.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace monsys;
using agent::hub::TrackedApp;

bool same_app(const TrackedApp& a, const TrackedApp& b) {
    return a.id == b.id && a.name == b.name && a.type == b.type && a.identifier == b.identifier &&
           a.expected_state == b.expected_state && a.restart_command == b.restart_command;
}

void check_apps(const std::vector<TrackedApp>& apps) {
    FUZZ_CHECK(apps.size() <= agent::hub::max_tracked_apps);
    std::set<std::string> ids;
    for (const auto& tracked : apps) {
        FUZZ_CHECK(app::is_valid_app_id(tracked.id));
        FUZZ_CHECK(app::check_identifier(tracked.type, tracked.identifier).has_value());
        FUZZ_CHECK(ids.insert(tracked.id).second);
        auto again = agent::hub::tracked_app_from_json(agent::hub::to_json(tracked));
        FUZZ_CHECK(again.has_value() && same_app(*again, tracked));
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto message = agent::hub::decode_hub_message(fuzz::as_text(data, size));
    if (!message) {
        FUZZ_CHECK(!message.error().empty() && message.error().find('\n') == std::string::npos);
        return 0;
    }
    if (auto* welcome = std::get_if<agent::hub::Welcome>(&*message)) check_apps(welcome->apps);
    if (auto* update = std::get_if<agent::hub::AppsUpdate>(&*message)) check_apps(update->apps);
    if (auto* ack = std::get_if<agent::hub::Ack>(&*message)) FUZZ_CHECK(ack->seq > 0);
    return 0;
}
