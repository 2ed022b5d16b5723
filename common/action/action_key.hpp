#pragma once
// monsys-action's signing key on disk (docs/monsys-action.md, "The signing key"), in its state
// directory (the replay store's, /var/lib/monsys-action):
//
//   action-key.secret  0600, owner monsys-action: {"format", "seed", "rotations"}; never leaves
//                      the host, the agent cannot read it
//   action-key.json    0640, group monsys: the public document {"kid", "jwk", "rotations"} the
//                      agent reports in `hello`; derived from the secret file, rewritten when not
//   action-key.lock    0600: orders creation and rotation
//
// `rotations` lists, oldest first, the statements by which each earlier key named its successor:
// compact JWSs of typ rotation_jws_type, each signed by the old key, with the payload
// {"new_jwk", "new_kid", "old_kid", "rotated_at"}. At most max_key_rotations are kept.
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/action/result_signature.hpp"
#include "common/util/expected.hpp"

namespace monsys::results {

inline constexpr std::size_t max_key_rotations = 16;
inline constexpr std::size_t max_key_file_bytes = 64 * 1024;
inline constexpr const char* action_key_secret_name = "action-key.secret";
inline constexpr const char* action_key_public_name = "action-key.json";
inline constexpr const char* action_key_lock_name = "action-key.lock";

struct ActionKeyState {
    ActionSigningKey key;
    std::vector<std::string> rotations;  // oldest first
};

// --- pure ---

// {"kid", "jwk", "rotations"}: what hello's action_key carries.
nlohmann::json public_key_document(const ActionKeyState& state);
// Checks a public document's form: exactly those members, kid the thumbprint of jwk, rotations
// an array of at most max_key_rotations strings. It does not verify the rotation statements
// (whoever pins a key does).
Expected<void, std::string> check_public_key_document(const nlohmann::json& document);

// The statement by which `old_key` names `new_key`.
std::string make_rotation_statement(const ActionSigningKey& old_key,
                                    const ActionPublicKey& new_key,
                                    std::chrono::system_clock::time_point at);

// Follows `rotations` from `pinned` (a key a verifier already trusts) to `target_kid`: each
// statement signed by the current key names the next one. Statements before the pinned key are
// skipped. Returns the keys after `pinned`, in order (empty when target_kid is pinned's kid), or
// why the chain does not reach target_kid.
Expected<std::vector<ActionPublicKey>, std::string> follow_rotations(
    const ActionPublicKey& pinned, const std::vector<std::string>& rotations,
    const std::string& target_kid);

// --- files (monsys-action) ---

// Loads the key from `state_dir`; with `create`, makes one when there is none yet. The secret
// file must be a regular file of the effective user (or of the directory's owner, for root) that
// nobody else may read or write. The public document is rewritten when it does not match.
Expected<ActionKeyState, std::string> load_action_key(const std::filesystem::path& state_dir,
                                                      bool create);

// A new key; the current one signs the statement naming it. Files created by root go to the
// directory's owner.
Expected<ActionKeyState, std::string> rotate_action_key(const std::filesystem::path& state_dir,
                                                        std::chrono::system_clock::time_point now);

// --- files (the agent) ---

// Reads and checks action-key.json (through the directory's group; not writable by group or
// others). The error names the file and the problem.
Expected<nlohmann::json, std::string> read_action_public_key(const std::filesystem::path& state_dir);

}  // namespace monsys::results
