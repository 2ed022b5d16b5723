#pragma once
// Internal to common/eat: the claim rules, applied to a payload whose signature has already been
// verified, and the quoting of token values for details.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/eat/verifier.hpp"

namespace monsys::eat::detail {

// Times past the end of year 9999 are refused, which keeps "+ skew" far from overflow.
inline constexpr std::int64_t max_time_unix = 253402300799;

// `"value"` with control and non-ASCII bytes escaped and long values cut, so that a value from
// a token cannot forge log lines or flood them.
std::string log_quoted(std::string_view value, std::size_t max_bytes = 64);

// Applies every claim rule to `payload`; `kid` is the key id the signature was verified with.
Expected<Claims, Rejection> read_claims(nlohmann::json payload, std::string kid,
                                        const VerifierSettings& settings, std::int64_t now_unix);

}  // namespace monsys::eat::detail
