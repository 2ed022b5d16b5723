#pragma once
// An in-memory HubConnection for tests of HubLink: the test plays the hub by pushing frames into
// a connection and reading what the link wrote, all on one io_context, no sockets.
#include <doctest/doctest.h>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent/hub/hub_connection.hpp"
#include "common/io/asio.hpp"
#include "tests/unit/run_until.hpp"

namespace monsys::agent::test {

// What one connection attempt saw and did; shared between the fake and the test.
struct FakeWire {
    explicit FakeWire(asio::any_io_executor executor) : wake(executor) {}
    bool refuse_connect = false;   // connect() fails (the hub is not there)
    std::deque<hub::Frame> inbox;  // frames the "hub" sends, read in order
    std::vector<std::string> written;
    bool ended = false;  // closed or aborted: reads and writes fail from now on
    asio::steady_timer wake;

    void push_text(std::string text) {
        inbox.push_back(hub::Frame{{}, std::move(text), false});
        wake.cancel();
    }
    void push_binary(std::string bytes) {
        inbox.push_back(hub::Frame{{}, std::move(bytes), true});
        wake.cancel();
    }
    // The hub goes away: the pending read fails as a dropped TCP connection would.
    void drop() {
        inbox.push_back(hub::Frame{asio::error::connection_reset, {}, false});
        wake.cancel();
    }
};

class FakeHubConnection final : public hub::HubConnection {
  public:
    explicit FakeHubConnection(std::shared_ptr<FakeWire> wire) : wire_(std::move(wire)) {}

    asio::awaitable<std::optional<hub::ConnectError>> connect() override {
        if (progress_) progress_();
        if (wire_->refuse_connect) {
            wire_->ended = true;
            co_return hub::ConnectError{hub::ConnectFailure::connect, "fake: refused"};
        }
        co_return std::nullopt;
    }

    asio::awaitable<hub::Frame> read() override {
        while (wire_->inbox.empty() && !wire_->ended) {
            wire_->wake.expires_at(asio::steady_timer::time_point::max());
            beast::error_code ignored;
            co_await wire_->wake.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
        }
        if (wire_->inbox.empty()) co_return hub::Frame{asio::error::operation_aborted, {}, false};
        hub::Frame frame = std::move(wire_->inbox.front());
        wire_->inbox.pop_front();
        if (frame.error) wire_->ended = true;
        co_return frame;
    }

    asio::awaitable<beast::error_code> write(std::string text) override {
        if (wire_->ended) co_return beast::error_code(asio::error::broken_pipe);
        wire_->written.push_back(std::move(text));
        co_return beast::error_code{};
    }

    asio::awaitable<void> close() override {
        abort();
        co_return;
    }

    void abort() override {
        wire_->ended = true;
        wire_->wake.cancel();
    }

    void on_progress(std::function<void()> observer) override { progress_ = std::move(observer); }

  private:
    std::shared_ptr<FakeWire> wire_;
    std::function<void()> progress_;
};

using monsys::test::run_until;

}  // namespace monsys::agent::test
