// The body of GET /events (common/io/docker/event_stream): one JSON object per line, fed in
// whatever pieces the socket gives. The first byte sets the size of the pieces and a small
// line cap; the rest is the body.
// Property: the events and counters do not depend on how the bytes were cut into pieces.
#include <string>
#include <vector>

#include "common/io/docker/event_stream.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using monsys::io::docker::ContainerEventRecord;

bool same(const ContainerEventRecord& a, const ContainerEventRecord& b) {
    return a.id == b.id && a.name == b.name && a.compose_project == b.compose_project &&
           a.compose_service == b.compose_service && a.action == b.action &&
           a.time_nano == b.time_nano;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using monsys::io::docker::EventStreamParser;
    auto [mode, body] = monsys::fuzz::mode_and_rest(data, size);
    std::size_t max_line = (mode & 0x80) ? 256 : EventStreamParser::kDefaultMaxLine;
    std::size_t piece = (mode & 0x7f) + 1;

    EventStreamParser whole(max_line);
    auto all_at_once = whole.feed(body);
    EventStreamParser pieces(max_line);
    std::vector<ContainerEventRecord> piecewise;
    for (std::size_t at = 0; at < body.size(); at += piece) {
        for (auto& event : pieces.feed(body.substr(at, piece))) piecewise.push_back(std::move(event));
    }
    FUZZ_CHECK(pieces.buffered() <= max_line && whole.buffered() <= max_line);
    FUZZ_CHECK(all_at_once.size() == piecewise.size());
    for (std::size_t i = 0; i < piecewise.size(); ++i) FUZZ_CHECK(same(all_at_once[i], piecewise[i]));
    FUZZ_CHECK(whole.events() == pieces.events() && whole.oversized() == pieces.oversized() &&
               whole.unreadable() == pieces.unreadable() && whole.ignored() == pieces.ignored());
    if (!body.empty()) (void)monsys::io::docker::decode_container_event(body.substr(0, body.find('\n')));
    return 0;
}
