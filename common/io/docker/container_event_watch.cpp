#include "common/io/docker/container_event_watch.hpp"

#include <algorithm>

namespace monsys::io::docker {

namespace {
// filters={"type":["container"]}, percent-encoded.
constexpr const char* kEventsTarget = "/events?filters=%7B%22type%22%3A%5B%22container%22%5D%7D";
}  // namespace

std::shared_ptr<ContainerEventWatch> ContainerEventWatch::start(
    const asio::any_io_executor& executor, const DockerSettings& settings, Options options) {
    auto watch = std::make_shared<ContainerEventWatch>(executor, settings, options);
    asio::post(executor, [watch] { watch->connect(); });
    return watch;
}

ContainerEventWatch::ContainerEventWatch(const asio::any_io_executor& executor,
                                         DockerSettings settings, Options options)
    : executor_(executor),
      settings_(std::move(settings)),
      options_(options),
      timer_(executor),
      // Bounded, so that not even an endless chunk header makes it grow: the parser takes every
      // body byte out of it at once, and the header cap comes first.
      buffer_(2 * options.max_header_bytes),
      retry_delay_(options.first_retry) {}

EventStreamSnapshot ContainerEventWatch::snapshot() const {
    // Generation first: a change that lands between the two reads then shows as a newer
    // generation next time rather than being paired with a stale "live".
    EventStreamSnapshot snapshot;
    snapshot.generation = generation_.load();
    snapshot.live = live_flag_.load();
    return snapshot;
}

void ContainerEventWatch::stop() {
    asio::post(executor_, [self = shared_from_this()] {
        self->stopped_ = true;
        self->timer_.cancel();
        if (self->stream_) self->stream_->close();
        self->set_live(false);
    });
}

void ContainerEventWatch::set_live(bool live) {
    if (live_ == live) return;
    live_ = live;
    ++generation_;
    live_flag_ = live;
}

void ContainerEventWatch::connect() {
    if (stopped_) return;
    ++attempt_;
    buffer_.clear();
    stream_.emplace(executor_);
    request_.emplace(http::verb::get, kEventsTarget, 11);
    request_->set(http::field::host, "docker");
    request_->set(http::field::user_agent, "monsys-agent");
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
    parser_->body_limit(boost::none);  // an endless stream, read piecewise and discarded
    stream_->expires_after(settings_.timeout);
    stream_->async_connect(
        asio::local::stream_protocol::endpoint(settings_.socket_path),
        beast::bind_front_handler(&ContainerEventWatch::on_connect, shared_from_this()));
}

void ContainerEventWatch::on_connect(beast::error_code ec) {
    if (ec || stopped_) return fail();
    stream_->expires_after(settings_.timeout);
    http::async_write(
        *stream_, *request_,
        beast::bind_front_handler(&ContainerEventWatch::on_write, shared_from_this()));
}

void ContainerEventWatch::on_write(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec || stopped_) return fail();
    stream_->expires_never();  // the stream is quiet as long as nothing changes
    timer_.expires_after(options_.settle);
    timer_.async_wait([self = shared_from_this(), attempt = attempt_](beast::error_code timer_ec) {
        if (timer_ec || attempt != self->attempt_ || self->stopped_) return;
        self->set_live(true);
        self->retry_delay_ = self->options_.first_retry;
    });
    http::async_read_header(
        *stream_, buffer_, *parser_,
        beast::bind_front_handler(&ContainerEventWatch::on_header, shared_from_this()));
}

void ContainerEventWatch::on_header(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec || stopped_ || parser_->get().result_int() != 200) return fail();
    timer_.cancel();
    set_live(true);
    retry_delay_ = options_.first_retry;
    read_body();
}

void ContainerEventWatch::read_body() {
    parser_->get().body().data = body_;
    parser_->get().body().size = sizeof body_;
    // read_some: back after any progress (async_read would wait for a full buffer).
    http::async_read_some(
        *stream_, buffer_, *parser_,
        beast::bind_front_handler(&ContainerEventWatch::on_body, shared_from_this()));
}

void ContainerEventWatch::on_body(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec == http::error::need_buffer) ec = {};
    if (ec || stopped_) return fail();
    if (parser_->get().body().size < sizeof body_) ++generation_;  // an event: something changed
    if (parser_->is_done()) return fail();                         // the engine ended the stream
    read_body();
}

void ContainerEventWatch::fail() {
    ++attempt_;
    set_live(false);
    if (stream_) {
        beast::error_code ignored;
        stream_->socket().close(ignored);
    }
    if (stopped_) return;
    timer_.expires_after(retry_delay_);
    retry_delay_ = std::min(retry_delay_ * 2, options_.max_retry);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
        if (!ec) self->connect();
    });
}

}  // namespace monsys::io::docker
