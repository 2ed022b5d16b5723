#pragma once
// The file name that stands for a jti in the agent's per-jti directories (the in-flight journal,
// the result ledger). A jti is whatever the token says: only a hash keeps '/', "..", control
// bytes and length out of the path, and the file still names no jti on its own.
#include <string>

namespace monsys::agent::actions {

// 32 lowercase hex digits (a 16-byte BLAKE2b hash of the jti's bytes).
std::string jti_hash_hex(const std::string& jti);

}  // namespace monsys::agent::actions
