// The async Engine API client against a scripted engine on a private Unix socket: keep-alive
// reuse, an engine that closes between requests, a silent engine, an oversized header, a missing
// socket, and that every handler runs once, on the executor, never inside the call.
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/io/docker/async_client.hpp"

using monsys::Expected;
using monsys::io::DockerSettings;
using monsys::io::docker::AsyncDockerClient;
using monsys::io::docker::Response;
using namespace std::chrono_literals;

namespace {

// One accepted connection, as the script sees it.
class Conn {
  public:
    explicit Conn(int fd) : fd_(fd) {}
    // The next request head ("GET /_ping HTTP/1.1\r\n..."), or "" once the client closed.
    std::string read_request() {
        for (;;) {
            auto end = pending_.find("\r\n\r\n");
            if (end != std::string::npos) {
                std::string head = pending_.substr(0, end + 4);
                pending_.erase(0, end + 4);
                return head;
            }
            char chunk[1024];
            ssize_t n = ::read(fd_, chunk, sizeof chunk);
            if (n <= 0) return {};
            pending_.append(chunk, static_cast<std::size_t>(n));
        }
    }
    void send(const std::string& text) {
        std::size_t at = 0;
        while (at < text.size()) {
            ssize_t n = ::write(fd_, text.data() + at, text.size() - at);
            if (n <= 0) return;
            at += static_cast<std::size_t>(n);
        }
    }

  private:
    int fd_;
    std::string pending_;
};

using Script = std::function<void(Conn& conn, int connection_number)>;

class FakeEngine {
  public:
    explicit FakeEngine(Script script) : script_(std::move(script)) {
        char dir[] = "/tmp/monsys-client-XXXXXX";
        REQUIRE(::mkdtemp(dir) != nullptr);
        dir_ = dir;
        path_ = dir_ + "/docker.sock";
        listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(listener_ >= 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path_.c_str());
        REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
        REQUIRE(::listen(listener_, 8) == 0);
        thread_ = std::thread([this] {
            for (int number = 1;; ++number) {
                int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
                if (fd < 0) return;
                ++connections;
                Conn conn(fd);
                script_(conn, number);
                ::close(fd);
            }
        });
    }
    ~FakeEngine() {
        stopping = true;
        ::shutdown(listener_, SHUT_RDWR);
        ::close(listener_);
        if (thread_.joinable()) thread_.join();
        ::unlink(path_.c_str());
        ::rmdir(dir_.c_str());
    }
    const std::string& path() const { return path_; }

    void record(const std::string& head) {
        std::lock_guard lock(mutex_);
        requests_.push_back(head.substr(0, head.find("\r\n")));
    }
    std::vector<std::string> requests() {
        std::lock_guard lock(mutex_);
        return requests_;
    }

    std::atomic<int> connections{0};
    std::atomic<bool> stopping{false};

  private:
    Script script_;
    std::string dir_;
    std::string path_;
    int listener_ = -1;
    std::thread thread_;
    std::mutex mutex_;
    std::vector<std::string> requests_;
};

std::string reply(const std::string& body, const std::string& extra_headers = {}) {
    return "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: application/json\r\n" +
           extra_headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// Answers every request on the connection: /_ping with its version, anything else with the
// request line as body, until the client closes.
void serve_all(FakeEngine& engine, Conn& conn) {
    for (;;) {
        std::string head = conn.read_request();
        if (head.empty()) return;
        engine.record(head);
        std::string line = head.substr(0, head.find("\r\n"));
        conn.send(reply(line.find("/_ping") != std::string::npos ? "OK" : line));
    }
}

struct Client {
    monsys::asio::io_context io;
    std::shared_ptr<AsyncDockerClient> client;

    explicit Client(const std::string& socket, std::chrono::milliseconds timeout = 2000ms) {
        DockerSettings settings;
        settings.socket_path = socket;
        settings.timeout = timeout;
        client = AsyncDockerClient::create(io.get_executor(), settings);
    }
    // Runs the executor until `done` holds (or 5 s pass).
    void run_until(const std::function<bool()>& done) {
        auto until = std::chrono::steady_clock::now() + 5s;
        while (!done() && std::chrono::steady_clock::now() < until) {
            io.restart();
            io.run_for(10ms);
        }
    }
};

using Result = Expected<Response, std::string>;

}  // namespace

TEST_CASE("async client: queued requests share one kept-alive connection, in order") {
    FakeEngine engine([&engine](Conn& conn, int) { serve_all(engine, conn); });
    Client c(engine.path());
    std::vector<std::string> bodies;
    int completions = 0;
    bool inline_call = true;
    for (const char* path : {"/a", "/b?x=1", "/c"}) {
        c.client->get(path, [&, path](Result result) {
            CHECK_FALSE(inline_call);
            ++completions;
            REQUIRE_MESSAGE(result, (result ? "" : result.error()));
            CHECK(result->status == 200);
            bodies.push_back(result->body);
        });
    }
    inline_call = false;
    CHECK(completions == 0);  // nothing completes inside the call
    c.run_until([&] { return completions == 3; });
    REQUIRE(completions == 3);
    CHECK(bodies == std::vector<std::string>{"GET /v1.41/a HTTP/1.1", "GET /v1.41/b?x=1 HTTP/1.1",
                                             "GET /v1.41/c HTTP/1.1"});
    CHECK(c.client->connections_opened() == 1);
    CHECK(engine.connections == 1);
    // The version is negotiated once for the connection.
    CHECK(engine.requests() ==
          std::vector<std::string>{"GET /_ping HTTP/1.1", "GET /v1.41/a HTTP/1.1",
                                   "GET /v1.41/b?x=1 HTTP/1.1", "GET /v1.41/c HTTP/1.1"});

    // A later request still uses the same connection.
    bool done = false;
    c.client->get("/d", [&](Result result) {
        CHECK(result);
        done = true;
    });
    c.run_until([&] { return done; });
    CHECK(done);
    CHECK(engine.connections == 1);
}

TEST_CASE("async client: an engine that closes between requests is reconnected to") {
    bool announce_close = false;
    SUBCASE("silently") {
        announce_close = false;
    }
    SUBCASE("with Connection: close") {
        announce_close = true;
    }
    FakeEngine engine([&engine, announce_close](Conn& conn, int) {
        // Each connection: the ping, one request, then the engine closes it.
        for (int i = 0; i < 2; ++i) {
            std::string head = conn.read_request();
            if (head.empty()) return;
            engine.record(head);
            std::string line = head.substr(0, head.find("\r\n"));
            conn.send(reply(line, i == 1 && announce_close ? "Connection: close\r\n" : ""));
        }
    });
    Client c(engine.path());
    std::vector<std::string> bodies;
    for (int round = 0; round < 3; ++round) {
        bool done = false;
        c.client->get("/containers/json", [&](Result result) {
            REQUIRE_MESSAGE(result, (result ? "" : result.error()));
            bodies.push_back(result->body);
            done = true;
        });
        c.run_until([&] { return done; });
        REQUIRE(done);
        // Let the engine's close reach the client first.
        std::this_thread::sleep_for(50ms);
    }
    CHECK(bodies.size() == 3);
    CHECK(engine.connections == 3);
    CHECK(c.client->connections_opened() == 3);
}

TEST_CASE("async client: a silent engine fails the step within its timeout") {
    FakeEngine engine([&engine](Conn& conn, int) {
        conn.read_request();
        while (!engine.stopping) std::this_thread::sleep_for(5ms);
    });
    Client c(engine.path(), 200ms);
    std::optional<Result> got;
    auto start = std::chrono::steady_clock::now();
    c.client->get("/containers/json", [&](Result result) { got = std::move(result); });
    c.run_until([&] { return got.has_value(); });
    auto took = std::chrono::steady_clock::now() - start;
    REQUIRE(got);
    REQUIRE_FALSE(*got);
    CHECK(got->error().find("no progress within 200 ms") != std::string::npos);
    CHECK(got->error().find("read the response") != std::string::npos);
    CHECK(took < 1500ms);
}

TEST_CASE("async client: an oversized header is refused") {
    FakeEngine engine([](Conn& conn, int) {
        conn.read_request();
        conn.send("HTTP/1.1 200 OK\r\nX-Big: " + std::string(100 * 1024, 'x') +
                  "\r\nContent-Length: 0\r\n\r\n");
    });
    Client c(engine.path());
    std::optional<Result> got;
    c.client->get("/containers/json", [&](Result result) { got = std::move(result); });
    c.run_until([&] { return got.has_value(); });
    REQUIRE(got);
    REQUIRE_FALSE(*got);
    CHECK(got->error().find("size limit") != std::string::npos);
}

TEST_CASE("async client: no socket fails at once with the step named; close() fails the rest") {
    Client c("/tmp/monsys-no-such-dir/docker.sock");
    std::optional<Result> first;
    c.client->get("/containers/json", [&](Result result) { first = std::move(result); });
    c.run_until([&] { return first.has_value(); });
    REQUIRE(first);
    REQUIRE_FALSE(*first);
    CHECK(first->error().find("cannot connect to the Docker socket") != std::string::npos);

    int failed = 0;
    bool version_failed = false;
    c.client->get("/a", [&](Result result) { failed += result ? 0 : 1; });
    c.client->api_version(
        [&](Expected<monsys::io::docker::ApiVersion, std::string> v) { version_failed = !v; });
    c.client->close();
    c.client->get("/b", [&](Result result) { failed += result ? 0 : 1; });
    c.run_until([&] { return failed == 2 && version_failed; });
    CHECK(failed == 2);
    CHECK(version_failed);
}

TEST_CASE("async client: without Api-Version on /_ping the version comes from /version") {
    FakeEngine engine([&engine](Conn& conn, int) {
        for (;;) {
            std::string head = conn.read_request();
            if (head.empty()) return;
            engine.record(head);
            std::string line = head.substr(0, head.find("\r\n"));
            std::string body = line.find("/version") != std::string::npos
                                   ? R"({"ApiVersion":"1.40","Version":"19.03"})"
                                   : line;
            conn.send("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                      "\r\n\r\n" + body);
        }
    });
    Client c(engine.path());
    std::optional<Result> got;
    std::string version;
    c.client->api_version([&](Expected<monsys::io::docker::ApiVersion, std::string> v) {
        if (v) version = v->to_string();
    });
    c.client->get("/containers/json", [&](Result result) { got = std::move(result); });
    c.run_until([&] { return got.has_value(); });
    REQUIRE(got);
    REQUIRE(*got);
    CHECK(version == "1.40");
    CHECK((*got)->body == "GET /v1.40/containers/json HTTP/1.1");
    CHECK(engine.requests() == std::vector<std::string>{"GET /_ping HTTP/1.1",
                                                        "GET /version HTTP/1.1",
                                                        "GET /v1.40/containers/json HTTP/1.1"});
}
