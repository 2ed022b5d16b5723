// monsys-action's key on disk: made once, private, its public document, rotation and its chain.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <fstream>

#include "common/action/action_key.hpp"
#include "common/util/time_format.hpp"
#include "tests/unit/trusted_dir.hpp"

using namespace monsys::results;
using Json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

mode_t mode_of(const fs::path& path) {
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

std::string read(const fs::path& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

const auto now = *monsys::parse_utc_millis("2026-11-29T01:00:00.000Z");

}  // namespace

TEST_CASE("action key: made on first use, then the same key; secret 0600, public 0640") {
    monsys::test::TrustedDir dir;
    CHECK_FALSE(load_action_key(dir.path(), /*create=*/false));
    auto first = load_action_key(dir.path(), /*create=*/true);
    REQUIRE(first);
    CHECK(mode_of(dir.path() / action_key_secret_name) == 0600);
    CHECK(mode_of(dir.path() / action_key_public_name) == 0640);
    auto again = load_action_key(dir.path(), /*create=*/true);
    REQUIRE(again);
    CHECK(again->key.kid == first->key.kid);
    CHECK(again->key.public_key == first->key.public_key);

    auto document = read_action_public_key(dir.path());
    REQUIRE(document);
    CHECK(*document == public_key_document(*first));
    CHECK(document->at("kid") == first->key.kid);
    CHECK(document->at("rotations") == Json::array());
    // The public document holds no secret.
    CHECK(read(dir.path() / action_key_public_name).find("seed") == std::string::npos);
}

TEST_CASE("action key: a secret file others may read is refused, not used") {
    monsys::test::TrustedDir dir;
    REQUIRE(load_action_key(dir.path(), true));
    REQUIRE(::chmod((dir.path() / action_key_secret_name).c_str(), 0640) == 0);
    auto refused = load_action_key(dir.path(), true);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().find("may be read by group or others") != std::string::npos);
}

TEST_CASE("action key: a public document that says otherwise is rewritten from the secret") {
    monsys::test::TrustedDir dir;
    auto state = load_action_key(dir.path(), true);
    REQUIRE(state);
    std::ofstream(dir.path() / action_key_public_name, std::ios::trunc) << "{}\n";
    CHECK_FALSE(read_action_public_key(dir.path()));
    REQUIRE(load_action_key(dir.path(), false));
    auto document = read_action_public_key(dir.path());
    REQUIRE(document);
    CHECK(document->at("kid") == state->key.kid);
}

TEST_CASE("action key: rotation, the old key signs the new one and the chain is followed") {
    monsys::test::TrustedDir dir;
    auto first = load_action_key(dir.path(), true);
    REQUIRE(first);
    auto second = rotate_action_key(dir.path(), now);
    REQUIRE(second);
    auto third = rotate_action_key(dir.path(), now);
    REQUIRE(third);
    CHECK(second->key.kid != first->key.kid);
    REQUIRE(third->rotations.size() == 2);
    auto loaded = load_action_key(dir.path(), false);
    REQUIRE(loaded);
    CHECK(loaded->key.kid == third->key.kid);

    // A verifier that pinned the first key reaches the third, through the second.
    auto chain = follow_rotations(first->key.public_key, third->rotations, third->key.kid);
    REQUIRE(chain);
    REQUIRE(chain->size() == 2);
    CHECK((*chain)[0] == second->key.public_key);
    CHECK((*chain)[1] == third->key.public_key);
    // One that pinned the second starts at its statement.
    auto shorter = follow_rotations(second->key.public_key, third->rotations, third->key.kid);
    REQUIRE(shorter);
    CHECK(shorter->size() == 1);
    // Already there: nothing to follow.
    auto none = follow_rotations(third->key.public_key, third->rotations, third->key.kid);
    REQUIRE(none);
    CHECK(none->empty());
}

TEST_CASE("action key: a key no statement of the pinned key leads to is not followed") {
    monsys::test::TrustedDir dir;
    auto first = load_action_key(dir.path(), true);
    REQUIRE(first);
    ActionKeySeed seed{};
    seed[0] = 42;
    const ActionSigningKey stranger = signing_key_from_seed(seed);
    const ActionSigningKey stranger_next = signing_key_from_seed(ActionKeySeed{});
    // A statement signed by a key that is not pinned names a new key: no way from the pin.
    std::vector<std::string> forged{
        make_rotation_statement(stranger, stranger_next.public_key, now)};
    auto refused = follow_rotations(first->key.public_key, forged, stranger_next.kid);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().find("do not lead from") != std::string::npos);

    // A statement that claims the pinned key's kid but is signed by another key does not verify.
    ActionSigningKey impostor = stranger;
    impostor.kid = first->key.kid;
    std::vector<std::string> claimed{make_rotation_statement(impostor, stranger.public_key, now)};
    auto bad = follow_rotations(first->key.public_key, claimed, stranger.kid);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().find("does not verify") != std::string::npos);
}

TEST_CASE("action key: rotations keep the last max_key_rotations statements") {
    monsys::test::TrustedDir dir;
    REQUIRE(load_action_key(dir.path(), true));
    std::optional<ActionKeyState> last;
    for (std::size_t i = 0; i < max_key_rotations + 2; ++i) {
        auto rotated = rotate_action_key(dir.path(), now);
        REQUIRE(rotated);
        last = *rotated;
    }
    CHECK(last->rotations.size() == max_key_rotations);
    auto document = read_action_public_key(dir.path());
    REQUIRE(document);
    CHECK(document->at("rotations").size() == max_key_rotations);
}
