"""The liveness worker: every interval, compare each tracked app's latest observed state (from its
agent's latest `state` message) with its expected state.

Rules, per app, per check:

- observed == expected: a match. Both counters go back to 0 and an alert is cleared.
- observed is the other of running/stopped: a mismatch. consecutive_unknown goes back to 0,
  consecutive_mismatch += 1, audit `app.state_mismatch`.
- observed is unknown: consecutive_unknown += 1. The first three in a row change nothing else;
  from the 4th in a row on, each one is a mismatch as above. (Unknowns neither count nor reset
  consecutive_mismatch before that.)
- When consecutive_mismatch reaches exactly 3, one alert (severity warning) is raised; no other
  one while the mismatches go on.
- An app without an entry in its agent's latest state is skipped.
"""

import asyncio

UNKNOWN_GRACE = 3
ALERT_AFTER = 3


def new_counters():
    return {"consecutive_mismatch": 0, "consecutive_unknown": 0, "alerting": False,
            "checked_at": None}


def step(counters, expected, observed):
    """Applies one check to `counters` (changed in place). Returns the events it causes, a list
    of "mismatch", "alert", "cleared"."""
    events = []
    if observed == expected:
        if counters["alerting"]:
            events.append("cleared")
        counters.update(consecutive_mismatch=0, consecutive_unknown=0, alerting=False)
        return events
    if observed == "unknown":
        counters["consecutive_unknown"] += 1
        if counters["consecutive_unknown"] <= UNKNOWN_GRACE:
            return events
    else:
        counters["consecutive_unknown"] = 0
    counters["consecutive_mismatch"] += 1
    events.append("mismatch")
    if counters["consecutive_mismatch"] == ALERT_AFTER and not counters["alerting"]:
        counters["alerting"] = True
        events.append("alert")
    return events


async def run(hub, interval):
    """Checks every `interval` seconds until cancelled."""
    while True:
        await asyncio.sleep(interval)
        try:
            hub.check_liveness()
        except Exception as e:  # keep the worker alive; the hub logs it
            hub.log("liveness.error", error=repr(e))
