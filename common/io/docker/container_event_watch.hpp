#pragma once
// A change signal for the engine's containers: one long-lived GET /events (type=container) on the
// Engine API socket. Nothing in the stream is interpreted; every byte of it means "something
// about a container changed", so a caller may keep using a container list it made while the
// stream was open and silent, and must list again otherwise.
//
// The snapshot's `generation` moves on every change and whenever the stream opens or closes, so
// "live, and the same generation as when I listed" means "nothing happened since, that I could
// have missed". Podman's compatible API sends no response headers until the first event: a stream
// counts as live once its headers arrived, or once the request has been out for `settle` with the
// connection still open (the engine has long subscribed by then).
//
// Runs on the caller's executor (single-threaded use there); snapshot() may be read from any
// thread. After a failure it reconnects by itself, waiting 1 s, doubling up to 60 s.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "common/io/asio.hpp"
#include "common/io/docker/docker_settings.hpp"

namespace monsys::io::docker {

struct EventStreamSnapshot {
    bool live = false;
    std::uint64_t generation = 0;
};

class ContainerEventWatch : public std::enable_shared_from_this<ContainerEventWatch> {
  public:
    struct Options {
        std::chrono::milliseconds settle{1000};
        std::chrono::milliseconds first_retry{1000};
        std::chrono::milliseconds max_retry{60000};
        std::size_t max_header_bytes = 64 * 1024;
    };

    // Starts watching at once; the watch lives until stop() (the executor keeps it alive).
    static std::shared_ptr<ContainerEventWatch> start(const asio::any_io_executor& executor,
                                                      const DockerSettings& settings,
                                                      Options options);
    static std::shared_ptr<ContainerEventWatch> start(const asio::any_io_executor& executor,
                                                      const DockerSettings& settings) {
        return start(executor, settings, Options{});
    }

    EventStreamSnapshot snapshot() const;
    // Closes the stream and stops reconnecting. Thread-safe; returns at once.
    void stop();

    // Public for make_shared only; use start().
    ContainerEventWatch(const asio::any_io_executor& executor, DockerSettings settings,
                        Options options);

  private:
    using Stream = beast::basic_stream<asio::local::stream_protocol>;

    void connect();
    void on_connect(beast::error_code ec);
    void on_write(beast::error_code ec, std::size_t bytes);
    void on_settled(beast::error_code ec);
    void on_header(beast::error_code ec, std::size_t bytes);
    void read_body();
    void on_body(beast::error_code ec, std::size_t bytes);
    void fail();
    void set_live(bool live);

    asio::any_io_executor executor_;
    DockerSettings settings_;
    Options options_;
    std::optional<Stream> stream_;
    asio::steady_timer timer_;  // settle, then retry
    beast::flat_buffer buffer_;
    std::optional<http::request<http::empty_body>> request_;
    std::optional<http::response_parser<http::buffer_body>> parser_;
    char body_[4096];
    std::chrono::milliseconds retry_delay_;
    bool stopped_ = false;       // executor thread only
    bool live_ = false;          // executor thread only
    std::uint64_t attempt_ = 0;  // tells a stale settle timer from the current one
    std::atomic<std::uint64_t> generation_{0};
    std::atomic<bool> live_flag_{false};
};

}  // namespace monsys::io::docker
