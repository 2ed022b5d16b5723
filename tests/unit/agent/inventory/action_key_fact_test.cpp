// The host section's action_key: the public document monsys-action keeps, read as hello reads it;
// a missing or damaged one leaves the key null with an error naming the file.
#include <doctest/doctest.h>

#include <chrono>
#include <fstream>

#include "agent/inventory/action_key_fact.hpp"
#include "agent/inventory/settings.hpp"
#include "common/action/action_key.hpp"
#include "common/config/config.hpp"
#include "common/inventory/inventory_json.hpp"
#include "tests/unit/trusted_dir.hpp"

using namespace monsys::inventory;
namespace results = monsys::results;

TEST_CASE("inventory action key: the host's key, with its rotations, as hello carries it") {
    monsys::test::TrustedDir dir;
    REQUIRE(results::load_action_key(dir.path(), /*create=*/true));
    auto rotated = results::rotate_action_key(dir.path(), std::chrono::system_clock::now());
    REQUIRE(rotated);

    auto fact = read_action_key_fact(dir.path());
    REQUIRE(fact.key);
    CHECK_FALSE(fact.error);
    CHECK(fact.key->kid == rotated->key.kid);
    CHECK(fact.key->rotations == rotated->rotations);
    CHECK(fact.key->rotations.size() == 1);

    // In the document it is exactly the public document hello reports.
    HostInfo host;
    host.action_key = fact.key;
    Inventory inventory;
    inventory.host = host;
    auto document = results::read_action_public_key(dir.path());
    REQUIRE(document);
    CHECK(to_json(inventory)["host"]["action_key"] == *document);
    CHECK(to_json(inventory)["host"]["action_key_error"].is_null());
}

TEST_CASE("inventory action key: none yet, or a damaged document, is null with the reason") {
    monsys::test::TrustedDir dir;
    auto missing = read_action_key_fact(dir.path());
    CHECK_FALSE(missing.key);
    REQUIRE(missing.error);
    CHECK(missing.error->find("action-key.json does not exist yet") != std::string::npos);

    REQUIRE(results::load_action_key(dir.path(), true));
    std::ofstream(dir.path() / results::action_key_public_name, std::ios::trunc)
        << R"({"kid":"forged","jwk":{"crv":"Ed25519","kty":"OKP","x":"A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg"},"rotations":[]})";
    auto forged = read_action_key_fact(dir.path());
    CHECK_FALSE(forged.key);
    REQUIRE(forged.error);
    CHECK(forged.error->find("thumbprint") != std::string::npos);

    CHECK_FALSE(read_action_key_fact("").key);
    CHECK_FALSE(read_action_key_fact("").error);
}

TEST_CASE("inventory action key: read from the configured state_dir") {
    monsys::config::Config config;
    config.state_dir = "/srv/monsys-action";
    CHECK(inventory_settings_from(config).action_key_dir == "/srv/monsys-action");
}
