#pragma once
// A small Docker Engine API client over the engine's Unix socket (HTTP/1.1 via Boost.Beast).
// Every byte from the socket is untrusted: header and body sizes are capped, and every step
// (connect, write, read) has a deadline, so a missing socket or one that accepts and never
// answers fails within bounded time. The API version is negotiated once per client (never
// pinned): min(server's, the newest this code knows).
//
// Calls are blocking (each runs a private io_context); use them from a worker thread, never from
// a reactor thread. async_exchange() is the same exchange on a caller's executor.
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/io/asio.hpp"
#include "common/io/docker/api_version.hpp"
#include "common/io/docker/docker_settings.hpp"
#include "common/io/docker/response.hpp"
#include "common/util/expected.hpp"

namespace monsys::io::docker {

struct Limits {
    std::size_t max_header_bytes = 64 * 1024;
    std::size_t max_body_bytes = 8 * 1024 * 1024;
};

enum class Method { get, post, del };
http::verb to_verb(Method method);

// The longest Unix socket path a client connects to: sockaddr_un holds 108 bytes with the NUL.
inline constexpr std::size_t max_socket_path_bytes = 107;

struct Request {
    Method method = Method::get;
    std::string target;  // origin-form, e.g. "/v1.41/containers/json?all=1", already encoded
    std::string body;    // sent as application/json when not empty
    // The deadline of each step; 0 = the client's DockerSettings::timeout.
    std::chrono::milliseconds timeout{0};
};

// One HTTP exchange on a fresh connection (Connection: close) on `executor`. `done` is called
// exactly once, with the response or a one-line reason naming the failed step.
using ExchangeHandler = std::function<void(Expected<Response, std::string>)>;
void async_exchange(const asio::any_io_executor& executor, const DockerSettings& settings,
                    const Limits& limits, Request request, ExchangeHandler done);

// Blocking client. Not thread-safe; cheap to create (no connection is kept between requests).
class DockerClient {
  public:
    explicit DockerClient(DockerSettings settings, Limits limits = {});

    const DockerSettings& settings() const { return settings_; }

    // The version this client speaks ("1.41"), negotiated on first use by GET /_ping
    // (header Api-Version), falling back to GET /version (ApiVersion).
    Expected<ApiVersion, std::string> api_version();

    // `path` is the versionless API path with its query, already encoded, e.g.
    // "/containers/json?all=1"; the client prefixes "/v<version>". `step_timeout` 0 = default.
    Expected<Response, std::string> get(std::string_view path,
                                        std::chrono::milliseconds step_timeout = {});
    Expected<Response, std::string> post(std::string_view path, std::string body = {},
                                         std::chrono::milliseconds step_timeout = {});

    // A request on an unversioned target ("/_ping"), as given.
    Expected<Response, std::string> exchange(Request request);

  private:
    Expected<Response, std::string> versioned(Method method, std::string_view path,
                                              std::string body,
                                              std::chrono::milliseconds step_timeout);

    Expected<ApiVersion, std::string> negotiate();

    DockerSettings settings_;
    Limits limits_;
    asio::io_context io_;
    std::optional<ApiVersion> version_;
};

// Percent-encodes everything but RFC 3986 unreserved characters, for one path segment or one
// query value.
std::string url_encode(std::string_view text);

}  // namespace monsys::io::docker
