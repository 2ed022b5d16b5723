#include <doctest/doctest.h>

#include <set>
#include <string>

#include "common/eat/refusal.hpp"

using monsys::eat::all_refusals;
using monsys::eat::Refusal;
using monsys::eat::to_string;

TEST_CASE("refusal: every reason has its own snake_case name") {
    std::set<std::string> names;
    for (Refusal reason : all_refusals) {
        std::string name = to_string(reason);
        INFO(name);
        CHECK(name != "unknown");
        CHECK(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") == std::string::npos);
        CHECK(names.insert(name).second);
    }
    CHECK(names.size() == static_cast<std::size_t>(Refusal::bad_settings) + 1);
    CHECK(std::string(to_string(Refusal::app_mismatch)) == "app_mismatch");
    CHECK(std::string(to_string(Refusal::replay_store_error)) == "replay_store_error");
}
