#!/usr/bin/env bash
# The hub-link benchmark (tests/bench/hub_link.py): action latency overhead through the reference
# hub, idle RSS and CPU, and wire bytes per hour of monsys-agent with 10 tracked apps. As root,
# after `cmake --build build/default --target monsys-agent monsys-action`. Takes ~12 minutes with
# the default 10-minute idle window. Options: tests/bench/hub_link.py --help
exec /usr/bin/python3 "$(cd "$(dirname "$0")/.." && pwd)/tests/bench/hub_link.py" "$@"
