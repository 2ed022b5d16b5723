#include "agent/hub/hub_link.hpp"

#include <mutex>

#include <boost/beast/websocket/error.hpp>

#include "common/util/log.hpp"

namespace monsys::agent::hub {

using asio::redirect_error;
using asio::use_awaitable;

struct HubLink::Session {
    explicit Session(asio::any_io_executor executor, std::unique_ptr<HubConnection> c)
        : connection(std::move(c)), wake(executor) {}
    std::unique_ptr<HubConnection> connection;
    std::deque<std::string> queue;
    std::size_t queued_bytes = 0;
    asio::steady_timer wake;  // cancelled to wake the writer
    bool over = false;
};

LinkIo websocket_link_io(asio::any_io_executor executor, std::shared_ptr<asio::ssl::context> tls,
                         DiskWorker* disk) {
    LinkIo io;
    io.connect = [executor, tls = std::move(tls)](ConnectOptions options) {
        return make_hub_connection(executor, tls, std::move(options));
    };
    io.disk = disk;
    return io;
}

namespace {

// Why a coroutine of the link ended, in one line for the log.
std::string ending_of(const std::exception_ptr& error, const char* which) {
    if (!error) return std::string(which) + " ended unexpectedly";
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& exception) {
        return std::string(which) + " failed: " + exception.what();
    } catch (...) {
        return std::string(which) + " failed with an exception that is not a std::exception";
    }
}

std::uint64_t total(const OutboxDrops& drops) {
    return drops.results_evicted + drops.refusals_evicted + drops.refusals_suppressed +
           drops.action_frames_dropped;
}

}  // namespace

HubLink::HubLink(asio::any_io_executor executor, std::shared_ptr<asio::ssl::context> tls,
                 Outbox& outbox, LinkCallbacks callbacks, BackoffPolicy backoff)
    : HubLink(executor, outbox, std::move(callbacks), websocket_link_io(executor, std::move(tls)),
              backoff) {}

// A message on its way to the disk worker. For inventory and state one of these per kind is
// reused: a newer message replaces one the worker has not taken yet (so a stalled disk holds one
// of each, not a growing queue). The mutex is shared with the worker thread.
struct HubLink::WaitingMessage {
    std::mutex mutex;
    std::optional<nlohmann::json> message;
    std::optional<PreSerialized> member;
};

HubLink::HubLink(asio::any_io_executor executor, Outbox& outbox, LinkCallbacks callbacks, LinkIo io,
                 BackoffPolicy backoff)
    : executor_(executor),
      outbox_(outbox),
      callbacks_(std::move(callbacks)),
      io_(std::move(io)),
      backoff_(backoff),
      retry_timer_(executor),
      stall_timer_(executor),
      own_disk_(io_.disk ? nullptr : std::make_unique<DiskWorker>()),
      disk_(io_.disk ? io_.disk : own_disk_.get()),
      action_frames_(outbox.limits().action_burst, outbox.limits().actions_per_second),
      unverified_refusals_(outbox.limits().unverified_refusal_burst,
                           outbox.limits().unverified_refusals_per_second),
      drop_log_timer_(executor) {
    if (!io_.now) io_.now = []() { return std::chrono::steady_clock::now(); };
    if (!io_.uniform01) {
        auto random = std::make_shared<std::mt19937_64>(std::random_device{}());
        io_.uniform01 = [random]() {
            return std::uniform_real_distribution<double>(0.0, 1.0)(*random);
        };
    }
}

// A coroutine takes its arguments by value (a capturing lambda would die before it resumes).
asio::awaitable<void> HubLink::close_session(std::shared_ptr<Session> session) {
    co_await session->connection->close();
}

void HubLink::start(DiedHandler on_died) {
    on_died_ = std::move(on_died);
    mark_progress();
    asio::co_spawn(executor_, run(),
                   [this](std::exception_ptr error) { loop_ended(error, "the hub link"); });
}

void HubLink::loop_ended(std::exception_ptr error, const char* which) {
    if (stopping_ && !error) return;  // stop() or die() ended it
    std::string why = ending_of(error, which);
    if (stopping_) {
        log::error(why + " while stopping");
        return;
    }
    die(std::move(why));
}

// The link cannot go on: drop the connection, make no new attempt, and tell the owner once.
void HubLink::die(std::string why) {
    if (dead_) return;
    dead_ = true;
    stopping_ = true;
    retry_timer_.cancel();
    end_session();
    log::error(why);
    note_error(why);
    if (on_died_) {
        asio::post(executor_, [on_died = std::move(on_died_), why = std::move(why)]() mutable {
            on_died(std::move(why));
        });
    }
}

void HubLink::end_session() {
    if (!session_) return;
    connection_state_.connected = false;
    connection_state_.since = std::chrono::system_clock::now();
    session_->over = true;
    session_->wake.cancel();
    session_->connection->abort();
    session_ = nullptr;
}

void HubLink::stop() {
    stopping_ = true;
    retry_timer_.cancel();
    if (session_) {
        // The close is bounded by the connection's own timeout; nothing waits for its outcome.
        asio::co_spawn(executor_, close_session(session_), asio::detached);
    }
}

void HubLink::send(MessageKind kind, nlohmann::json message) {
    send(kind, std::move(message), std::optional<PreSerialized>());
}

void HubLink::send(MessageKind kind, nlohmann::json message, PreSerialized member) {
    send(kind, std::move(message), std::optional<PreSerialized>(std::move(member)));
}

void HubLink::send(MessageKind kind, nlohmann::json message, std::optional<PreSerialized> member) {
    if (kind == MessageKind::action_result && is_unverified_refusal(message) &&
        !unverified_refusals_.take(io_.now())) {
        ++drops_.refusals_suppressed;
        dropped();
        return;
    }
    std::shared_ptr<WaitingMessage> waiting;
    if (replaces_older(kind)) {
        auto& slot = waiting_[kind];
        if (!slot) slot = std::make_shared<WaitingMessage>();
        waiting = slot;
        std::lock_guard<std::mutex> lock(waiting->mutex);
        const bool queued = waiting->message.has_value();
        waiting->message = std::move(message);
        waiting->member = std::move(member);
        if (queued) {
            log::debug(std::string("a newer ") + to_string(kind) +
                       " message replaced one still waiting for the disk");
            return;
        }
    } else {
        waiting = std::make_shared<WaitingMessage>();
        waiting->message = std::move(message);
        waiting->member = std::move(member);
    }
    ++storing_[kind];
    store(kind, std::move(waiting));
}

bool HubLink::storing(MessageKind kind) const {
    auto count = storing_.find(kind);
    return count != storing_.end() && count->second > 0;
}

// On the worker: stamp (the seq file, its lock, its fsync), tell the reactor, write the file,
// tell the reactor again. Nothing here touches the link itself.
void HubLink::store(MessageKind kind, std::shared_ptr<WaitingMessage> waiting) {
    std::weak_ptr<int> alive = alive_;
    auto files = outbox_.files();
    auto io = executor_;
    disk_->post([this, alive, io, files, kind, waiting]() {
        std::optional<nlohmann::json> message;
        std::optional<PreSerialized> member;
        {
            std::lock_guard<std::mutex> lock(waiting->mutex);
            message.swap(waiting->message);
            member.swap(waiting->member);
        }
        auto stamped = message ? files->stamp(kind, std::move(*message), std::move(member))
                               : Expected<PendingMessage, std::string>(
                                     unexpected(std::string("nothing to store")));
        if (!stamped) {
            asio::post(io, [this, alive, kind, error = stamped.error()]() mutable {
                if (alive.lock()) on_store_failed(kind, std::move(error));
            });
            return;
        }
        asio::post(io, [this, alive, message = *stamped]() mutable {
            if (alive.lock()) on_stamped(std::move(message));
        });
        auto written = files->write(*stamped);
        asio::post(io, [this, alive, seq = stamped->seq, written = std::move(written)]() mutable {
            if (alive.lock()) on_written(seq, std::move(written));
        });
    });
}

void HubLink::on_store_failed(MessageKind kind, std::string error) {
    --storing_[kind];
    log::error(std::string("cannot queue a ") + to_string(kind) + " message for the hub: " + error);
}

void HubLink::on_stamped(PendingMessage message) {
    // The worker stamps the next message only after this one's write, so one waits at a time.
    stamped_ = std::move(message);
    const std::uint64_t seq = stamped_->seq;
    std::weak_ptr<int> alive = alive_;
    stall_timer_.expires_after(io_.disk_stall_bound);
    stall_timer_.async_wait([this, alive, seq](beast::error_code ec) {
        if (ec || !alive.lock() || !stamped_ || stamped_->seq != seq) return;
        log::error("the outbox has not stored " + std::string(to_string(stamped_->kind)) + " seq " +
                   std::to_string(seq) + " after " + std::to_string(io_.disk_stall_bound.count()) +
                   " ms (the disk is stalled); sending it anyway, but it is lost if the agent "
                   "stops before it is stored or acked");
        PendingMessage unstored = std::move(*stamped_);
        stamped_.reset();
        release(std::move(unstored));
    });
}

void HubLink::on_written(std::uint64_t seq, Expected<void, std::string> written) {
    if (stamped_ && stamped_->seq == seq) {
        stall_timer_.cancel();
        PendingMessage message = std::move(*stamped_);
        stamped_.reset();
        if (!written) {
            log::error(std::string("the outbox could not store ") + to_string(message.kind) +
                       " seq " + std::to_string(seq) + " (" + written.error() +
                       "); sending it anyway, but it is lost if the agent stops before the ack");
        } else {
            message.persisted = true;
        }
        release(std::move(message));
        return;
    }
    // It went out after the stall bound; the file came later (or not at all).
    if (!written) {
        log::error("the outbox could not store seq " + std::to_string(seq) + ": " +
                   written.error());
    } else {
        outbox_.mark_persisted(seq);
        log::notice("the outbox stored seq " + std::to_string(seq) + " after all");
    }
}

void HubLink::release(PendingMessage message) {
    --storing_[message.kind];
    std::string text = message.text;
    auto evicted = outbox_.insert(std::move(message));
    enqueue(std::move(text));
    if (evicted.empty()) return;
    for (const PendingMessage& gone : evicted) {
        if (gone.unverified) {
            ++drops_.refusals_evicted;
        } else {
            ++drops_.results_evicted;
            log::error("the outbox is over its bound for action results (" +
                       std::to_string(outbox_.limits().max_results) + " messages, " +
                       std::to_string(outbox_.limits().max_result_bytes) +
                       " bytes); dropped the oldest unacked one, seq " + std::to_string(gone.seq) +
                       " for action " + gone.jti);
            if (callbacks_.on_evicted) callbacks_.on_evicted(gone);
        }
    }
    // Behind the evicted messages' own writes on the worker, so no file comes back after this.
    disk_->post([files = outbox_.files(), evicted = std::move(evicted)]() {
        for (const PendingMessage& gone : evicted) {
            auto discarded = files->discard(gone.seq, gone.kind);
            if (!discarded) log::warning("outbox: " + discarded.error());
        }
    });
    dropped();
}

// Something was dropped by the bounds: say so now, then at most once per drop_log_interval, so a
// flood of junk costs one log line a minute.
void HubLink::dropped() {
    if (drop_log_armed_) return;
    log_drops();
    drop_log_armed_ = true;
    std::weak_ptr<int> alive = alive_;
    drop_log_timer_.expires_after(drop_log_interval);
    drop_log_timer_.async_wait([this, alive](beast::error_code ec) {
        if (ec || !alive.lock()) return;
        drop_log_armed_ = false;
        if (total(drops_) != total(drops_logged_)) dropped();
    });
}

void HubLink::log_drops() {
    const OutboxDrops& now = drops_;
    const OutboxDrops& then = drops_logged_;
    std::string line = "bounds of the hub link: dropped";
    bool first = true;
    auto part = [&line, &first](std::uint64_t count, const char* what) {
        if (count == 0) return;
        line += (first ? " " : ", ") + std::to_string(count) + " " + what;
        first = false;
    };
    part(now.refusals_suppressed - then.refusals_suppressed,
         "refusal(s) of unverifiable tokens over the rate (not stored)");
    part(now.refusals_evicted - then.refusals_evicted,
         "unacked refusal(s) of unverifiable tokens over the outbox's bound");
    part(now.results_evicted - then.results_evicted,
         "unacked action result(s) over the outbox's bound");
    part(now.action_frames_dropped - then.action_frames_dropped,
         "action frame(s) over the rate (not read)");
    line += "; the next lines of this kind come at most once a minute";
    log::warning(line);
    drops_logged_ = drops_;
}

void HubLink::on_ack(std::uint64_t seq) {
    auto acked = outbox_.take_acked(seq);
    log::debug("hub acked seq " + std::to_string(seq));
    if (!acked) return;
    // First the owner (it may post work of its own to the disk worker, e.g. the result ledger's
    // copy of an acked result), then the file's removal: the worker keeps that order, so the
    // ledger's copy is durable before the outbox's goes.
    if (callbacks_.on_acked) callbacks_.on_acked(*acked);
    disk_->post([files = outbox_.files(), seq, kind = acked->kind]() {
        auto removed = files->acknowledge(seq, kind);
        if (!removed) log::warning("outbox: " + removed.error());
    });
}

void HubLink::resend(std::string frame) {
    enqueue(std::move(frame));
}

void HubLink::enqueue(std::string text) {
    if (!session_) return;  // the outbox re-sends it after the next connect
    if (session_->queued_bytes + text.size() > outbox_.limits().max_queued_bytes) {
        const std::string line =
            "the hub reads nothing: " + std::to_string(session_->queued_bytes) +
            " bytes wait to be written; dropping the connection (the outbox "
            "is sent again on the next one)";
        log::event(log::Level::warning, log::Event::hub_disconnected, line);
        note_error(line);
        end_session();
        return;
    }
    session_->queued_bytes += text.size();
    session_->queue.push_back(std::move(text));
    session_->wake.cancel();
}

// Waits in slices, so that a long back-off (up to the cap of minutes) still shows the loop alive.
asio::awaitable<void> HubLink::wait_before_retry() {
    auto delay = backoff_.next_delay(io_.uniform01());
    log::info("next connection attempt in " + std::to_string(delay.count()) + " ms");
    const auto until = std::chrono::steady_clock::now() + delay;
    do {
        retry_timer_.expires_at(std::min(until, std::chrono::steady_clock::now() + progress_slice));
        beast::error_code ignored;
        co_await retry_timer_.async_wait(redirect_error(use_awaitable, ignored));
        mark_progress();
    } while (!stopping_ && std::chrono::steady_clock::now() < until);
}

asio::awaitable<void> HubLink::run() {
    while (!stopping_) {
        auto options = callbacks_.connect_options();
        if (!options) {
            log::error("cannot connect to the hub: " + options.error());
            note_error("cannot connect to the hub: " + options.error());
            co_await wait_before_retry();
            continue;
        }
        mark_progress();
        auto session = std::make_shared<Session>(executor_, io_.connect(std::move(*options)));
        session->connection->on_progress([this]() { mark_progress(); });
        auto failure = co_await session->connection->connect();
        mark_progress();
        if (failure) {
            log::warning(failure->message);
            note_error(failure->message);
            co_await wait_before_retry();
            continue;
        }
        if (stopping_) {
            co_await session->connection->close();
            break;
        }
        const auto connected_at = std::chrono::steady_clock::now();
        log::event(log::Level::notice, log::Event::hub_connected,
                   "connected to the hub; " + std::to_string(outbox_.pending().size()) +
                       " message(s) waiting in the outbox");
        session_ = session;
        connection_state_.connected = true;
        connection_state_.since = std::chrono::system_clock::now();
        action_frames_.reset(io_.now());
        HelloFields hello = callbacks_.hello();
        hello.dropped = drops_;  // so the hub learns what the bounds dropped
        enqueue(encode_hello(hello));
        for (const PendingMessage& message : outbox_.pending()) enqueue(message.text);
        if (callbacks_.on_connected) callbacks_.on_connected();

        // A writer that throws takes the link down with it, like the reader would.
        asio::co_spawn(executor_, write_loop(session), [this](std::exception_ptr error) {
            if (error) loop_ended(error, "the hub link's writer");
        });
        co_await read_loop(session);

        if (session_ == session) end_session();
        backoff_.connection_ended(std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - connected_at));
        if (!stopping_) co_await wait_before_retry();
    }
}

asio::awaitable<void> HubLink::write_loop(std::shared_ptr<Session> session) {
    while (!session->over) {
        if (session->queue.empty()) {
            session->wake.expires_at(asio::steady_timer::time_point::max());
            beast::error_code ignored;
            co_await session->wake.async_wait(redirect_error(use_awaitable, ignored));
            continue;
        }
        std::string text = std::move(session->queue.front());
        session->queue.pop_front();
        session->queued_bytes -= text.size();
        auto error = co_await session->connection->write(std::move(text));
        if (error) {
            if (!session->over) {
                log::event(log::Level::warning, log::Event::hub_disconnected,
                           "lost the hub connection while sending: " + error.message());
                note_error("lost the hub connection while sending: " + error.message());
            }
            session->connection->abort();  // the reader ends too, and run() reconnects
            co_return;
        }
    }
}

asio::awaitable<void> HubLink::read_loop(std::shared_ptr<Session> session) {
    for (;;) {
        Frame frame = co_await session->connection->read();
        mark_progress();
        if (session->over) co_return;  // ended by die() or stop() meanwhile
        if (frame.error) {
            if (frame.error == beast::websocket::error::message_too_big) {
                const std::string line = "the hub sent a frame over " +
                                         std::to_string(max_hub_frame_bytes) +
                                         " bytes; reconnecting";
                log::warning(line);
                note_error(line);
            } else if (!stopping_) {
                log::event(log::Level::warning, log::Event::hub_disconnected,
                           "hub connection lost: " + frame.error.message());
                note_error("hub connection lost: " + frame.error.message());
            }
            co_return;
        }
        if (frame.binary) {
            log::warning("dropped a binary frame from the hub (" +
                         std::to_string(frame.text.size()) + " bytes)");
            continue;
        }
        handle_frame(frame);
    }
}

void HubLink::handle_frame(const Frame& frame) {
    auto message = decode_hub_message(frame.text);
    if (!message) {
        log::warning("dropped a frame from the hub: " + message.error());
        return;
    }
    std::visit(
        [this](auto&& decoded) {
            using T = std::decay_t<decltype(decoded)>;
            if constexpr (std::is_same_v<T, Welcome>) {
                for (const auto& reason : decoded.dropped_apps) log::warning("welcome: " + reason);
                if (callbacks_.on_welcome) callbacks_.on_welcome(decoded);
            } else if constexpr (std::is_same_v<T, AppsUpdate>) {
                for (const auto& reason : decoded.dropped_apps) log::warning("apps: " + reason);
                if (callbacks_.on_apps) callbacks_.on_apps(decoded);
            } else if constexpr (std::is_same_v<T, ActionRequest>) {
                if (!action_frames_.take(io_.now())) {
                    ++drops_.action_frames_dropped;
                    dropped();
                    return;
                }
                if (callbacks_.on_action) callbacks_.on_action(decoded.eat);
            } else if constexpr (std::is_same_v<T, CollectRequest>) {
                if (callbacks_.on_collect) callbacks_.on_collect();
            } else if constexpr (std::is_same_v<T, Ack>) {
                on_ack(decoded.seq);
            } else if constexpr (std::is_same_v<T, HubError>) {
                log::warning("the hub reported an error: " + decoded.code + ": " + decoded.message);
            } else if constexpr (std::is_same_v<T, UnknownMessage>) {
                if (unknown_types_logged_.size() < 100 &&
                    unknown_types_logged_.insert(decoded.type).second) {
                    log::notice("ignored a message of unknown type \"" + decoded.type +
                                "\" from the hub");
                }
            }
        },
        *message);
}

}  // namespace monsys::agent::hub
