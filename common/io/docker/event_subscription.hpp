#pragma once
// One long-lived GET /events on its own connection to the engine's socket: the body bytes are
// handed on as they arrive (EventStreamParser reads them), the stream is reported open, and its
// end is reported once. No retry here: the owner decides when to open a new one (docker_source
// resumes with since=).
//
// "Open" means the engine has subscribed us: the response headers arrived with HTTP 200 (after
// any body bytes that came with them were handed on), or the request has been out for `settle`
// with the connection still open, because podman's compatible API sends no headers until the
// first event. Connect and write have the settings' deadline; the headers are capped; the open
// stream itself has no deadline (it is silent while nothing changes).
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/io/asio.hpp"
#include "common/io/docker/docker_settings.hpp"

namespace monsys::io::docker {

class EventSubscription : public std::enable_shared_from_this<EventSubscription> {
  public:
    struct Handlers {
        std::function<void()> opened;                   // at most once
        std::function<void(std::string_view)> data;     // body bytes, in order
        std::function<void(std::string reason)> ended;  // once, unless close() came first
    };
    struct Options {
        std::chrono::milliseconds settle{1000};
        std::size_t max_header_bytes = 64 * 1024;
    };

    // Connects and sends `target` (origin-form, versioned, encoded) at once. Handlers run on
    // the executor.
    static std::shared_ptr<EventSubscription> open(asio::any_io_executor executor,
                                                   const DockerSettings& settings,
                                                   std::string target, Handlers handlers,
                                                   Options options);

    // Ends the stream; no handler runs after it.
    void close();

    // Public for make_shared only; use open().
    EventSubscription(asio::any_io_executor executor, DockerSettings settings, Handlers handlers,
                      Options options);

  private:
    using Stream = beast::basic_stream<asio::local::stream_protocol>;

    void start(std::string target);
    void on_connect(beast::error_code ec);
    void on_write(beast::error_code ec, std::size_t bytes);
    void on_header(beast::error_code ec, std::size_t bytes);
    void read_body();
    void on_body(beast::error_code ec, std::size_t bytes);
    void mark_open();
    void end(std::string reason);

    DockerSettings settings_;
    Handlers handlers_;
    Options options_;
    Stream stream_;
    asio::steady_timer settle_timer_;
    beast::flat_buffer buffer_;
    http::request<http::empty_body> request_;
    http::response_parser<http::buffer_body> parser_;
    char body_[4096];
    bool open_ = false;
    bool open_after_first_body_ = false;
    bool finished_ = false;
};

}  // namespace monsys::io::docker
