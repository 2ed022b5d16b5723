#pragma once
// The ProcessSource of the host: which processes run the tracked paths (a /proc scan,
// common/inventory/process_scan, on one worker thread so a slow /proc never holds the
// io_context), and the exit of the pid that runs each path, noticed at once through a pidfd
// (pidfd_open(2)) waited on by the io_context.
#include <chrono>
#include <memory>
#include <string>

#include "agent/observe/sources.hpp"
#include "common/io/asio.hpp"

namespace monsys::agent::observe {

// `root` is where /proc is read ("" for this host; a pidfd is only opened for this host).
// A scan stops at `scan_timeout`.
std::unique_ptr<ProcessSource> make_process_source(asio::any_io_executor executor,
                                                   std::string root,
                                                   std::chrono::milliseconds scan_timeout,
                                                   SourceEvents events);

}  // namespace monsys::agent::observe
