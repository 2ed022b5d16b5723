#pragma once
// The ContainerSource of the Docker Engine API (Docker or podman's compatible service), on the
// daemon's io_context.
//
// list_containers: GET /containers/json?all=1 on the async client's kept-alive connection,
// decoded as the inventory does (docker_section_from_list).
//
// watch(true): one long-lived GET /events?filters={"type":["container"]} on its own connection.
// Each container event is pushed as container_changed. When the stream closes or fails it is
// opened again after a back-off (1 s doubling to 30 s, with jitter), with since= the time of the
// last event seen (or of the moment the stream was last known open), so that events of the gap
// are still delivered; containers_resync is pushed every time the stream (re)opens, because a
// gap must never hide a change. watch(false) closes the stream and stops reopening it.
#include <memory>

#include "agent/observe/sources.hpp"
#include "common/io/asio.hpp"
#include "common/io/docker/docker_settings.hpp"

namespace monsys::agent::observe {

class DockerSourceCore;

class DockerSource : public ContainerSource {
  public:
    DockerSource(asio::any_io_executor executor, io::DockerSettings settings, SourceEvents events);
    ~DockerSource() override;
    DockerSource(const DockerSource&) = delete;
    DockerSource& operator=(const DockerSource&) = delete;

    void list_containers(std::function<void(inventory::DockerSection)> done) override;
    void watch(bool on) override;
    void stop() override;

    // Test hook: breaks the open events stream as if the engine had dropped it (the source then
    // reopens it as after any failure).
    void drop_events_stream_for_test();
    // Events streams opened so far (headers or settle reached).
    std::size_t streams_opened() const;

  private:
    std::shared_ptr<DockerSourceCore> core_;
};

std::unique_ptr<ContainerSource> make_docker_source(asio::any_io_executor executor,
                                                    io::DockerSettings settings,
                                                    SourceEvents events);

}  // namespace monsys::agent::observe
