#include "common/io/docker/event_subscription.hpp"

namespace monsys::io::docker {

std::shared_ptr<EventSubscription> EventSubscription::open(asio::any_io_executor executor,
                                                           const DockerSettings& settings,
                                                           std::string target, Handlers handlers,
                                                           Options options) {
    auto subscription = std::make_shared<EventSubscription>(std::move(executor), settings,
                                                            std::move(handlers), options);
    subscription->start(std::move(target));
    return subscription;
}

EventSubscription::EventSubscription(asio::any_io_executor executor, DockerSettings settings,
                                     Handlers handlers, Options options)
    : settings_(std::move(settings)),
      handlers_(std::move(handlers)),
      options_(options),
      stream_(executor),
      settle_timer_(executor),
      // Bounded, so that not even an endless chunk header makes it grow: the parser takes every
      // body byte out of it at once, and the header cap comes first.
      buffer_(2 * options.max_header_bytes) {}

void EventSubscription::start(std::string target) {
    request_ = http::request<http::empty_body>(http::verb::get, target, 11);
    request_.set(http::field::host, "docker");
    request_.set(http::field::user_agent, "monsys-agent");
    parser_.header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
    parser_.body_limit(boost::none);  // an endless stream, handed on piecewise
    if (settings_.socket_path.empty() || settings_.socket_path.size() > 107) {
        // Report from the executor, never inside open().
        asio::post(stream_.get_executor(), [self = shared_from_this()] {
            self->end("the Docker socket path \"" + self->settings_.socket_path +
                      "\" is empty or too long");
        });
        return;
    }
    stream_.expires_after(settings_.timeout);
    stream_.async_connect(
        asio::local::stream_protocol::endpoint(settings_.socket_path),
        beast::bind_front_handler(&EventSubscription::on_connect, shared_from_this()));
}

void EventSubscription::close() {
    finished_ = true;
    settle_timer_.cancel();
    beast::error_code ignored;
    stream_.socket().shutdown(asio::socket_base::shutdown_both, ignored);
    stream_.close();
}

void EventSubscription::on_connect(beast::error_code ec) {
    if (finished_) return;
    if (ec)
        return end("cannot connect to the Docker socket " + settings_.socket_path + ": " +
                   ec.message());
    stream_.expires_after(settings_.timeout);
    http::async_write(stream_, request_,
                      beast::bind_front_handler(&EventSubscription::on_write, shared_from_this()));
}

void EventSubscription::on_write(beast::error_code ec, std::size_t /*bytes*/) {
    if (finished_) return;
    if (ec) return end("cannot send GET /events: " + ec.message());
    stream_.expires_never();  // the stream is quiet as long as nothing changes
    settle_timer_.expires_after(options_.settle);
    settle_timer_.async_wait([weak = weak_from_this()](beast::error_code timer_ec) {
        auto self = weak.lock();
        if (!self || timer_ec || self->finished_) return;
        self->mark_open();  // podman: still no headers, but the connection holds
    });
    http::async_read_header(
        stream_, buffer_, parser_,
        beast::bind_front_handler(&EventSubscription::on_header, shared_from_this()));
}

void EventSubscription::on_header(beast::error_code ec, std::size_t /*bytes*/) {
    if (finished_) return;
    if (ec) return end("the events stream ended before its headers: " + ec.message());
    if (parser_.get().result_int() != 200) {
        return end("the engine answered GET /events with HTTP " +
                   std::to_string(parser_.get().result_int()));
    }
    settle_timer_.cancel();
    // Events that came with the headers (podman replays since= events at once) are handed on
    // first, so that "open" follows them.
    if (buffer_.size() > 0 && !open_) {
        open_after_first_body_ = true;
    } else {
        mark_open();
    }
    read_body();
}

void EventSubscription::read_body() {
    parser_.get().body().data = body_;
    parser_.get().body().size = sizeof body_;
    // read_some: back after any progress (async_read would wait for a full buffer).
    http::async_read_some(
        stream_, buffer_, parser_,
        beast::bind_front_handler(&EventSubscription::on_body, shared_from_this()));
}

void EventSubscription::on_body(beast::error_code ec, std::size_t /*bytes*/) {
    if (finished_) return;
    if (ec == http::error::need_buffer) ec = {};
    std::size_t got = sizeof body_ - parser_.get().body().size;
    if (got > 0 && handlers_.data) handlers_.data(std::string_view(body_, got));
    if (finished_) return;  // the data handler closed us
    if (open_after_first_body_) {
        open_after_first_body_ = false;
        mark_open();
        if (finished_) return;
    }
    if (ec) return end("the events stream broke: " + ec.message());
    if (parser_.is_done()) return end("the engine ended the events stream");
    read_body();
}

void EventSubscription::mark_open() {
    if (open_) return;
    open_ = true;
    if (handlers_.opened) handlers_.opened();
}

void EventSubscription::end(std::string reason) {
    if (finished_) return;
    finished_ = true;
    settle_timer_.cancel();
    beast::error_code ignored;
    stream_.socket().close(ignored);
    auto ended = std::move(handlers_.ended);
    handlers_ = {};
    if (ended) ended(std::move(reason));
}

}  // namespace monsys::io::docker
