#pragma once
// The body of GET /events, parsed as it arrives (pure: bytes in, events out; no sockets).
//
// Both engines send one JSON object per line: Docker one per HTTP chunk, podman's compatible API
// likewise newline-terminated (tests/fixtures/docker/*/events*). Bytes are fed in whatever pieces
// the socket gives; a line is parsed once its newline arrives. Every line is capped: a longer one
// is skipped up to its newline and counted, never buffered whole. Lines that are not readable
// JSON, or are events about something other than a container (images, networks, volumes), are
// counted and dropped.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace monsys::io::docker {

// One container event, reduced to what names the container it concerns.
struct ContainerEventRecord {
    std::string id;               // Actor.ID (or the old top-level "id")
    std::string name;             // Actor.Attributes.name, without a leading '/'
    std::string compose_project;  // label com.docker.compose.project, if any
    std::string compose_service;  // label com.docker.compose.service, if any
    std::string action;           // "die", "start", "health_status: healthy", ...
    // The engine's time of the event in ns since the epoch: timeNano, else time * 1e9; 0 if
    // the event carried neither.
    std::int64_t time_nano = 0;
};

// One line of the stream: the container event it describes, or nothing when it is not a
// readable container event.
std::optional<ContainerEventRecord> decode_container_event(std::string_view line);

// since=<seconds>.<nanoseconds> for GET /events, from an event time in ns (both engines read
// the fractional form).
std::string events_since_value(std::int64_t time_nano);

class EventStreamParser {
  public:
    static constexpr std::size_t kDefaultMaxLine = 64 * 1024;

    explicit EventStreamParser(std::size_t max_line_bytes = kDefaultMaxLine)
        : max_line_(max_line_bytes) {}

    // Takes the next bytes of the body; returns the container events completed by them, in order.
    std::vector<ContainerEventRecord> feed(std::string_view bytes);

    // Forgets a partial line (the stream ended; a new one starts clean). Counters stay.
    void reset();

    std::size_t events() const { return events_; }
    std::size_t oversized() const { return oversized_; }
    std::size_t unreadable() const { return unreadable_; }  // not JSON, or not an event object
    std::size_t ignored() const { return ignored_; }        // events about non-containers
    std::size_t buffered() const { return line_.size(); }

  private:
    void finish_line(std::vector<ContainerEventRecord>& out);

    std::size_t max_line_;
    std::string line_;
    bool skipping_ = false;  // inside an oversized line: drop bytes up to its newline
    std::size_t events_ = 0;
    std::size_t oversized_ = 0;
    std::size_t unreadable_ = 0;
    std::size_t ignored_ = 0;
};

}  // namespace monsys::io::docker
