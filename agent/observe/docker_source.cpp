#include "agent/observe/docker_source.hpp"

#include <algorithm>
#include <cstdint>
#include <random>

#include "agent/inventory/docker_containers.hpp"
#include "common/io/docker/async_client.hpp"
#include "common/io/docker/event_stream.hpp"
#include "common/io/docker/event_subscription.hpp"

namespace monsys::agent::observe {

namespace {

// filters={"type":["container"]}, percent-encoded.
constexpr const char* kEventsQuery = "/events?filters=%7B%22type%22%3A%5B%22container%22%5D%7D";

constexpr std::chrono::milliseconds kFirstRetry{1000};
constexpr std::chrono::milliseconds kMaxRetry{30000};
// A stream that stayed open this long was healthy: the next failure starts the back-off anew.
constexpr std::chrono::milliseconds kStableStream{30000};

std::int64_t now_nano() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

ContainerEvent to_event(io::docker::ContainerEventRecord record) {
    ContainerEvent event;
    event.id = std::move(record.id);
    event.name = std::move(record.name);
    event.compose_project = std::move(record.compose_project);
    event.compose_service = std::move(record.compose_service);
    event.action = std::move(record.action);
    event.at = record.time_nano > 0 ? SystemTime(std::chrono::duration_cast<SystemTime::duration>(
                                          std::chrono::nanoseconds(record.time_nano)))
                                    : std::chrono::system_clock::now();
    return event;
}

}  // namespace

// The state behind DockerSource; async operations hold it by shared_ptr or weak_ptr, so the thin
// owner can go away while they finish.
class DockerSourceCore : public std::enable_shared_from_this<DockerSourceCore> {
  public:
    DockerSourceCore(asio::any_io_executor executor, io::DockerSettings settings,
                     SourceEvents events)
        : executor_(executor),
          settings_(std::move(settings)),
          events_(std::move(events)),
          client_(io::docker::AsyncDockerClient::create(executor, settings_)),
          retry_timer_(executor),
          random_(std::random_device{}()) {}

    void list_containers(std::function<void(inventory::DockerSection)> done) {
        if (stopped_) return post_list_error(std::move(done), "the Docker source is stopped");
        client_->api_version([self = shared_from_this(), done = std::move(done)](
                                 Expected<io::docker::ApiVersion, std::string> version) mutable {
            self->after_version_for_list(std::move(version), std::move(done));
        });
    }

    void watch(bool on) {
        if (stopped_ || on == watching_) return;
        watching_ = on;
        if (on) return open_stream();
        close_stream();
        retry_timer_.cancel();
    }

    void stop() {
        if (stopped_) return;
        stopped_ = true;
        watching_ = false;
        close_stream();
        retry_timer_.cancel();
        client_->close();  // pending lists complete with an error
    }

    void drop_stream() {
        if (!subscription_) return;
        close_stream();
        stream_ended("dropped for a test");
    }

    std::size_t streams_opened() const { return streams_opened_; }

  private:
    static void post_list_error(asio::any_io_executor executor,
                                std::function<void(inventory::DockerSection)> done,
                                std::string reason) {
        inventory::DockerSection section;
        section.status.error = std::move(reason);
        asio::post(executor,
                   [done = std::move(done), section = std::move(section)] { done(section); });
    }
    void post_list_error(std::function<void(inventory::DockerSection)> done, std::string reason) {
        post_list_error(executor_, std::move(done), std::move(reason));
    }

    void after_version_for_list(Expected<io::docker::ApiVersion, std::string> version,
                                std::function<void(inventory::DockerSection)> done) {
        if (!version) {
            inventory::DockerSection section;
            section.status.error = std::move(version.error());
            return done(std::move(section));
        }
        client_->get("/containers/json?all=1",
                     [api = version->to_string(),
                      done = std::move(done)](Expected<io::docker::Response, std::string> reply) {
                         if (!reply) {
                             inventory::DockerSection section;
                             section.api_version = api;
                             section.status.error = std::move(reply.error());
                             return done(std::move(section));
                         }
                         done(inventory::docker_section_from_list(api, *reply));
                     });
    }

    // The events stream: version first (on the shared client), then its own connection.
    void open_stream() {
        std::uint64_t attempt = ++attempt_;
        client_->api_version([weak = weak_from_this(),
                              attempt](Expected<io::docker::ApiVersion, std::string> version) {
            auto self = weak.lock();
            if (!self || attempt != self->attempt_ || !self->watching_) return;
            if (!version) return self->stream_ended(std::move(version.error()));
            self->subscribe(*version, attempt);
        });
    }

    void subscribe(io::docker::ApiVersion version, std::uint64_t attempt) {
        std::string target = "/v" + version.to_string() + kEventsQuery;
        // Resume where the last stream was: the engine replays what happened in the gap.
        if (resume_from_nano_ > 0) {
            target += "&since=" + io::docker::events_since_value(resume_from_nano_);
        }
        io::docker::EventSubscription::Handlers handlers;
        auto weak = weak_from_this();
        handlers.opened = [weak, attempt] {
            if (auto self = weak.lock(); self && attempt == self->attempt_) self->stream_opened();
        };
        handlers.data = [weak, attempt](std::string_view bytes) {
            if (auto self = weak.lock(); self && attempt == self->attempt_) self->on_bytes(bytes);
        };
        handlers.ended = [weak, attempt](std::string reason) {
            if (auto self = weak.lock(); self && attempt == self->attempt_) {
                self->subscription_.reset();
                self->stream_ended(std::move(reason));
            }
        };
        parser_.reset();
        subscription_ = io::docker::EventSubscription::open(executor_, settings_, target,
                                                            std::move(handlers), {});
    }

    void stream_opened() {
        ++streams_opened_;
        opened_at_ = std::chrono::steady_clock::now();
        is_open_ = true;
        // With no event yet, a later gap is replayed from the moment we knew the stream open.
        resume_from_nano_ = std::max(resume_from_nano_, now_nano() - 1'000'000'000);
        if (events_.containers_resync) events_.containers_resync();
    }

    void on_bytes(std::string_view bytes) {
        for (auto& record : parser_.feed(bytes)) {
            resume_from_nano_ = std::max(resume_from_nano_, record.time_nano);
            if (events_.container_changed) events_.container_changed(to_event(std::move(record)));
            if (stopped_ || !watching_) return;  // a handler stopped us
        }
    }

    void close_stream() {
        ++attempt_;  // handlers of the old stream are stale from here on
        is_open_ = false;
        if (subscription_) subscription_->close();
        subscription_.reset();
    }

    void stream_ended(std::string reason) {
        last_error_ = std::move(reason);
        bool was_stable =
            is_open_ && std::chrono::steady_clock::now() - opened_at_ >= kStableStream;
        is_open_ = false;
        if (was_stable) failures_ = 0;
        if (stopped_ || !watching_) return;
        // 1 s doubling to 30 s; the delay is drawn from the upper half, so engines that restart
        // many agents' streams at once do not see them all come back together.
        auto ceiling = kFirstRetry * (1LL << std::min(failures_, 5));
        ceiling = std::min<std::chrono::milliseconds>(ceiling, kMaxRetry);
        ++failures_;
        std::uniform_real_distribution<double> half(0.5, 1.0);
        auto delay = std::chrono::milliseconds(
            static_cast<std::int64_t>(static_cast<double>(ceiling.count()) * half(random_)));
        std::uint64_t attempt = ++attempt_;
        retry_timer_.expires_after(delay);
        retry_timer_.async_wait([weak = weak_from_this(), attempt](beast::error_code ec) {
            auto self = weak.lock();
            if (ec || !self || attempt != self->attempt_ || !self->watching_) return;
            self->open_stream();
        });
    }

    asio::any_io_executor executor_;
    io::DockerSettings settings_;
    SourceEvents events_;
    std::shared_ptr<io::docker::AsyncDockerClient> client_;
    std::shared_ptr<io::docker::EventSubscription> subscription_;
    io::docker::EventStreamParser parser_;
    asio::steady_timer retry_timer_;
    std::minstd_rand random_;
    std::uint64_t attempt_ = 0;  // tells the current stream's handlers from stale ones
    std::int64_t resume_from_nano_ = 0;
    std::chrono::steady_clock::time_point opened_at_{};
    std::string last_error_;
    int failures_ = 0;
    std::size_t streams_opened_ = 0;
    bool watching_ = false;
    bool is_open_ = false;
    bool stopped_ = false;
};

DockerSource::DockerSource(asio::any_io_executor executor, io::DockerSettings settings,
                           SourceEvents events)
    : core_(std::make_shared<DockerSourceCore>(std::move(executor), std::move(settings),
                                               std::move(events))) {}

DockerSource::~DockerSource() {
    core_->stop();
}

void DockerSource::list_containers(std::function<void(inventory::DockerSection)> done) {
    core_->list_containers(std::move(done));
}

void DockerSource::watch(bool on) {
    core_->watch(on);
}

void DockerSource::stop() {
    core_->stop();
}

void DockerSource::drop_events_stream_for_test() {
    core_->drop_stream();
}

std::size_t DockerSource::streams_opened() const {
    return core_->streams_opened();
}

std::unique_ptr<ContainerSource> make_docker_source(asio::any_io_executor executor,
                                                    io::DockerSettings settings,
                                                    SourceEvents events) {
    return std::make_unique<DockerSource>(std::move(executor), std::move(settings),
                                          std::move(events));
}

}  // namespace monsys::agent::observe
