// Docker Engine API version negotiation (common/io/docker/negotiation, api_version): GET
// /_ping's Api-Version header, then GET /version's body. Input: the header value, a newline,
// the body.
// Properties: a chosen version is within the supported range, and its text parses back to it.
#include <string>

#include "common/io/docker/negotiation.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace monsys::io::docker;

void check_chosen(const monsys::Expected<ApiVersion, std::string>& chosen) {
    if (!chosen) {
        FUZZ_CHECK(!chosen.error().empty());
        return;
    }
    FUZZ_CHECK(*chosen >= kOldestSupportedApiVersion && *chosen <= kNewestKnownApiVersion);
    FUZZ_CHECK(parse_api_version(chosen->to_string()) == *chosen);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto text = monsys::fuzz::as_text(data, size);
    auto newline = text.find('\n');
    auto header = text.substr(0, newline);
    auto body = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);

    if (auto parsed = parse_api_version(header)) {
        FUZZ_CHECK(parse_api_version(parsed->to_string()) == *parsed);
    }
    Response ping{200, {{"Api-Version", std::string(header)}}, "OK"};
    if (auto from_ping = version_from_ping(ping)) check_chosen(*from_ping);
    check_chosen(version_from_version_reply(Response{200, {}, std::string(body)}));
    return 0;
}
