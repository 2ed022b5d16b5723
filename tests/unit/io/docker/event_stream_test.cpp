// The /events body parser on recorded podman and hand-written Docker streams: the same events
// however the bytes are split, lines over the cap skipped without being buffered, garbage and
// events about other objects dropped and counted.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "common/io/docker/event_stream.hpp"
#include "tests/unit/io/fixture.hpp"

using monsys::io::docker::ContainerEventRecord;
using monsys::io::docker::decode_container_event;
using monsys::io::docker::events_since_value;
using monsys::io::docker::EventStreamParser;
using monsys::testing::read_fixture;

namespace {

std::string summary(const std::vector<ContainerEventRecord>& events) {
    std::string out;
    for (const auto& e : events) {
        out += e.action + " " + e.name + " " + e.compose_project + "/" + e.compose_service + " " +
               std::to_string(e.time_nano) + " " + e.id.substr(0, 12) + "\n";
    }
    return out;
}

std::vector<ContainerEventRecord> feed_whole(std::string_view body) {
    EventStreamParser parser;
    return parser.feed(body);
}

}  // namespace

TEST_CASE("podman's container stream: every event, with name, labels and timeNano") {
    std::string body = read_fixture("docker/podman-4.3.1/events_container.jsonl");
    REQUIRE(!body.empty());
    EventStreamParser parser;
    auto events = parser.feed(body);
    REQUIRE(events.size() == 14);
    CHECK(parser.unreadable() == 0);
    CHECK(parser.ignored() == 0);
    CHECK(parser.buffered() == 0);

    CHECK(events[0].action == "create");
    CHECK(events[0].name == "rec-web");
    CHECK(events[0].id == "f22af9937e68aada6145cd917476d398647d0e6b1d45b624ae0be7c3a1ef84d1");
    CHECK(events[0].time_nano == 1795901100790677844LL);
    CHECK(events[0].compose_project.empty());

    bool saw_compose = false;
    bool saw_die = false;
    for (const auto& e : events) {
        if (e.name == "rec-shop-web-1") {
            saw_compose = true;
            CHECK(e.compose_project == "shop");
            CHECK(e.compose_service == "web");
        }
        if (e.name == "rec-web" && e.action == "die") saw_die = true;
    }
    CHECK(saw_compose);
    CHECK(saw_die);
}

TEST_CASE("podman's unfiltered stream: image events are ignored and counted") {
    EventStreamParser parser;
    auto events = parser.feed(read_fixture("docker/podman-4.3.1/events_all.jsonl"));
    CHECK(events.size() == 14);
    CHECK(parser.ignored() == 2);
    CHECK(parser.unreadable() == 0);
}

TEST_CASE("Docker's stream: network and image events ignored, compose labels, odd actions") {
    EventStreamParser parser;
    auto events = parser.feed(read_fixture("docker/docker-engine-24/events.jsonl"));
    REQUIRE(events.size() == 5);
    CHECK(parser.ignored() == 2);
    CHECK(events[0].name == "shop-web-1");
    CHECK(events[0].compose_project == "shop");
    CHECK(events[0].compose_service == "web");
    CHECK(events[0].time_nano == 1700000000123456789LL);
    CHECK(events[2].action == "health_status: healthy");
    CHECK(events[4].action == "die");
    CHECK(events[4].name == "cache");
    CHECK(events[4].compose_project.empty());
}

TEST_CASE("the same events whatever the split: every byte boundary, and byte by byte") {
    for (const char* fixture :
         {"docker/podman-4.3.1/events_all.jsonl", "docker/docker-engine-24/events.jsonl"}) {
        std::string body = read_fixture(fixture);
        REQUIRE(!body.empty());
        const std::string expected = summary(feed_whole(body));
        REQUIRE(!expected.empty());
        for (std::size_t cut = 0; cut <= body.size(); ++cut) {
            EventStreamParser parser;
            auto events = parser.feed(std::string_view(body).substr(0, cut));
            auto rest = parser.feed(std::string_view(body).substr(cut));
            events.insert(events.end(), rest.begin(), rest.end());
            if (summary(events) != expected) {
                FAIL_CHECK(fixture << ": split at byte " << cut << " changes the events");
                break;
            }
        }
        EventStreamParser parser;
        std::vector<ContainerEventRecord> events;
        for (char c : body) {
            auto got = parser.feed(std::string_view(&c, 1));
            events.insert(events.end(), got.begin(), got.end());
        }
        CHECK(summary(events) == expected);
    }
}

TEST_CASE("an oversized line is skipped to its newline, never buffered whole, and counted") {
    std::string body = read_fixture("docker/podman-4.3.1/events_container.jsonl");
    std::string first_line = body.substr(0, body.find('\n') + 1);
    // A container event with a 100 KiB label: valid JSON, but over the 64 KiB cap.
    std::string huge =
        R"({"Type":"container","Action":"die","Actor":{"ID":"x","Attributes":{"name":"big","l":")" +
        std::string(100 * 1024, 'a') + "\"}}}\n";
    EventStreamParser parser;
    std::vector<ContainerEventRecord> events;
    std::size_t max_buffered = 0;
    std::string stream = huge + first_line;
    for (std::size_t at = 0; at < stream.size(); at += 1000) {
        auto got = parser.feed(std::string_view(stream).substr(at, 1000));
        events.insert(events.end(), got.begin(), got.end());
        max_buffered = std::max(max_buffered, parser.buffered());
    }
    CHECK(parser.oversized() == 1);
    CHECK(max_buffered <= EventStreamParser::kDefaultMaxLine);
    REQUIRE(events.size() == 1);
    CHECK(events[0].name == "rec-web");

    SUBCASE("a smaller cap counts a normal podman line as oversized") {
        EventStreamParser small(64);
        auto none = small.feed(first_line + first_line);
        CHECK(none.empty());
        CHECK(small.oversized() == 2);
        CHECK(small.buffered() == 0);
    }
}

TEST_CASE("garbage, non-objects, blank lines and events without an actor are dropped") {
    std::string body = read_fixture("docker/docker-engine-24/events.jsonl");
    std::string die_line = body.substr(body.rfind("{\"status\":\"die\""));
    die_line = die_line.substr(0, die_line.find('\n') + 1);
    std::string stream =
        "not json at all\n"
        "[1,2,3]\n"
        "\r\n"
        "\n"
        "{\"Type\":\"container\",\"Action\":\"die\"}\n"
        "{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":7}}\n"
        "{\"unterminated\": \"yes\n" +
        die_line + "{\"Type\":\"container\"";  // a partial line at the end
    EventStreamParser parser;
    auto events = parser.feed(stream);
    REQUIRE(events.size() == 1);
    CHECK(events[0].name == "cache");
    CHECK(parser.unreadable() == 5);
    CHECK(parser.buffered() > 0);  // the partial line waits for its newline
    parser.reset();
    CHECK(parser.buffered() == 0);
}

TEST_CASE("decode: time falls back to seconds; an old event without Type is a container's") {
    auto old = decode_container_event(
        R"({"status":"stop","id":"abc","from":"busybox","time":1700000001})");
    REQUIRE(old);
    CHECK(old->id == "abc");
    CHECK(old->action == "stop");
    CHECK(old->name.empty());
    CHECK(old->time_nano == 1700000001000000000LL);

    auto slash = decode_container_event(
        R"({"Type":"container","Action":"start","Actor":{"ID":"i","Attributes":{"name":"/web"}}})");
    REQUIRE(slash);
    CHECK(slash->name == "web");
    CHECK(slash->time_nano == 0);

    CHECK_FALSE(
        decode_container_event(R"({"Type":"volume","Action":"create","Actor":{"ID":"v"}})"));
}

TEST_CASE("since= keeps the nanoseconds") {
    CHECK(events_since_value(1795901100790677844LL) == "1795901100.790677844");
    CHECK(events_since_value(1700000000000000005LL) == "1700000000.000000005");
    CHECK(events_since_value(0) == "0.000000000");
}
