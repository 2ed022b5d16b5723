#pragma once
// The Docker Engine API client on the caller's executor (HTTP/1.1 over the engine's Unix socket,
// Boost.Beast). One keep-alive connection serves every request: requests are queued and sent one
// at a time; a connection the engine closed is opened again on the next request (a GET that
// fails because the engine closed an idle connection under it is sent once more on a fresh one).
// The API version is negotiated once per connection (GET /_ping, then GET /version), as the
// blocking DockerClient does once per client, so an engine upgraded between connections is
// spoken to in its new version.
//
// Every step (connect, write, read) has a deadline and every reply is capped (Limits). Each
// handler runs exactly once, on the executor, never inside the call that queued it, with the
// response or a one-line reason naming the failed step. Not thread-safe: use it from the
// executor's thread.
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/io/asio.hpp"
#include "common/io/docker/api_version.hpp"
#include "common/io/docker/docker_client.hpp"
#include "common/io/docker/docker_settings.hpp"
#include "common/io/docker/response.hpp"
#include "common/util/expected.hpp"

namespace monsys::io::docker {

class AsyncDockerClient : public std::enable_shared_from_this<AsyncDockerClient> {
  public:
    using Handler = std::function<void(Expected<Response, std::string>)>;
    using VersionHandler = std::function<void(Expected<ApiVersion, std::string>)>;

    static std::shared_ptr<AsyncDockerClient> create(asio::any_io_executor executor,
                                                     DockerSettings settings, Limits limits = {});

    // A request on the versioned API: `path` ("/containers/json?all=1", already encoded) is
    // sent as "/v<negotiated>/containers/json?all=1". `timeout` 0 = the settings' step timeout.
    void get(std::string path, Handler done, std::chrono::milliseconds timeout = {});
    void request(Method method, std::string path, std::string body,
                 std::chrono::milliseconds timeout, Handler done);
    // A request on an unversioned target ("/_ping"), as given.
    void raw(Request request, Handler done);

    // The version spoken on the current connection (connecting and negotiating if needed).
    void api_version(VersionHandler done);

    // Closes the connection; every queued or running request, and any made later, completes
    // with an error.
    void close();

    // Connections opened so far (tests check the keep-alive reuse with it).
    std::size_t connections_opened() const { return connections_opened_; }

    // Public for make_shared only; use create().
    AsyncDockerClient(asio::any_io_executor executor, DockerSettings settings, Limits limits);

  private:
    using Stream = beast::basic_stream<asio::local::stream_protocol>;
    enum class Phase { ping, version, request };

    struct Pending {
        Method method = Method::get;
        std::string target;  // versionless path when `versioned`, else the whole target
        std::string body;
        std::chrono::milliseconds timeout{0};
        bool versioned = true;
        bool retried = false;
        Handler done;                 // a request
        VersionHandler version_done;  // or an api_version() query
    };

    void enqueue(Pending pending);
    void pump();
    void connect();
    void on_connect(beast::error_code ec);
    void advance();
    void send(Method method, std::string target, std::string body,
              std::chrono::milliseconds timeout);
    void on_write(beast::error_code ec, std::size_t bytes);
    void on_read(beast::error_code ec, std::size_t bytes);
    void on_response(Response response);
    void on_transport_error(beast::error_code ec, const char* step);
    void drop_connection();
    void complete_front(Expected<Response, std::string> result);
    void fail_front(std::string reason);
    void post_result(Pending pending, Expected<Response, std::string> result);
    std::chrono::milliseconds step_timeout(const Pending& pending) const;

    asio::any_io_executor executor_;
    DockerSettings settings_;
    Limits limits_;
    std::deque<Pending> queue_;
    std::optional<Stream> stream_;
    beast::flat_buffer buffer_;
    std::optional<http::request<http::string_body>> request_;
    std::optional<http::response_parser<http::string_body>> parser_;
    std::chrono::milliseconds current_timeout_{0};
    Phase phase_ = Phase::request;
    std::optional<ApiVersion> version_;  // of the current connection
    bool connected_ = false;
    bool reused_ = false;  // the current connection has served a reply before
    bool busy_ = false;    // the front of the queue is on the wire
    bool closed_ = false;
    std::size_t connections_opened_ = 0;
};

}  // namespace monsys::io::docker
