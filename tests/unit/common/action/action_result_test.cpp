// The one action result type: its serializer and the check of a result monsys-action printed.
#include <doctest/doctest.h>

#include "common/action/action_result.hpp"
#include "common/util/time_format.hpp"

using namespace monsys;
using namespace monsys::results;
using Json = nlohmann::json;

namespace {

ActionResult sample() {
    ActionResult result;
    result.jti = "jti-1";
    result.app_id = "app-9";
    result.type = app::AppType::systemd;
    result.identifier = "nginx.service";
    result.status = ActionStatus::succeeded;
    result.message = "nginx.service restarted";
    result.exit_code = 0;
    result.started_at = *parse_utc_millis("2026-11-28T09:16:40.101Z");
    result.finished_at = *parse_utc_millis("2026-11-28T09:16:40.342Z");
    result.wrapper_exit_code = 0;
    return result;
}

}  // namespace

TEST_CASE("action result: to_json writes every documented field") {
    const Json json = to_json(sample());
    CHECK(json.size() == 18);
    CHECK(json["duration_ms"] == 241);
    CHECK(json["started_at"] == "2026-11-28T09:16:40.101Z");
    CHECK(json["type"] == "systemd");
    CHECK(json["reason"].is_null());
    CHECK(json["wrapper_exit_code"] == 0);
}

TEST_CASE("action result: duration_ms prefers the measured one; null only when unknowable") {
    ActionResult result = sample();
    result.measured = std::chrono::milliseconds(150000);
    CHECK(to_json(result)["duration_ms"] == 150000);
    result.measured.reset();
    result.started_at.reset();
    CHECK(to_json(result)["started_at"].is_null());
    CHECK(to_json(result)["duration_ms"].is_null());
}

TEST_CASE("action result: what to_json writes passes the check; a changed field does not") {
    const Json good = to_json(sample());
    auto checked = check_result_json(good.dump());
    REQUIRE(checked);
    CHECK(*checked == good);

    Json extra = good;
    extra["signature"] = "later";  // a field this agent does not know is carried
    CHECK(check_result_json(extra.dump()));

    for (const auto& [field, bad] : std::vector<std::pair<std::string, Json>>{
             {"status", "ok"},
             {"status", 1},
             {"type", "vm"},
             {"duration_ms", "241"},
             {"stdout_truncated", "no"},
             {"before", Json::array()},
             {"app_id", nullptr},
         }) {
        Json changed = good;
        changed[field] = bad;
        INFO(field << " = " << bad.dump());
        CHECK_FALSE(check_result_json(changed.dump()));
    }
    Json missing = good;
    missing.erase("wrapper_exit_code");
    auto refused = check_result_json(missing.dump());
    REQUIRE_FALSE(refused);
    CHECK(refused.error() == "no wrapper_exit_code");
    CHECK_FALSE(check_result_json("[]"));
    CHECK_FALSE(check_result_json("{"));
}
