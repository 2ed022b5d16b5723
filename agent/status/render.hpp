#pragma once
// `monsys-agent status` as a person reads it: a few aligned lines and two tables. Every value
// that came from outside (an app's detail, a hub error, a jti) is printed escaped and cut, so
// the output cannot move the cursor or hide a line. Pure.
#include <string>

#include "agent/status/offline_view.hpp"
#include "agent/status/status_snapshot.hpp"
#include "agent/status/verdict.hpp"

namespace monsys::agent::status {

// The running daemon's view.
std::string render_snapshot(const Snapshot& snapshot, const Verdict& verdict, Time now);

// The daemon is not running: the verdict, then what the state directory holds.
std::string render_offline(const OfflineView& view, const Verdict& verdict, Time now);

}  // namespace monsys::agent::status
