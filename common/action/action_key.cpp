#include "common/action/action_key.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/encoding/base64.hpp"
#include "common/json/capped_json.hpp"
#include "common/util/durable_file.hpp"
#include "common/util/file_lock.hpp"
#include "common/util/time_format.hpp"
#include "common/util/trusted_file.hpp"
#include "common/util/unique_fd.hpp"

namespace monsys::results {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr std::string_view secret_format = "monsys-action-key/1";
constexpr mode_t secret_mode = 0600;
constexpr mode_t public_mode = 0640;

json::Limits key_file_limits() {
    return json::Limits{max_key_file_bytes, 8, /*reject_duplicate_keys=*/true, false};
}

Expected<void, std::string> check_rotations(const Json& rotations) {
    if (!rotations.is_array() || rotations.size() > max_key_rotations) {
        return unexpected("rotations must be an array of at most " +
                          std::to_string(max_key_rotations) + " strings");
    }
    for (const Json& entry : rotations) {
        if (!entry.is_string()) return unexpected(std::string("rotations must hold strings"));
    }
    return {};
}

// The directory, opened by the trusted walk. Root (rotate-key, the package's scripts) may find
// it owned by monsys-action; anyone else must own it (or root must).
struct KeyDirectory {
    TrustedFile dir;
    fs::path path;
};

Expected<KeyDirectory, std::string> open_key_directory(const fs::path& state_dir) {
    const LastOwner owner =
        ::geteuid() == 0 ? LastOwner::anyone : LastOwner::root_or_effective_user;
    auto opened = open_trusted_directory(state_dir, owner);
    if (!opened) {
        return unexpected("key directory " + state_dir.string() + ": " + opened.error().message);
    }
    return KeyDirectory{std::move(*opened), state_dir};
}

// Files written by root belong to the directory's owner, so monsys-action can use them.
Expected<void, std::string> give_to_directory_owner(const KeyDirectory& directory,
                                                    const char* name) {
    if (::geteuid() != 0 || directory.dir.st.st_uid == 0) return {};
    if (::fchownat(directory.dir.fd.get(), name, directory.dir.st.st_uid, directory.dir.st.st_gid,
                   AT_SYMLINK_NOFOLLOW) != 0) {
        return unexpected(errno_message("cannot give to the directory's owner", 
                                        directory.path / name, errno));
    }
    return {};
}

Expected<UniqueFd, std::string> take_lock(const KeyDirectory& directory, bool exclusive) {
    const fs::path shown = directory.path / action_key_lock_name;
    UniqueFd fd(::openat(directory.dir.fd.get(), action_key_lock_name,
                         O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, secret_mode));
    if (!fd.valid()) return unexpected(errno_message("cannot open", shown, errno));
    if (auto given = give_to_directory_owner(directory, action_key_lock_name); !given) {
        return unexpected(std::move(given.error()));
    }
    if (auto locked = lock_with_timeout(fd.get(), exclusive, shown); !locked) {
        return unexpected(std::move(locked.error()));
    }
    return fd;
}

// Reads a key file from the directory: a regular file, no link, capped. `secret` additionally
// requires that nobody but its owner can read it, and that the owner is the effective user (or,
// for root, the directory's owner).
Expected<std::optional<std::string>, std::string> read_key_file(const KeyDirectory& directory,
                                                                const char* name, bool secret) {
    const fs::path shown = directory.path / name;
    UniqueFd fd(::openat(directory.dir.fd.get(), name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid()) {
        if (errno == ENOENT) return std::optional<std::string>();
        return unexpected(errno_message("cannot open", shown, errno));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return unexpected(errno_message("cannot stat", shown, errno));
    if (!S_ISREG(st.st_mode)) return unexpected(shown.string() + " is not a regular file");
    if (secret) {
        const uid_t expected_owner = ::geteuid() == 0 ? directory.dir.st.st_uid : ::geteuid();
        if (st.st_uid != expected_owner) {
            return unexpected(shown.string() + " belongs to uid " + std::to_string(st.st_uid) +
                              ", not " + std::to_string(expected_owner));
        }
        if ((st.st_mode & 077) != 0) {
            return unexpected(shown.string() +
                              " may be read by group or others: refusing to sign with a key "
                              "that may be known (it must be mode 0600)");
        }
    } else {
        auto owned = check_ownership(st, shown, "file", LastOwner::anyone);
        if (!owned) return unexpected(std::move(owned.error()));
    }
    auto text = read_capped(fd.get(), shown, max_key_file_bytes);
    if (!text) return unexpected(std::move(text.error().message));
    return std::optional<std::string>(std::move(*text));
}

Expected<ActionKeyState, std::string> parse_secret(const std::string& text, const fs::path& shown) {
    auto bad = [&shown](const std::string& why) {
        return unexpected(shown.string() + " is not a key file (" + why + ")");
    };
    auto parsed = json::parse(text, key_file_limits());
    if (!parsed) return bad(parsed.error().message);
    if (!parsed->is_object() || parsed->size() != 3) return bad("members");
    auto format = parsed->find("format");
    if (format == parsed->end() || *format != std::string(secret_format)) return bad("format");
    auto seed_text = parsed->find("seed");
    if (seed_text == parsed->end() || !seed_text->is_string()) return bad("seed");
    auto seed = encoding::base64url_decode(seed_text->get_ref<const std::string&>());
    if (!seed || seed->size() != ActionKeySeed{}.size()) return bad("seed is not 32 bytes");
    auto rotations = parsed->find("rotations");
    if (rotations == parsed->end()) return bad("no rotations");
    if (auto ok = check_rotations(*rotations); !ok) return bad(ok.error());
    ActionKeySeed bytes{};
    std::copy(seed->begin(), seed->end(), bytes.begin());
    ActionKeyState state{signing_key_from_seed(bytes), rotations->get<std::vector<std::string>>()};
    sodium_memzero(bytes.data(), bytes.size());
    sodium_memzero(seed->data(), seed->size());
    return state;
}

std::string secret_text(const ActionKeyState& state) {
    const std::string seed = encoding::base64url_encode(
        std::string_view(reinterpret_cast<const char*>(state.key.seed.data()),
                         state.key.seed.size()));
    return Json{{"format", secret_format}, {"seed", seed}, {"rotations", state.rotations}}.dump() +
           "\n";
}

Expected<void, std::string> write_key_file(const KeyDirectory& directory, const char* name,
                                           const std::string& data, mode_t mode) {
    const gid_t group = mode == public_mode ? directory.dir.st.st_gid : static_cast<gid_t>(-1);
    if (auto written = write_file_atomically_at(directory.dir.fd.get(), directory.path, name,
                                                data, mode, group);
        !written) {
        return written;
    }
    return give_to_directory_owner(directory, name);
}

// The public document follows the secret file: rewritten when it is missing or says otherwise
// (a rotation that stopped between the two renames).
Expected<void, std::string> sync_public_document(const KeyDirectory& directory,
                                                 const ActionKeyState& state) {
    const std::string wanted = public_key_document(state).dump() + "\n";
    auto current = read_key_file(directory, action_key_public_name, false);
    if (current && *current && **current == wanted) return {};
    return write_key_file(directory, action_key_public_name, wanted, public_mode);
}

}  // namespace

Json public_key_document(const ActionKeyState& state) {
    return Json{{"kid", state.key.kid},
                {"jwk", public_jwk(state.key.public_key)},
                {"rotations", state.rotations}};
}

Expected<void, std::string> check_public_key_document(const Json& document) {
    if (!document.is_object() || document.size() != 3) {
        return unexpected(std::string("must be an object with exactly kid, jwk and rotations"));
    }
    auto kid = document.find("kid");
    auto jwk = document.find("jwk");
    auto rotations = document.find("rotations");
    if (kid == document.end() || !kid->is_string()) return unexpected(std::string("no string kid"));
    if (jwk == document.end()) return unexpected(std::string("no jwk"));
    auto key = public_key_from_jwk(*jwk);
    if (!key) return unexpected(std::move(key.error()));
    if (*kid != jwk_thumbprint(*key)) {
        return unexpected(std::string("kid is not the jwk's thumbprint"));
    }
    if (rotations == document.end()) return unexpected(std::string("no rotations"));
    return check_rotations(*rotations);
}

std::string make_rotation_statement(const ActionSigningKey& old_key,
                                    const ActionPublicKey& new_key,
                                    std::chrono::system_clock::time_point at) {
    const Json payload{{"old_kid", old_key.kid},
                       {"new_kid", jwk_thumbprint(new_key)},
                       {"new_jwk", public_jwk(new_key)},
                       {"rotated_at", format_utc_millis(at)}};
    return sign_compact(old_key, rotation_jws_type, payload.dump());
}

Expected<std::vector<ActionPublicKey>, std::string> follow_rotations(
    const ActionPublicKey& pinned, const std::vector<std::string>& rotations,
    const std::string& target_kid) {
    std::vector<ActionPublicKey> chain;
    ActionPublicKey current = pinned;
    std::string current_kid = jwk_thumbprint(pinned);
    for (const std::string& statement : rotations) {
        if (current_kid == target_kid) break;
        if (compact_jws_kid(statement) != current_kid) continue;  // before the pinned key
        auto verified = verify_compact(statement, rotation_jws_type, current);
        if (!verified) return unexpected("rotation statement of " + current_kid + ": " +
                                         verified.error());
        auto payload = json::parse(verified->payload, key_file_limits());
        if (!payload || !payload->is_object()) {
            return unexpected("rotation statement of " + current_kid + " is not a JSON object");
        }
        auto old_kid = payload->find("old_kid");
        auto new_kid = payload->find("new_kid");
        auto new_jwk = payload->find("new_jwk");
        if (old_kid == payload->end() || *old_kid != current_kid || new_kid == payload->end() ||
            !new_kid->is_string() || new_jwk == payload->end()) {
            return unexpected("rotation statement of " + current_kid +
                              " lacks old_kid, new_kid or new_jwk");
        }
        auto next = public_key_from_jwk(*new_jwk);
        if (!next) return unexpected("rotation statement of " + current_kid + ": " + next.error());
        if (*new_kid != jwk_thumbprint(*next)) {
            return unexpected("rotation statement of " + current_kid +
                              ": new_kid is not new_jwk's thumbprint");
        }
        current = *next;
        current_kid = new_kid->get<std::string>();
        chain.push_back(current);
    }
    if (current_kid != target_kid) {
        return unexpected("the rotation statements do not lead from " + jwk_thumbprint(pinned) +
                          " to " + target_kid);
    }
    return chain;
}

Expected<ActionKeyState, std::string> load_action_key(const fs::path& state_dir, bool create) {
    auto directory = open_key_directory(state_dir);
    if (!directory) return unexpected(std::move(directory.error()));
    auto held = take_lock(*directory, /*exclusive=*/true);
    if (!held) return unexpected(std::move(held.error()));
    const fs::path shown = state_dir / action_key_secret_name;
    auto text = read_key_file(*directory, action_key_secret_name, true);
    if (!text) return unexpected(std::move(text.error()));
    ActionKeyState state;
    if (*text) {
        auto parsed = parse_secret(**text, shown);
        sodium_memzero(text->value().data(), text->value().size());
        if (!parsed) return unexpected(std::move(parsed.error()));
        state = std::move(*parsed);
    } else {
        if (!create) return unexpected(shown.string() + " does not exist (monsys-action init-key)");
        state.key = generate_signing_key();
        std::string data = secret_text(state);
        auto written = write_key_file(*directory, action_key_secret_name, data, secret_mode);
        sodium_memzero(data.data(), data.size());
        if (!written) return unexpected(std::move(written.error()));
    }
    if (auto synced = sync_public_document(*directory, state); !synced) {
        return unexpected(std::move(synced.error()));
    }
    return state;
}

Expected<ActionKeyState, std::string> rotate_action_key(const fs::path& state_dir,
                                                        std::chrono::system_clock::time_point now) {
    auto directory = open_key_directory(state_dir);
    if (!directory) return unexpected(std::move(directory.error()));
    auto held = take_lock(*directory, /*exclusive=*/true);
    if (!held) return unexpected(std::move(held.error()));
    const fs::path shown = state_dir / action_key_secret_name;
    auto text = read_key_file(*directory, action_key_secret_name, true);
    if (!text) return unexpected(std::move(text.error()));
    if (!*text) return unexpected(shown.string() + " does not exist: nothing to rotate");
    auto old_state = parse_secret(**text, shown);
    sodium_memzero(text->value().data(), text->value().size());
    if (!old_state) return unexpected(std::move(old_state.error()));

    ActionKeyState state;
    state.key = generate_signing_key();
    state.rotations = std::move(old_state->rotations);
    state.rotations.push_back(
        make_rotation_statement(old_state->key, state.key.public_key, now));
    if (state.rotations.size() > max_key_rotations) {
        state.rotations.erase(state.rotations.begin(),
                              state.rotations.end() - static_cast<long>(max_key_rotations));
    }
    // The secret file first: it is the truth, and the public document follows it (also on the
    // next load, should this stop in between).
    std::string data = secret_text(state);
    auto written = write_key_file(*directory, action_key_secret_name, data, secret_mode);
    sodium_memzero(data.data(), data.size());
    if (!written) return unexpected(std::move(written.error()));
    if (auto synced = sync_public_document(*directory, state); !synced) {
        return unexpected(std::move(synced.error()));
    }
    return state;
}

Expected<Json, std::string> read_action_public_key(const fs::path& state_dir) {
    auto opened = open_trusted_directory(state_dir, LastOwner::anyone);
    if (!opened) {
        return unexpected("key directory " + state_dir.string() + ": " + opened.error().message);
    }
    KeyDirectory directory{std::move(*opened), state_dir};
    const fs::path shown = state_dir / action_key_public_name;
    auto text = read_key_file(directory, action_key_public_name, false);
    if (!text) return unexpected(std::move(text.error()));
    if (!*text) return unexpected(shown.string() + " does not exist yet");
    auto parsed = json::parse(**text, key_file_limits());
    if (!parsed) return unexpected(shown.string() + ": " + parsed.error().message);
    if (auto ok = check_public_key_document(*parsed); !ok) {
        return unexpected(shown.string() + ": " + ok.error());
    }
    return std::move(*parsed);
}

}  // namespace monsys::results
