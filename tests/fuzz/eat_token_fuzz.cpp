// The token verifier (common/eat/verifier), from the whole compact token to claims, with the
// fixture settings and time; and the unverified peek that words refusals.
// Properties: a strict base64url part re-encodes to the same text; verified claims keep every
// rule, and their payload is the signed part's JSON as sent (it re-serializes as signed); the
// peek agrees with verification about the jti.
#include <string>

#include "common/encoding/base64.hpp"
#include "common/json/capped_json.hpp"
#include "tests/fuzz/eat_settings.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

void check_base64url_is_canonical(std::string_view text) {
    auto decoded = monsys::encoding::base64url_decode(text);
    if (decoded) FUZZ_CHECK(monsys::encoding::base64url_encode(*decoded) == text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const auto settings = monsys::fuzz::fixture_settings();
    auto token = monsys::fuzz::as_text(data, size);

    std::size_t start = 0;
    for (int part = 0; part < 3 && start <= token.size(); ++part) {
        auto end = token.find('.', start);
        if (end == std::string_view::npos) end = token.size();
        check_base64url_is_canonical(token.substr(start, end - start));
        start = end + 1;
    }

    auto ids = monsys::eat::unverified_ids(token);
    auto claims = monsys::eat::verify_token(token, settings, monsys::fuzz::fixture_now);
    if (!claims) {
        FUZZ_CHECK(!std::string(monsys::eat::to_string(claims.error().reason)).empty());
        return 0;
    }
    FUZZ_CHECK(monsys::fuzz::claims_keep_the_rules(*claims, settings));
    auto first = token.find('.');
    auto second = token.find('.', first + 1);
    auto payload_text =
        monsys::encoding::base64url_decode(token.substr(first + 1, second - first - 1));
    FUZZ_CHECK(payload_text.has_value());
    FUZZ_CHECK(nlohmann::json::parse(*payload_text) == claims->payload);
    FUZZ_CHECK(ids.jti.has_value() && *ids.jti == claims->jti);
    return 0;
}
