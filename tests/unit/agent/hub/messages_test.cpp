// The monsys.agent.v1 messages: every hub message good and bad, and the agent's messages against
// the examples in docs/protocol.md.
#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "agent/hub/messages.hpp"
#include "common/action/action_key.hpp"
#include "common/action/result_signature.hpp"
#include "common/util/time_format.hpp"

using namespace monsys::agent::hub;
using monsys::app::AppType;
using monsys::inventory::AppState;
using Json = nlohmann::json;

namespace {

HubMessage decode_ok(std::string_view frame) {
    auto decoded = decode_hub_message(frame);
    if (!decoded) FAIL_CHECK("refused: " << decoded.error());
    REQUIRE(decoded);
    return *decoded;
}

std::string refusal(std::string_view frame) {
    auto decoded = decode_hub_message(frame);
    REQUIRE_FALSE(decoded);
    CHECK(decoded.error().find('\n') == std::string::npos);
    return decoded.error();
}

template <class T>
T decode_as(std::string_view frame) {
    HubMessage message = decode_ok(frame);
    REQUIRE(std::holds_alternative<T>(message));
    return std::get<T>(message);
}

bool contains(const std::string& text, std::string_view part) {
    return text.find(part) != std::string::npos;
}

Json valid_app(std::string id = "app-1") {
    return Json{{"id", std::move(id)},
                {"name", "web"},
                {"app_type", "systemd"},
                {"identifier", "nginx.service"},
                {"expected_state", "running"}};
}

std::string apps_frame(const Json& apps, std::string type = "apps") {
    return Json{{"type", std::move(type)}, {"apps", apps}}.dump();
}

// The JSON examples of docs/protocol.md, by their "type".
std::map<std::string, Json> documented_examples() {
    std::ifstream in(std::string(MONSYS_SOURCE_DIR) + "/docs/protocol.md");
    const std::string doc{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    std::map<std::string, Json> examples;
    const std::string open = "```json\n";
    for (std::size_t at = doc.find(open); at != std::string::npos; at = doc.find(open, at)) {
        at += open.size();
        const std::size_t end = doc.find("```", at);
        REQUIRE(end != std::string::npos);
        Json example = Json::parse(doc.substr(at, end - at), nullptr, false);
        REQUIRE_FALSE(example.is_discarded());
        examples[example.at("type").get<std::string>()] = example;
    }
    return examples;
}

std::chrono::system_clock::time_point utc(const Json& text) {
    auto time = monsys::parse_utc_millis(text.get<std::string>());
    REQUIRE(time);
    return *time;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Frames as a whole

TEST_CASE("messages: frames that are not JSON objects with a string type") {
    CHECK(contains(refusal(""), "invalid JSON"));
    CHECK(contains(refusal("{"), "invalid JSON"));
    CHECK(contains(refusal("{\"type\":\"ack\",\"seq\":1}x"), "invalid JSON"));
    CHECK(contains(refusal("[]"), "not a JSON object"));
    CHECK(contains(refusal("\"welcome\""), "not a JSON object"));
    CHECK(contains(refusal("42"), "not a JSON object"));
    CHECK(contains(refusal("null"), "not a JSON object"));
    CHECK(contains(refusal("{}"), "no type"));
    CHECK(contains(refusal("{\"seq\":1}"), "no type"));
    CHECK(contains(refusal("{\"type\":7}"), "type must be a string"));
    CHECK(contains(refusal("{\"type\":null}"), "type must be a string"));
    CHECK(contains(refusal("{\"type\":[\"ack\"]}"), "type must be a string"));
}

TEST_CASE("messages: binary junk and invalid UTF-8 are refused, not thrown") {
    const std::string junk[] = {
        std::string("\x00\x01\x02\xff\xfe", 5),
        std::string("\xff\xfe{\"type\":\"collect\"}"),
        std::string("{\"type\":\"collect\",\"x\":\"\xff\"}"),
        std::string("{\"type\":\"coll\xc3\"}"),                        // truncated sequence
        std::string("{\"type\":\"collect\",\"x\":\"\xc0\xaf\"}"),      // overlong '/'
        std::string("{\"type\":\"collect\",\"x\":\"\xed\xa0\x80\"}"),  // a surrogate
        std::string("{\"type\":\"collect\"}\0", 20),
    };
    for (const std::string& frame : junk) {
        CAPTURE(frame);
        CHECK(contains(refusal(frame), "invalid JSON"));
    }
    // Valid UTF-8 is fine, also as escapes.
    CHECK(decode_as<UnknownMessage>("{\"type\":\"caf\xc3\xa9\"}").type == "caf\xc3\xa9");
    CHECK(decode_as<UnknownMessage>("{\"type\":\"caf\\u00e9\"}").type == "caf\xc3\xa9");
}

TEST_CASE("messages: duplicate member names are refused, also nested") {
    CHECK(contains(refusal("{\"type\":\"ack\",\"seq\":1,\"seq\":2}"), "duplicate member name"));
    CHECK(contains(refusal("{\"type\":\"ack\",\"type\":\"collect\",\"seq\":1}"), "duplicate"));
    Json app = valid_app();
    std::string entry = app.dump();
    entry.insert(entry.size() - 1, ",\"id\":\"app-2\"");
    CHECK(contains(refusal("{\"type\":\"apps\",\"apps\":[" + entry + "]}"), "duplicate"));
}

TEST_CASE("messages: nesting is capped at 32 levels") {
    auto nested = [](int depth) {
        return "{\"type\":\"collect\",\"x\":" + std::string(depth - 1, '[') +
               std::string(depth - 1, ']') + "}";
    };
    CHECK(std::holds_alternative<CollectRequest>(decode_ok(nested(32))));
    CHECK(contains(refusal(nested(33)), "nesting deeper than 32"));
    // A bomb far past the cap is refused before nlohmann sees it.
    CHECK(contains(refusal(std::string(100000, '[')), "nesting deeper than 32"));
}

TEST_CASE("messages: frames are capped at 1 MiB") {
    auto padded = [](std::size_t total) {
        const std::string head = "{\"type\":\"collect\",\"pad\":\"";
        const std::string tail = "\"}";
        return head + std::string(total - head.size() - tail.size(), 'x') + tail;
    };
    CHECK(std::holds_alternative<CollectRequest>(decode_ok(padded(max_hub_frame_bytes))));
    std::string why = refusal(padded(max_hub_frame_bytes + 1));
    CHECK(contains(why, "invalid JSON"));
    CHECK(contains(why, "exceeds the limit of 1048576"));
}

TEST_CASE("messages: unknown types are passed on by name") {
    CHECK(decode_as<UnknownMessage>("{\"type\":\"shutdown\",\"now\":true}").type == "shutdown");
    CHECK(contains(refusal("{\"type\":\"\"}"), "type must be a non-empty string"));
    CHECK(contains(refusal(Json{{"type", std::string(256, 'x')}}.dump()), "at most 255"));
    CHECK(decode_as<UnknownMessage>(Json{{"type", std::string(255, 'x')}}.dump()).type.size() ==
          255);
    CHECK(contains(refusal("{\"type\":\"evil\\nline\"}"), "control characters"));
    // Known names are case-sensitive.
    CHECK(decode_as<UnknownMessage>("{\"type\":\"ACK\",\"seq\":1}").type == "ACK");
}

// ---------------------------------------------------------------------------------------------
// welcome and apps

TEST_CASE("messages: welcome as documented") {
    const Json example = documented_examples().at("welcome");
    Welcome welcome = decode_as<Welcome>(example.dump());
    CHECK(welcome.server_time == "2026-11-28T09:14:02.950Z");
    REQUIRE(welcome.apps.size() == 2);
    CHECK(welcome.dropped_apps.empty());

    const TrackedApp& web = welcome.apps[0];
    CHECK(web.id == "app-7");
    CHECK(web.name == "web");
    CHECK(web.type == AppType::systemd);
    CHECK(web.identifier == "nginx.service");
    CHECK(web.expected_state == "running");
    CHECK_FALSE(web.restart_command);

    const TrackedApp& worker = welcome.apps[1];
    CHECK(worker.type == AppType::process);
    CHECK(worker.identifier == "/opt/worker/run.sh");
    REQUIRE(worker.restart_command);
    CHECK(*worker.restart_command == "/opt/worker/restart.sh");

    REQUIRE(welcome.intervals.state_interval_secs);
    CHECK(*welcome.intervals.state_interval_secs == 60);
    REQUIRE(welcome.intervals.inventory_interval_secs);
    CHECK(*welcome.intervals.inventory_interval_secs == 21600);
}

TEST_CASE("messages: welcome needs apps, the rest is optional") {
    Welcome minimal = decode_as<Welcome>("{\"type\":\"welcome\",\"apps\":[]}");
    CHECK(minimal.apps.empty());
    CHECK(minimal.server_time.empty());
    CHECK_FALSE(minimal.intervals.state_interval_secs);
    CHECK_FALSE(minimal.intervals.inventory_interval_secs);

    CHECK(refusal("{\"type\":\"welcome\"}") == "welcome: apps is missing");
    CHECK(refusal("{\"type\":\"welcome\",\"apps\":{}}") == "welcome: apps must be an array");
    CHECK(refusal("{\"type\":\"welcome\",\"apps\":null}") == "welcome: apps must be an array");
    CHECK(contains(refusal("{\"type\":\"welcome\",\"apps\":[],\"server_time\":5}"),
                   "server_time must be a string"));
    CHECK(decode_as<Welcome>("{\"type\":\"welcome\",\"apps\":[],\"server_time\":null}")
              .server_time.empty());
}

TEST_CASE("messages: interval overrides are integers, kept as given") {
    auto welcome_with = [](const std::string& members) {
        return "{\"type\":\"welcome\",\"apps\":[]," + members + "}";
    };
    Welcome odd = decode_as<Welcome>(
        welcome_with("\"state_interval_secs\":-5,\"inventory_interval_secs\":0"));
    CHECK(*odd.intervals.state_interval_secs == -5);
    CHECK(*odd.intervals.inventory_interval_secs == 0);

    Welcome large = decode_as<Welcome>(welcome_with("\"state_interval_secs\":9223372036854775807"));
    CHECK(*large.intervals.state_interval_secs == 9223372036854775807);

    Welcome null_is_absent = decode_as<Welcome>(welcome_with("\"state_interval_secs\":null"));
    CHECK_FALSE(null_is_absent.intervals.state_interval_secs);

    CHECK(refusal(welcome_with("\"state_interval_secs\":\"60\"")) ==
          "welcome: state_interval_secs must be an integer");
    CHECK(refusal(welcome_with("\"state_interval_secs\":60.5")) ==
          "welcome: state_interval_secs must be an integer");
    CHECK(refusal(welcome_with("\"inventory_interval_secs\":1e3")) ==
          "welcome: inventory_interval_secs must be an integer");
    CHECK(refusal(welcome_with("\"inventory_interval_secs\":true")) ==
          "welcome: inventory_interval_secs must be an integer");
    CHECK(refusal(welcome_with("\"state_interval_secs\":9223372036854775808")) ==
          "welcome: state_interval_secs is out of range");
    CHECK(refusal(welcome_with("\"state_interval_secs\":18446744073709551616")) ==
          "welcome: state_interval_secs must be an integer");
}

TEST_CASE("messages: apps replaces the list") {
    CHECK(decode_as<AppsUpdate>("{\"type\":\"apps\",\"apps\":[]}").apps.empty());
    AppsUpdate update =
        decode_as<AppsUpdate>(apps_frame(Json::array({valid_app("a"), valid_app("b")})));
    REQUIRE(update.apps.size() == 2);
    CHECK(update.apps[0].id == "a");
    CHECK(update.apps[1].id == "b");
    CHECK(update.dropped_apps.empty());
    CHECK(refusal("{\"type\":\"apps\"}") == "apps: apps is missing");
    CHECK(refusal("{\"type\":\"apps\",\"apps\":\"app-1\"}") == "apps: apps must be an array");
}

TEST_CASE("messages: more than 1000 apps refuses the whole message") {
    Json apps = Json::array();
    for (std::size_t i = 0; i < max_tracked_apps; ++i)
        apps.push_back(valid_app("app-" + std::to_string(i)));
    CHECK(decode_as<AppsUpdate>(apps_frame(apps)).apps.size() == max_tracked_apps);
    CHECK(decode_as<Welcome>(apps_frame(apps, "welcome")).apps.size() == max_tracked_apps);

    apps.push_back(valid_app("one-too-many"));
    CHECK(refusal(apps_frame(apps)) == "apps: 1001 apps, more than the 1000 an agent tracks");
    CHECK(contains(refusal(apps_frame(apps, "welcome")), "welcome: 1001 apps"));
    // Malformed entries count too: the cap is on what the hub sent.
    Json junk = Json::array();
    for (std::size_t i = 0; i <= max_tracked_apps; ++i) junk.push_back(nullptr);
    CHECK(contains(refusal(apps_frame(junk)), "1001 apps"));
}

TEST_CASE("messages: a malformed app entry is dropped with a reason, the others kept") {
    struct Case {
        Json entry;
        std::string reason;
    };
    auto with = [](const char* key, Json value) {
        Json app = valid_app("bad");
        app[key] = std::move(value);
        return app;
    };
    auto without = [](const char* key) {
        Json app = valid_app("bad");
        app.erase(key);
        return app;
    };
    const Case cases[] = {
        {Json("app-1"), "not an object"},
        {Json::array(), "not an object"},
        {without("id"), "id must be a string of 1 to 128 bytes"},
        {with("id", 7), "id must be a string of 1 to 128 bytes"},
        {with("id", ""), "id must be a string of 1 to 128 bytes"},
        {with("id", std::string(129, 'a')), "id must be a string of 1 to 128 bytes"},
        {with("id", "app\n2"), "id must be a string of 1 to 128 bytes"},
        {with("id", "app 2"), "id must be a string of 1 to 128 bytes"},  // the app id grammar
        {with("id", "app/2"), "id must be a string of 1 to 128 bytes"},
        {without("name"), "app \"bad\": name must be"},
        {with("name", nullptr), "name must be"},
        {with("name", std::string(256, 'n')), "name must be"},
        {without("app_type"), "app_type must be systemd, docker, compose or process"},
        {with("app_type", "kubernetes"), "app_type must be"},
        {with("app_type", "Systemd"), "app_type must be"},
        {without("identifier"), "identifier must be a string"},
        {with("identifier", 5), "identifier must be a string"},
        {with("identifier", "nginx"), "not a valid systemd unit name"},
        {with("identifier", "nginx.service; reboot"), "not a valid systemd unit name"},
        {without("expected_state"), "expected_state must be \"running\" or \"stopped\""},
        {with("expected_state", "paused"), "expected_state must be"},
        {with("expected_state", true), "expected_state must be"},
        {with("restart_command", "/opt/restart.sh"), "only allowed for process apps"},
    };
    Json apps = Json::array({valid_app("good-1")});
    for (const Case& c : cases) apps.push_back(c.entry);
    apps.push_back(valid_app("good-2"));

    AppsUpdate update = decode_as<AppsUpdate>(apps_frame(apps));
    REQUIRE(update.apps.size() == 2);
    CHECK(update.apps[0].id == "good-1");
    CHECK(update.apps[1].id == "good-2");
    REQUIRE(update.dropped_apps.size() == std::size(cases));
    for (std::size_t i = 0; i < std::size(cases); ++i) {
        const std::string& reason = update.dropped_apps[i];
        CAPTURE(reason);
        CHECK(reason.rfind("apps[" + std::to_string(i + 1) + "]: ", 0) == 0);
        CHECK(contains(reason, cases[i].reason));
        CHECK(reason.find('\n') == std::string::npos);
    }
}

TEST_CASE("messages: identifiers follow the grammar of each app type") {
    auto app = [](const char* type, const char* identifier) {
        Json entry = valid_app();
        entry["app_type"] = type;
        entry["identifier"] = identifier;
        return entry;
    };
    struct Case {
        Json entry;
        bool kept;
    };
    const Case cases[] = {
        {app("systemd", "getty@tty1.service"), true},
        {app("systemd", "../etc/passwd"), false},
        {app("docker", "web-1"), true},
        {app("docker", "-rm"), false},
        {app("compose", "shop::web"), true},
        {app("compose", "shop"), false},
        {app("process", "/opt/worker/run.sh"), true},
        {app("process", "worker/run.sh"), false},
        {app("process", "/opt/../bin/sh"), false},
    };
    for (const Case& c : cases) {
        CAPTURE(c.entry.dump());
        AppsUpdate update = decode_as<AppsUpdate>(apps_frame(Json::array({c.entry})));
        CHECK(update.apps.size() == (c.kept ? 1u : 0u));
        CHECK(update.dropped_apps.size() == (c.kept ? 0u : 1u));
    }
}

TEST_CASE(
    "messages: restart_command is an absolute path of at most 4096 bytes, process apps only") {
    auto process_app = [](Json command) {
        Json entry = valid_app();
        entry["app_type"] = "process";
        entry["identifier"] = "/opt/worker/run.sh";
        entry["restart_command"] = std::move(command);
        return entry;
    };
    auto decode_one = [](const Json& entry) {
        return decode_as<AppsUpdate>(apps_frame(Json::array({entry})));
    };
    CHECK(*decode_one(process_app("/opt/worker/restart.sh")).apps.at(0).restart_command ==
          "/opt/worker/restart.sh");
    CHECK_FALSE(decode_one(process_app(nullptr)).apps.at(0).restart_command);
    Json no_command = process_app(nullptr);
    no_command.erase("restart_command");
    CHECK_FALSE(decode_one(no_command).apps.at(0).restart_command);

    const std::string at_cap = "/" + std::string(4095, 'r');
    CHECK(decode_one(process_app(at_cap)).apps.size() == 1);
    for (Json bad : {Json("restart.sh"), Json("/opt/./restart.sh"), Json("/opt/restart.sh/"),
                     Json("/opt/restart sh\n"), Json(42), Json::array({"/bin/true"}),
                     Json("/" + std::string(4096, 'r'))}) {
        CAPTURE(bad.dump().substr(0, 40));
        AppsUpdate update = decode_one(process_app(bad));
        CHECK(update.apps.empty());
        REQUIRE(update.dropped_apps.size() == 1);
        CHECK(contains(update.dropped_apps[0],
                       "restart_command must be an absolute, normalized path"));
    }
}

TEST_CASE("messages: a repeated app id keeps the first entry") {
    Json second = valid_app("app-1");
    second["name"] = "other";
    AppsUpdate update =
        decode_as<AppsUpdate>(apps_frame(Json::array({valid_app("app-1"), second})));
    REQUIRE(update.apps.size() == 1);
    CHECK(update.apps[0].name == "web");
    REQUIRE(update.dropped_apps.size() == 1);
    CHECK(update.dropped_apps[0] == "apps[1]: id \"app-1\" appears more than once");
}

TEST_CASE("messages: unknown members of an app entry are ignored") {
    Json entry = valid_app();
    entry["labels"] = {{"team", "web"}};
    CHECK(decode_as<AppsUpdate>(apps_frame(Json::array({entry}))).apps.size() == 1);
}

TEST_CASE("messages: TrackedApp round trip") {
    TrackedApp plain{"app-7", "web", AppType::docker, "web-1", "stopped", std::nullopt};
    TrackedApp process{"app-9",          "worker",
                       AppType::process, "/opt/worker/run.sh",
                       "running",        "/opt/worker/restart.sh"};
    for (const TrackedApp& app : {plain, process}) {
        Json json = to_json(app);
        auto back = tracked_app_from_json(json);
        REQUIRE(back);
        CHECK(back->id == app.id);
        CHECK(back->name == app.name);
        CHECK(back->type == app.type);
        CHECK(back->identifier == app.identifier);
        CHECK(back->expected_state == app.expected_state);
        CHECK(back->restart_command == app.restart_command);
        CHECK(to_json(*back) == json);
    }
    Json json = to_json(plain);
    CHECK(json == Json{{"id", "app-7"},
                       {"name", "web"},
                       {"app_type", "docker"},
                       {"identifier", "web-1"},
                       {"expected_state", "stopped"}});
    CHECK(to_json(process).at("restart_command") == "/opt/worker/restart.sh");
    // The documented entries are exactly what to_json writes.
    const Json documented = documented_examples().at("welcome").at("apps");
    for (const Json& entry : documented) CHECK(to_json(*tracked_app_from_json(entry)) == entry);
}

// ---------------------------------------------------------------------------------------------
// action, collect, ack, error

TEST_CASE("messages: action carries the token") {
    const Json example = documented_examples().at("action");
    CHECK(decode_as<ActionRequest>(example.dump()).eat == example.at("eat"));
    CHECK(refusal("{\"type\":\"action\"}") == "action: eat must be a non-empty string");
    CHECK(refusal("{\"type\":\"action\",\"eat\":\"\"}") ==
          "action: eat must be a non-empty string");
    CHECK(refusal("{\"type\":\"action\",\"eat\":{\"jwt\":\"x\"}}") ==
          "action: eat must be a non-empty string");
    CHECK(decode_as<ActionRequest>(Json{{"type", "action"}, {"eat", std::string(8192, 'e')}}.dump())
              .eat.size() == 8192);
    CHECK(refusal(Json{{"type", "action"}, {"eat", std::string(8193, 'e')}}.dump()) ==
          "action: eat is longer than 8192 bytes");
}

TEST_CASE("messages: collect") {
    CHECK(std::holds_alternative<CollectRequest>(
        decode_ok(documented_examples().at("collect").dump())));
    CHECK(std::holds_alternative<CollectRequest>(decode_ok("{\"type\":\"collect\",\"why\":1}")));
}

TEST_CASE("messages: ack.seq is a positive integer within uint64") {
    CHECK(decode_as<Ack>(documented_examples().at("ack").dump()).seq == 44);
    CHECK(decode_as<Ack>("{\"type\":\"ack\",\"seq\":1}").seq == 1);
    CHECK(decode_as<Ack>("{\"type\":\"ack\",\"seq\":18446744073709551615}").seq ==
          18446744073709551615u);
    for (const char* bad : {
             "{\"type\":\"ack\"}",
             "{\"type\":\"ack\",\"seq\":0}",
             "{\"type\":\"ack\",\"seq\":-1}",
             "{\"type\":\"ack\",\"seq\":-9223372036854775808}",
             "{\"type\":\"ack\",\"seq\":18446744073709551616}",
             "{\"type\":\"ack\",\"seq\":99999999999999999999999}",
             "{\"type\":\"ack\",\"seq\":1.5}",
             "{\"type\":\"ack\",\"seq\":4.0}",
             "{\"type\":\"ack\",\"seq\":1e2}",
             "{\"type\":\"ack\",\"seq\":\"44\"}",
             "{\"type\":\"ack\",\"seq\":null}",
             "{\"type\":\"ack\",\"seq\":true}",
             "{\"type\":\"ack\",\"seq\":[44]}",
         }) {
        CAPTURE(bad);
        CHECK(refusal(bad) == "ack: seq must be a positive integer");
    }
}

TEST_CASE("messages: error") {
    HubError error = decode_as<HubError>(documented_examples().at("error").dump());
    CHECK(error.code == "bad_message");
    CHECK(error.message == "state: apps must be an array");

    CHECK(decode_as<HubError>("{\"type\":\"error\",\"code\":\"busy\"}").message.empty());
    CHECK(contains(refusal("{\"type\":\"error\",\"message\":\"x\"}"), "error: code must be"));
    CHECK(contains(refusal("{\"type\":\"error\",\"code\":3}"), "error: code must be"));
    CHECK(contains(refusal("{\"type\":\"error\",\"code\":\"\"}"), "error: code must be"));
    CHECK(contains(refusal("{\"type\":\"error\",\"code\":\"x\",\"message\":[]}"),
                   "error: message must be a string"));
    CHECK(contains(
        refusal(Json{{"type", "error"}, {"code", "x"}, {"message", std::string(4097, 'm')}}.dump()),
        "at most 4096 bytes"));
}

// ---------------------------------------------------------------------------------------------
// agent -> hub

TEST_CASE("messages: hello is exactly the documented example") {
    const Json example = documented_examples().at("hello");
    HelloFields hello;
    hello.agent_id = example.at("agent_id");
    hello.version = example.at("version");
    hello.hostname = example.at("hostname");
    hello.boot_id = example.at("boot_id");
    hello.tags = example.at("tags").get<std::vector<std::string>>();
    hello.last_acked_seq = example.at("last_acked_seq");
    hello.action_key = example.at("action_key");
    hello.dropped.results_evicted = example.at("dropped").at("results_evicted");
    hello.dropped.refusals_evicted = example.at("dropped").at("refusals_evicted");
    hello.dropped.refusals_suppressed = example.at("dropped").at("refusals_suppressed");
    hello.dropped.action_frames_dropped = example.at("dropped").at("action_frames_dropped");
    const std::string text = encode_hello(hello);
    CHECK(Json::parse(text) == example);
    CHECK(text.find('\n') == std::string::npos);
    CHECK_FALSE(Json::parse(text).contains("seq"));

    HelloFields empty;
    Json fresh = Json::parse(encode_hello(empty));
    CHECK(fresh.at("tags") == Json::array());
    CHECK(fresh.at("last_acked_seq") == 0);
    CHECK(fresh.at("action_key").is_null());  // present, null: the agent could not read the key
    CHECK(fresh.at("dropped") == Json{{"results_evicted", 0},
                                      {"refusals_evicted", 0},
                                      {"refusals_suppressed", 0},
                                      {"action_frames_dropped", 0}});
}

TEST_CASE("messages: the documented action_key is a valid key document") {
    const Json key = documented_examples().at("hello").at("action_key");
    CHECK(monsys::results::check_public_key_document(key));
}

TEST_CASE("messages: hello with bytes that are not UTF-8 does not throw") {
    HelloFields hello;
    hello.hostname = "web\xff-01";
    std::string text;
    CHECK_NOTHROW(text = encode_hello(hello));
    Json parsed = Json::parse(text, nullptr, false);
    REQUIRE_FALSE(parsed.is_discarded());
    CHECK(parsed.at("hostname") == "web\xef\xbf\xbd-01");
}

TEST_CASE("messages: inventory is exactly the documented example once stamped") {
    const Json example = documented_examples().at("inventory");
    Json message = make_inventory_message(example.at("inventory"), utc(example.at("collected_at")));
    CHECK_FALSE(message.contains("seq"));
    message["seq"] = example.at("seq");
    CHECK(message == example);
}

TEST_CASE("messages: state is exactly the documented example once stamped") {
    const Json example = documented_examples().at("state");
    std::vector<AppStateReport> apps;
    for (const Json& app : example.at("apps")) {
        const std::string observed = app.at("observed");
        apps.push_back({app.at("id"),
                        observed == "running"
                            ? AppState::running
                            : (observed == "stopped" ? AppState::stopped : AppState::unknown),
                        app.at("detail"), utc(app.at("changed_at"))});
    }
    Json message = make_state_message(apps, utc(example.at("observed_at")));
    CHECK_FALSE(message.contains("seq"));
    message["seq"] = example.at("seq");
    CHECK(message == example);

    Json none = make_state_message({}, utc(example.at("observed_at")));
    CHECK(none.at("apps") == Json::array());
    Json unknown = make_state_message({{"a", AppState::unknown, "", {}}}, {});
    CHECK(unknown.at("apps").at(0).at("observed") == "unknown");
    CHECK(unknown.at("apps").at(0).at("changed_at") == "1970-01-01T00:00:00.000Z");
}

TEST_CASE("messages: action_result is exactly the documented example once stamped") {
    const Json example = documented_examples().at("action_result");
    Json message = make_action_result_message(example.at("jti").get<std::string>(),
                                              example.at("reported_by").get<std::string>(),
                                              example.at("result"),
                                              example.at("result_jws").get<std::string>());
    CHECK_FALSE(message.contains("seq"));
    message["seq"] = example.at("seq");
    CHECK(message == example);

    // Without a JWS (a result the agent built) the member is absent, not null.
    Json unsigned_message = make_action_result_message("j", "agent", Json::object());
    CHECK_FALSE(unsigned_message.contains("result_jws"));
}

TEST_CASE("messages: the documented result_jws verifies with the documented key over result") {
    const auto examples = documented_examples();
    const Json& example = examples.at("action_result");
    auto key = monsys::results::public_key_from_jwk(
        examples.at("hello").at("action_key").at("jwk"));
    REQUIRE(key);
    auto verified = monsys::results::verify_compact(example.at("result_jws").get<std::string>(),
                                                    monsys::results::result_jws_type, *key);
    REQUIRE(verified);
    CHECK(verified->kid == examples.at("hello").at("action_key").at("kid"));
    // The payload is the result as monsys-action prints it (one line, nlohmann's member order).
    CHECK(verified->payload == example.at("result").dump());
}

TEST_CASE("messages: every documented hub message decodes") {
    const auto examples = documented_examples();
    for (const char* type : {"welcome", "apps", "action", "collect", "ack", "error"}) {
        CAPTURE(type);
        REQUIRE(examples.count(type) == 1);
        auto decoded = decode_hub_message(examples.at(type).dump());
        CHECK(decoded);
        if (decoded) CHECK_FALSE(std::holds_alternative<UnknownMessage>(*decoded));
    }
}
