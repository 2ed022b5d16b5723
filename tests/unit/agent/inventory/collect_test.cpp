#include <doctest/doctest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "agent/inventory/collect.hpp"
#include "agent/inventory/proc_walk.hpp"
#include "common/inventory/inventory_json.hpp"
#include "fixture_paths.hpp"

using namespace monsys::inventory;
using monsys::inventory::test::fixture;

namespace {

CollectRequest fixture_request() {
    CollectRequest request;
    request.settings.root = fixture("host1");
    request.sections = {Section::processes, Section::ports, Section::packages};
    request.min_process_age_secs = 0;
    return request;
}

// Timings and the clock differ from one collection to the next; the rest must not.
nlohmann::json without_timings(nlohmann::json document) {
    document.erase("collected_at");
    document.erase("duration_ms");
    for (auto& [name, section] : document.items()) {
        if (section.is_object()) section.erase("duration_ms");
    }
    return document;
}

}  // namespace

TEST_CASE("collect: the streamed document holds what the model's document holds") {
    CollectRequest request = fixture_request();
    std::string text;
    StringSink sink(text);
    auto written = write_inventory_document(request, sink);
    CHECK(written.written);
    auto streamed = nlohmann::json::parse(text, nullptr, false);
    REQUIRE_FALSE(streamed.is_discarded());

    auto collected = collect_inventory(request);
    auto model = to_json(collected.inventory);
    CHECK(without_timings(streamed) == without_timings(model));
    // Not vacuous: the fixture's rows, ports and discovered apps are there.
    CHECK(streamed.at("processes").at("processes").size() >= 8);
    CHECK(streamed.at("ports").at("ports").size() == 5);
    CHECK_FALSE(streamed.at("discovered").empty());
    // The summary keeps the statuses but no process rows.
    REQUIRE(written.summary.processes);
    CHECK(written.summary.processes->processes.empty());
    CHECK(is_complete(written.summary) == is_complete(collected.inventory));
}

TEST_CASE("collect: indented output is the same document") {
    CollectRequest request = fixture_request();
    std::string compact, indented;
    StringSink compact_sink(compact), indented_sink(indented);
    write_inventory_document(request, compact_sink, -1);
    write_inventory_document(request, indented_sink, 2);
    CHECK(indented.find("\n  \"processes\": {") != std::string::npos);
    CHECK(without_timings(nlohmann::json::parse(compact)) ==
          without_timings(nlohmann::json::parse(indented)));
}

TEST_CASE("proc walk: rows come in pid order from a /proc listed in any order") {
    ProcessScanOptions options;
    options.caller = Credentials{0, {0}};
    options.uid_from_status_file = true;
    std::vector<int> pids;
    auto walked = walk_proc(fixture("host1"), options, {},
                            [&pids](Process& row) { pids.push_back(row.pid); });
    CHECK(walked.rows == pids.size());
    REQUIRE(pids.size() >= 8);
    CHECK(std::is_sorted(pids.begin(), pids.end()));
}

TEST_CASE("proc walk: the socket owners come from the same walk, without process rows") {
    ProcessScanOptions options;
    ProcWalkRequest request;
    request.processes = false;
    request.socket_inodes = {5555, 8888, 1000003};  // an unknown inode stays without an owner
    std::size_t rows = 0;
    auto walked = walk_proc(fixture("host1"), options, request, [&rows](Process&) { ++rows; });
    CHECK(rows == 0);
    REQUIRE(walked.socket_owners.size() == 2);
    CHECK(walked.socket_owners.at(5555).pid == 100);
    CHECK(walked.socket_owners.at(8888).pid == 103);
    CHECK(walked.socket_owners.at(8888).exe == "/usr/sbin/nginx");
    CHECK_FALSE(walked.socket_owners.count(1000003));
}
