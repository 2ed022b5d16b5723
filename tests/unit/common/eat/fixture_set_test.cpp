// The fixture set as a whole: every token gets the answer make_eat_fixtures.py recorded for it,
// and every verifier refusal is exercised by at least one PyJWT-minted token.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "common/eat/refusal.hpp"
#include "tests/unit/common/eat/eat_fixtures.hpp"

TEST_CASE("eat fixtures: every token gets its recorded answer") {
    const auto& tokens = eat_test::document().at("tokens");
    CHECK(tokens.size() >= 100);
    for (const auto& [name, entry] : tokens.items()) {
        INFO(name << ": " << entry.at("about").get<std::string>());
        CHECK(eat_test::outcome(name) == entry.at("expect").get<std::string>());
    }
}

TEST_CASE("eat fixtures: every verifier refusal is covered") {
    std::set<std::string> covered;
    for (const auto& [name, entry] : eat_test::document().at("tokens").items()) {
        covered.insert(entry.at("expect").get<std::string>());
    }
    using monsys::eat::Refusal;
    // Decided outside verify_token: by check_app_id, the replay store, or the settings.
    const std::set<Refusal> elsewhere = {Refusal::app_mismatch, Refusal::replayed,
                                         Refusal::replay_store_error, Refusal::replay_store_full,
                                         Refusal::bad_settings};
    for (Refusal reason : monsys::eat::all_refusals) {
        if (elsewhere.count(reason) != 0) continue;
        INFO(monsys::eat::to_string(reason));
        CHECK(covered.count(monsys::eat::to_string(reason)) == 1);
    }
}
