#include "common/io/docker/async_client.hpp"

#include "common/io/docker/negotiation.hpp"

namespace monsys::io::docker {

namespace {

// The engine closed a kept-alive connection before answering: nothing was processed, so an
// idempotent request may be sent again on a fresh connection.
bool closed_by_engine(beast::error_code ec) {
    return ec == http::error::end_of_stream || ec == asio::error::eof ||
           ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
           ec == asio::error::not_connected;
}

}  // namespace

std::shared_ptr<AsyncDockerClient> AsyncDockerClient::create(asio::any_io_executor executor,
                                                             DockerSettings settings,
                                                             Limits limits) {
    return std::make_shared<AsyncDockerClient>(std::move(executor), std::move(settings), limits);
}

AsyncDockerClient::AsyncDockerClient(asio::any_io_executor executor, DockerSettings settings,
                                     Limits limits)
    : executor_(std::move(executor)), settings_(std::move(settings)), limits_(limits) {}

void AsyncDockerClient::get(std::string path, Handler done, std::chrono::milliseconds timeout) {
    request(Method::get, std::move(path), {}, timeout, std::move(done));
}

void AsyncDockerClient::request(Method method, std::string path, std::string body,
                                std::chrono::milliseconds timeout, Handler done) {
    Pending pending;
    pending.method = method;
    pending.target = std::move(path);
    pending.body = std::move(body);
    pending.timeout = timeout;
    pending.done = std::move(done);
    enqueue(std::move(pending));
}

void AsyncDockerClient::raw(Request request, Handler done) {
    Pending pending;
    pending.method = request.method;
    pending.target = std::move(request.target);
    pending.body = std::move(request.body);
    pending.timeout = request.timeout;
    pending.versioned = false;
    pending.done = std::move(done);
    enqueue(std::move(pending));
}

void AsyncDockerClient::api_version(VersionHandler done) {
    Pending pending;
    pending.version_done = std::move(done);
    enqueue(std::move(pending));
}

void AsyncDockerClient::close() {
    if (closed_) return;
    closed_ = true;
    drop_connection();
    while (!queue_.empty()) {
        Pending pending = std::move(queue_.front());
        queue_.pop_front();
        post_result(std::move(pending), unexpected(std::string("the Docker client was closed")));
    }
    busy_ = false;
}

void AsyncDockerClient::enqueue(Pending pending) {
    if (closed_) {
        return post_result(std::move(pending),
                           unexpected(std::string("the Docker client was closed")));
    }
    queue_.push_back(std::move(pending));
    // Start from the executor, never inside the caller's frame.
    if (!busy_) asio::post(executor_, [self = shared_from_this()] { self->pump(); });
}

void AsyncDockerClient::pump() {
    if (busy_ || closed_ || queue_.empty()) return;
    busy_ = true;
    if (!connected_) return connect();
    advance();
}

std::chrono::milliseconds AsyncDockerClient::step_timeout(const Pending& pending) const {
    return pending.timeout.count() > 0 ? pending.timeout : settings_.timeout;
}

void AsyncDockerClient::connect() {
    const std::string& path = settings_.socket_path;
    if (path.empty() || path.size() > max_socket_path_bytes) {
        return fail_front("cannot connect to the Docker socket \"" + path +
                          "\": the path is empty or longer than " +
                          std::to_string(max_socket_path_bytes) + " bytes");
    }
    drop_connection();
    stream_.emplace(executor_);
    buffer_.clear();
    stream_->expires_after(step_timeout(queue_.front()));
    current_timeout_ = step_timeout(queue_.front());
    stream_->async_connect(
        asio::local::stream_protocol::endpoint(path),
        beast::bind_front_handler(&AsyncDockerClient::on_connect, shared_from_this()));
}

void AsyncDockerClient::on_connect(beast::error_code ec) {
    if (closed_) return;
    if (ec) return on_transport_error(ec, "connect to");
    connected_ = true;
    reused_ = false;
    ++connections_opened_;
    advance();
}

// Sends what the front of the queue needs next on the open connection: the version
// negotiation first when this connection has none yet, then the request itself.
void AsyncDockerClient::advance() {
    Pending& front = queue_.front();
    if (front.version_done && version_) {
        return complete_front(Response{});  // answered from version_, see complete_front
    }
    if ((front.versioned || front.version_done) && !version_) {
        phase_ = Phase::ping;
        return send(Method::get, "/_ping", {}, settings_.timeout);
    }
    phase_ = Phase::request;
    std::string target =
        front.versioned ? "/v" + version_->to_string() + front.target : front.target;
    send(front.method, std::move(target), front.body, step_timeout(front));
}

void AsyncDockerClient::send(Method method, std::string target, std::string body,
                             std::chrono::milliseconds timeout) {
    current_timeout_ = timeout;
    request_.emplace(to_verb(method), target, 11);
    request_->set(http::field::host, "docker");
    request_->set(http::field::user_agent, "monsys-agent");
    if (!body.empty()) request_->set(http::field::content_type, "application/json");
    request_->body() = std::move(body);
    request_->prepare_payload();
    request_->keep_alive(true);
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(limits_.max_header_bytes));
    parser_->body_limit(limits_.max_body_bytes);
    stream_->expires_after(timeout);
    http::async_write(*stream_, *request_,
                      beast::bind_front_handler(&AsyncDockerClient::on_write, shared_from_this()));
}

void AsyncDockerClient::on_write(beast::error_code ec, std::size_t /*bytes*/) {
    if (closed_) return;
    if (ec) return on_transport_error(ec, "send the request to");
    stream_->expires_after(current_timeout_);
    http::async_read(*stream_, buffer_, *parser_,
                     beast::bind_front_handler(&AsyncDockerClient::on_read, shared_from_this()));
}

void AsyncDockerClient::on_read(beast::error_code ec, std::size_t /*bytes*/) {
    if (closed_) return;
    if (ec) return on_transport_error(ec, "read the response from");
    auto& message = parser_->get();
    Response response;
    response.status = message.result_int();
    for (const auto& field : message) {
        response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    bool keep_alive = message.keep_alive();
    response.body = std::move(message.body());
    stream_->expires_never();
    reused_ = true;
    if (!keep_alive) drop_connection();  // the engine said it closes: the next request reconnects
    on_response(std::move(response));
}

void AsyncDockerClient::on_response(Response response) {
    switch (phase_) {
        case Phase::ping:
            if (auto from_ping = version_from_ping(response)) {
                if (!*from_ping) return fail_front(std::move(from_ping->error()));
                version_ = **from_ping;
                return connected_ ? advance() : connect();
            }
            phase_ = Phase::version;
            if (!connected_) return connect();  // rare: ping without keep-alive
            return send(Method::get, "/version", {}, settings_.timeout);
        case Phase::version: {
            auto version = version_from_version_reply(response);
            if (!version) return fail_front(std::move(version.error()));
            version_ = *version;
            return connected_ ? advance() : connect();
        }
        case Phase::request:
            return complete_front(std::move(response));
    }
}

void AsyncDockerClient::on_transport_error(beast::error_code ec, const char* step) {
    bool was_reused = reused_;
    drop_connection();
    Pending& front = queue_.front();
    if (was_reused && closed_by_engine(ec) && front.method == Method::get && !front.retried) {
        front.retried = true;
        return connect();
    }
    std::string reason;
    if (ec == beast::error::timeout) {
        reason = "no progress within " + std::to_string(current_timeout_.count()) + " ms";
    } else if (ec == http::error::end_of_stream || ec == asio::error::eof) {
        reason = "the engine closed the connection without a complete response";
    } else if (ec == http::error::header_limit || ec == http::error::body_limit) {
        reason = "the response exceeds the size limit (" + ec.message() + ")";
    } else {
        reason = ec.message();
    }
    const char* what = phase_ == Phase::request ? "" : " (API version negotiation)";
    fail_front("cannot " + std::string(step) + " the Docker socket " + settings_.socket_path +
               what + ": " + reason);
}

void AsyncDockerClient::drop_connection() {
    connected_ = false;
    reused_ = false;
    version_.reset();
    if (stream_) {
        beast::error_code ignored;
        stream_->socket().shutdown(asio::socket_base::shutdown_both, ignored);
        stream_->close();
    }
}

void AsyncDockerClient::complete_front(Expected<Response, std::string> result) {
    Pending pending = std::move(queue_.front());
    queue_.pop_front();
    busy_ = false;
    if (pending.version_done && result) {
        auto done = std::move(pending.version_done);
        asio::post(executor_, [done = std::move(done), version = *version_] { done(version); });
    } else {
        post_result(std::move(pending), std::move(result));
    }
    pump();
}

void AsyncDockerClient::fail_front(std::string reason) {
    complete_front(unexpected(std::move(reason)));
}

void AsyncDockerClient::post_result(Pending pending, Expected<Response, std::string> result) {
    if (pending.version_done) {
        Expected<ApiVersion, std::string> version = unexpected(std::string());
        if (!result) version = unexpected(std::move(result.error()));
        asio::post(executor_, [done = std::move(pending.version_done),
                               version = std::move(version)] { done(version); });
        return;
    }
    if (!pending.done) return;
    asio::post(executor_,
               [done = std::move(pending.done), result = std::move(result)] { done(result); });
}

}  // namespace monsys::io::docker
