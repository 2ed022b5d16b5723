#pragma once
// The agent's side of monsys.agent.v1 over one connection at a time: connect (with back-off and
// full jitter between attempts), say hello, re-send the outbox, then route the hub's messages to
// the daemon and acks to the outbox. Runs on one io_context thread.
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "agent/hub/backoff.hpp"
#include "agent/hub/hub_connection.hpp"
#include "agent/hub/messages.hpp"
#include "agent/hub/outbox.hpp"

namespace monsys::agent::hub {

struct LinkCallbacks {
    // Made fresh for every attempt (the token file is read again, so a fixed token takes effect
    // without a restart); an error is logged and counts as a failed attempt.
    std::function<Expected<ConnectOptions, std::string>()> connect_options;
    std::function<HelloFields()> hello;
    std::function<void()> on_connected;
    std::function<void(const Welcome&)> on_welcome;
    std::function<void(const AppsUpdate&)> on_apps;
    std::function<void(std::string eat)> on_action;
    std::function<void()> on_collect;
    std::function<void(const PendingMessage&)> on_acked;
};

class HubLink {
  public:
    HubLink(asio::any_io_executor executor, std::shared_ptr<asio::ssl::context> tls, Outbox& outbox,
            LinkCallbacks callbacks, BackoffPolicy backoff = {});

    void start();
    // Closes the connection (WebSocket close handshake, bounded) and makes no new attempt.
    void stop();

    // Stores the message in the outbox, then sends it when connected (else after the next
    // connect). Returns the seq, or nothing when no seq could be allocated (logged).
    std::optional<std::uint64_t> send(MessageKind kind, nlohmann::json message);

    bool connected() const { return session_ != nullptr; }

  private:
    struct Session;
    static asio::awaitable<void> close_session(std::shared_ptr<Session> session);
    asio::awaitable<void> run();
    asio::awaitable<void> write_loop(std::shared_ptr<Session> session);
    asio::awaitable<void> read_loop(std::shared_ptr<Session> session);
    void handle_frame(const Frame& frame);
    void enqueue(std::string text);
    asio::awaitable<void> wait_before_retry();

    asio::any_io_executor executor_;
    std::shared_ptr<asio::ssl::context> tls_;
    Outbox& outbox_;
    LinkCallbacks callbacks_;
    Backoff backoff_;
    std::mt19937_64 random_;
    asio::steady_timer retry_timer_;
    std::shared_ptr<Session> session_;
    bool stopping_ = false;
    std::set<std::string> unknown_types_logged_;
};

}  // namespace monsys::agent::hub
