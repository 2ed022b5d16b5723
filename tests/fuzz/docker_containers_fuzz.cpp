// Docker Engine API replies about containers (common/io/docker/containers): GET
// /containers/json, GET /containers/{id}/json, and the error body of a failed call. The first
// byte picks the reply; the rest is its body. Docker's and podman's schemas both pass here.
// Properties: a list is never longer than its cap; names carry no leading '/'; a failure is
// described on one line.
#include <string>

#include "common/io/docker/containers.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace monsys::io::docker;
    auto [mode, body] = monsys::fuzz::mode_and_rest(data, size);
    switch (mode % 3) {
        case 0: {
            constexpr std::size_t cap = 64;
            auto list = decode_container_list(body, cap);
            if (!list) break;
            FUZZ_CHECK(list->size() <= cap);
            for (const auto& container : *list) {
                for (const auto& name : container.names) FUZZ_CHECK(name.empty() || name.front() != '/');
            }
            break;
        }
        case 1: {
            auto state = decode_container_inspect(body);
            if (state) FUZZ_CHECK(state->name.empty() || state->name.front() != '/');
            break;
        }
        default: {
            Response response{404, {}, std::string(body)};
            auto text = describe_http_failure(response);
            FUZZ_CHECK(text.starts_with("HTTP 404"));
            FUZZ_CHECK(text.find('\n') == std::string::npos);
            break;
        }
    }
    return 0;
}
