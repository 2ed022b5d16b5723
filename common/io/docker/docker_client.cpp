#include "common/io/docker/docker_client.hpp"

#include <memory>

#include "common/io/docker/negotiation.hpp"

namespace monsys::io::docker {

http::verb to_verb(Method method) {
    switch (method) {
        case Method::get:
            return http::verb::get;
        case Method::post:
            return http::verb::post;
        case Method::del:
            return http::verb::delete_;
    }
    return http::verb::get;
}

namespace {

using Stream = beast::basic_stream<asio::local::stream_protocol>;

// One request/response on a fresh connection, as an explicit chain of steps
// (connect -> write -> read), each with its own deadline.
class Exchange : public std::enable_shared_from_this<Exchange> {
  public:
    Exchange(const asio::any_io_executor& executor, const DockerSettings& settings,
             const Limits& limits, Request request, ExchangeHandler done)
        : stream_(executor),
          socket_path_(settings.socket_path),
          step_timeout_(request.timeout.count() > 0 ? request.timeout : settings.timeout),
          done_(std::move(done)) {
        request_.method(to_verb(request.method));
        request_.target(request.target);
        request_.version(11);
        request_.set(http::field::host, "docker");
        request_.set(http::field::user_agent, "monsys-agent");
        request_.set(http::field::connection, "close");
        if (!request.body.empty()) request_.set(http::field::content_type, "application/json");
        request_.body() = std::move(request.body);
        request_.prepare_payload();
        parser_.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
        parser_.body_limit(limits.max_body_bytes);
    }

    void start() {
        if (socket_path_.empty() || socket_path_.size() > max_socket_path_bytes) {
            return finish(unexpected("Docker socket path \"" + socket_path_ +
                                     "\" is empty or longer than " +
                                     std::to_string(max_socket_path_bytes) + " bytes"));
        }
        stream_.expires_after(step_timeout_);
        stream_.async_connect(asio::local::stream_protocol::endpoint(socket_path_),
                              beast::bind_front_handler(&Exchange::on_connect, shared_from_this()));
    }

  private:
    void on_connect(beast::error_code ec) {
        if (ec) return fail(ec, "connect to");
        stream_.expires_after(step_timeout_);
        http::async_write(stream_, request_,
                          beast::bind_front_handler(&Exchange::on_write, shared_from_this()));
    }

    void on_write(beast::error_code ec, std::size_t /*bytes*/) {
        if (ec) return fail(ec, "send the request to");
        stream_.expires_after(step_timeout_);
        http::async_read(stream_, buffer_, parser_,
                         beast::bind_front_handler(&Exchange::on_read, shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t /*bytes*/) {
        if (ec) return fail(ec, "read the response from");
        Response response;
        const auto& message = parser_.get();
        response.status = message.result_int();
        for (const auto& field : message) {
            response.headers.emplace_back(std::string(field.name_string()),
                                          std::string(field.value()));
        }
        response.body = std::move(parser_.get().body());
        beast::error_code ignored;
        stream_.socket().shutdown(asio::socket_base::shutdown_both, ignored);
        finish(std::move(response));
    }

    void fail(beast::error_code ec, const char* step) {
        std::string reason;
        if (ec == beast::error::timeout) {
            reason = "no progress within " + std::to_string(step_timeout_.count()) + " ms";
        } else if (ec == http::error::end_of_stream || ec == asio::error::eof) {
            reason = "the engine closed the connection without a complete response";
        } else if (ec == http::error::header_limit || ec == http::error::body_limit) {
            reason = "the response exceeds the size limit (" + ec.message() + ")";
        } else {
            reason = ec.message();
        }
        finish(unexpected("cannot " + std::string(step) + " the Docker socket " + socket_path_ +
                          ": " + reason));
    }

    void finish(Expected<Response, std::string> result) {
        if (!done_) return;
        auto done = std::move(done_);
        done_ = nullptr;
        done(std::move(result));
    }

    Stream stream_;
    std::string socket_path_;
    std::chrono::milliseconds step_timeout_;
    http::request<http::string_body> request_;
    beast::flat_buffer buffer_;
    http::response_parser<http::string_body> parser_;
    ExchangeHandler done_;
};

bool is_unreserved(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

}  // namespace

void async_exchange(const asio::any_io_executor& executor, const DockerSettings& settings,
                    const Limits& limits, Request request, ExchangeHandler done) {
    std::make_shared<Exchange>(executor, settings, limits, std::move(request), std::move(done))
        ->start();
}

std::string url_encode(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (char ch : text) {
        auto c = static_cast<unsigned char>(ch);
        if (is_unreserved(c)) {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 0x0f]);
        }
    }
    return out;
}

DockerClient::DockerClient(DockerSettings settings, Limits limits)
    : settings_(std::move(settings)), limits_(limits) {}

Expected<Response, std::string> DockerClient::exchange(Request request) {
    // `result` outlives the handler: run() returns only after the exchange has completed.
    std::optional<Expected<Response, std::string>> result;
    async_exchange(io_.get_executor(), settings_, limits_, std::move(request),
                   [out = &result](Expected<Response, std::string> r) { *out = std::move(r); });
    io_.restart();
    io_.run();
    if (!result) return unexpected(std::string("the Docker exchange ended without a result"));
    return std::move(*result);
}

Expected<ApiVersion, std::string> DockerClient::api_version() {
    if (!version_) {
        auto negotiated = negotiate();
        if (!negotiated) return negotiated;
        version_ = *negotiated;
    }
    return *version_;
}

Expected<ApiVersion, std::string> DockerClient::negotiate() {
    auto ping = exchange(Request{Method::get, "/_ping", {}, {}});
    // A transport failure ends here: asking /version too would double the wait on a dead socket.
    if (!ping) return unexpected(std::move(ping.error()));
    if (auto from_ping = version_from_ping(*ping)) return std::move(*from_ping);
    auto version = exchange(Request{Method::get, "/version", {}, {}});
    if (!version) return unexpected(std::move(version.error()));
    return version_from_version_reply(*version);
}

Expected<Response, std::string> DockerClient::versioned(Method method, std::string_view path,
                                                        std::string body,
                                                        std::chrono::milliseconds step_timeout) {
    auto version = api_version();
    if (!version) return unexpected(std::move(version.error()));
    std::string target = "/v" + version->to_string();
    target.append(path);
    return exchange(Request{method, std::move(target), std::move(body), step_timeout});
}

Expected<Response, std::string> DockerClient::get(std::string_view path,
                                                  std::chrono::milliseconds step_timeout) {
    return versioned(Method::get, path, {}, step_timeout);
}

Expected<Response, std::string> DockerClient::post(std::string_view path, std::string body,
                                                   std::chrono::milliseconds step_timeout) {
    return versioned(Method::post, path, std::move(body), step_timeout);
}

}  // namespace monsys::io::docker
