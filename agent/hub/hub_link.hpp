#pragma once
// The agent's side of monsys.agent.v1 over one connection at a time: connect (with back-off and
// full jitter between attempts), say hello, re-send the outbox, then route the hub's messages to
// the daemon and acks to the outbox. Runs on one io_context thread.
#include <chrono>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "agent/hub/backoff.hpp"
#include "agent/hub/disk_worker.hpp"
#include "agent/hub/hub_connection.hpp"
#include "agent/hub/limits.hpp"
#include "agent/hub/messages.hpp"
#include "agent/hub/outbox.hpp"
#include "agent/hub/token_bucket.hpp"

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
    // A verified action_result the outbox's bound dropped before its ack (it was sent at least
    // once if a connection was up): keep its frame where a re-delivered action finds it (the
    // result ledger), as for an acked one. Called before its file is removed, on the reactor.
    std::function<void(const PendingMessage&)> on_evicted;
};

// Makes one connection object per attempt; the real one speaks WebSocket over TCP or TLS, tests
// hand in an in-memory fake.
using ConnectionFactory = std::function<std::unique_ptr<HubConnection>(ConnectOptions)>;

// The link's I/O and randomness, replaceable in tests.
struct LinkIo {
    ConnectionFactory connect;  // empty: make_hub_connection with the link's TLS context
    // Draws in [0, 1) for the back-off's full jitter; empty: a seeded std::mt19937_64. A test
    // that returns 0 makes every back-off wait zero.
    std::function<double()> uniform01;
    // Where the outbox's files are written; null: the link runs its own worker thread. Share one
    // with the ActionRunner so a result is durable before its in-flight record goes.
    DiskWorker* disk = nullptr;
    // How long a stamped message may wait for its file before it is sent anyway (logged): a
    // stalled disk delays the hub's view by this much at most, and the message is lost only if
    // the agent stops before both the write and the ack.
    std::chrono::milliseconds disk_stall_bound{5000};
    // The clock of the rate limits; empty: steady_clock::now.
    std::function<std::chrono::steady_clock::time_point()> now;
};

// The real I/O: WebSocket connections with `tls` (null for ws://), the outbox on `disk`.
LinkIo websocket_link_io(asio::any_io_executor executor, std::shared_ptr<asio::ssl::context> tls,
                         DiskWorker* disk = nullptr);

class HubLink {
  public:
    // Why the link stopped on its own: an exception that escaped a coroutine of the link
    // (a callback included), or its loop ending while nobody called stop(). One line.
    using DiedHandler = std::function<void(std::string why)>;

    HubLink(asio::any_io_executor executor, std::shared_ptr<asio::ssl::context> tls, Outbox& outbox,
            LinkCallbacks callbacks, BackoffPolicy backoff = {});
    HubLink(asio::any_io_executor executor, Outbox& outbox, LinkCallbacks callbacks, LinkIo io,
            BackoffPolicy backoff = {});

    // Runs the link until stop(). `on_died` is called once, posted to the executor, if the link
    // ends for any other reason; it is never called after stop(). The daemon then exits non-zero.
    void start(DiedHandler on_died);
    // Closes the connection (WebSocket close handshake, bounded) and makes no new attempt.
    void stop();

    // When the link's loop last showed life: a connect attempt or one of its steps, a frame read,
    // a ping or a pong, a back-off wait that ended (long waits are cut into slices of
    // progress_slice). A live loop shows life at least every max(handshake_timeout,
    // idle_timeout) of its ConnectOptions (40 s by default), so a watchdog may treat a longer
    // silence as a hung loop.
    std::chrono::steady_clock::time_point last_progress() const { return last_progress_; }
    static constexpr std::chrono::milliseconds progress_slice{5000};

    // Stores the message in the outbox, then sends it when connected (else after the next
    // connect). A refusal of an unverifiable token (is_unverified_refusal) over its rate is
    // counted and dropped instead; an action_result over the outbox's bounds pushes out the
    // oldest (limits.hpp). The seq is allocated and the file written on the disk worker, in the
    // order of the calls; a frame goes on the wire only once its file is durable (or after
    // disk_stall_bound, logged), in seq order. A newer inventory or state that arrives while the
    // older one still waits for the worker takes its place. When no seq can be allocated the
    // message is dropped (logged at error level).
    void send(MessageKind kind, nlohmann::json message);
    // The same, with one member whose value is JSON text put into the frame unchanged (the
    // wrapper's result as it printed it; an inventory written as a stream).
    void send(MessageKind kind, nlohmann::json message, PreSerialized member);

    // Puts a frame that the hub acked before on the wire again, byte for byte, same seq: not
    // stored, not stamped; dropped when not connected (the hub re-delivers the action after it
    // reconnects and gets it then).
    void resend(std::string frame);

    // What the bounds (the outbox's LinkLimits) dropped since the link was made.
    const OutboxDrops& drops() const { return drops_; }
    // How often the summary of drops is logged at most.
    static constexpr std::chrono::seconds drop_log_interval{60};

    // Whether a message of this kind was sent and is not among the outbox's pending ones yet
    // (its seq or its file is still being written).
    bool storing(MessageKind kind) const;

    bool connected() const { return session_ != nullptr; }

    // The connection as `monsys-agent status` shows it. `since`: when it last came up or went
    // down (the link's creation until then); `last_error`: the line logged for the last failed
    // attempt or lost connection (no credentials: those lines never carry any).
    struct ConnectionState {
        bool connected = false;
        std::chrono::system_clock::time_point since = std::chrono::system_clock::now();
        std::string last_error;
    };
    const ConnectionState& connection_state() const { return connection_state_; }

  private:
    struct Session;
    static asio::awaitable<void> close_session(std::shared_ptr<Session> session);
    void loop_ended(std::exception_ptr error, const char* which);
    void die(std::string why);
    void end_session();
    void mark_progress() { last_progress_ = std::chrono::steady_clock::now(); }
    void note_error(const std::string& line) { connection_state_.last_error = line; }
    struct WaitingMessage;
    void send(MessageKind kind, nlohmann::json message, std::optional<PreSerialized> member);
    void store(MessageKind kind, std::shared_ptr<WaitingMessage> waiting);
    void on_stamped(PendingMessage message);
    void on_written(std::uint64_t seq, Expected<void, std::string> written);
    void on_store_failed(MessageKind kind, std::string error);
    void release(PendingMessage message);
    void dropped();
    void log_drops();
    void on_ack(std::uint64_t seq);
    asio::awaitable<void> run();
    asio::awaitable<void> write_loop(std::shared_ptr<Session> session);
    asio::awaitable<void> read_loop(std::shared_ptr<Session> session);
    void handle_frame(const Frame& frame);
    void enqueue(std::string text);
    asio::awaitable<void> wait_before_retry();

    // Handlers posted back from the disk worker check it, so they do nothing once the link is gone.
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
    asio::any_io_executor executor_;
    Outbox& outbox_;
    LinkCallbacks callbacks_;
    LinkIo io_;
    Backoff backoff_;
    asio::steady_timer retry_timer_;
    std::shared_ptr<Session> session_;
    DiedHandler on_died_;
    std::chrono::steady_clock::time_point last_progress_ = std::chrono::steady_clock::now();
    ConnectionState connection_state_;
    bool stopping_ = false;
    bool dead_ = false;
    std::map<MessageKind, std::shared_ptr<WaitingMessage>> waiting_;  // inventory, state
    std::map<MessageKind, int> storing_;
    std::optional<PendingMessage> stamped_;  // stamped, its file not written yet (one at a time)
    asio::steady_timer stall_timer_;
    std::unique_ptr<DiskWorker> own_disk_;  // last: joined first, while the rest still exists
    DiskWorker* disk_;
    std::set<std::string> unknown_types_logged_;
    TokenBucket action_frames_;        // per connection: reset at every connect
    TokenBucket unverified_refusals_;  // across connections
    OutboxDrops drops_;                // reported in every hello
    OutboxDrops drops_logged_;
    asio::steady_timer drop_log_timer_;
    bool drop_log_armed_ = false;
};

}  // namespace monsys::agent::hub
