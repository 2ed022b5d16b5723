#include "agent/actions/jti_file_name.hpp"

#include <sodium.h>

namespace monsys::agent::actions {

std::string jti_hash_hex(const std::string& jti) {
    static const bool ready = sodium_init() >= 0;
    (void)ready;  // crypto_generichash works without sodium_init; it only picks faster code
    constexpr std::size_t hash_bytes = 16;
    unsigned char hash[hash_bytes];
    crypto_generichash(hash, sizeof hash, reinterpret_cast<const unsigned char*>(jti.data()),
                       jti.size(), nullptr, 0);
    static constexpr char digits[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(2 * sizeof hash);
    for (unsigned char byte : hash) {
        hex += digits[byte >> 4];
        hex += digits[byte & 0xF];
    }
    return hex;
}

}  // namespace monsys::agent::actions
