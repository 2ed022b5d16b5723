#pragma once
// The claims of a verified Emergency Action Token. A Claims value only ever comes out of
// verify_token, so everything in it has passed the signature and every rule of docs/eat.md.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/app/app.hpp"

namespace monsys::eat {

inline constexpr std::size_t max_token_bytes = 8192;
inline constexpr std::size_t max_jti_bytes = 128;
inline constexpr std::size_t max_reason_bytes = 1024;
inline constexpr std::size_t max_app_id_bytes = 128;  // app::max_app_id_bytes

struct Claims {
    std::string kid;  // from the header: which pinned key verified the token
    std::string iss;
    std::string sub;
    std::string jti;
    std::string act;
    std::vector<std::string> aud;  // a single-string aud becomes one element
    std::vector<std::string> amr;
    std::int64_t iat = 0;
    std::int64_t nbf = 0;
    std::int64_t exp = 0;
    int lvl = 0;
    monsys::app::AppRef app;
    std::optional<std::string> reason;
    std::optional<std::string> by;
    std::optional<std::string> tid;
    nlohmann::json payload;  // the verified payload as received, unknown claims included
};

}  // namespace monsys::eat
