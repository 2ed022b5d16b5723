"""The agent endpoint: WebSocket `/agent`, subprotocol monsys.agent.v1 (docs/protocol.md), on the
legacy asyncio server of python3-websockets 10.x."""

import asyncio
import http
import json
import traceback

import websockets.exceptions
import websockets.server
from websockets.headers import parse_subprotocol

import validate
from core import log
from evidence import now_iso

SUBPROTOCOL = "monsys.agent.v1"
PATH = "/agent"
MAX_FRAME = 32 * 1024 * 1024


class AgentLink:
    """One authenticated connection of one agent."""

    def __init__(self, hub, ws, agent_id):
        self.hub = hub
        self.ws = ws
        self.agent_id = agent_id
        self.hello_seen = False
        self._send_lock = asyncio.Lock()
        peer = ws.remote_address
        self.remote = f"{peer[0]}:{peer[1]}" if peer else "?"

    @property
    def close_code(self):
        return self.ws.close_code

    async def send_raw(self, data, kind):
        """Sends one frame (str: text, bytes: binary). False when the connection is gone."""
        try:
            async with self._send_lock:
                await self.ws.send(data)
        except websockets.exceptions.ConnectionClosed:
            return False
        size = len(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
        self.hub.record_frame(self.agent_id, "out", kind, size)
        return True

    async def send_json(self, msg):
        return await self.send_raw(json.dumps(msg, ensure_ascii=False,
                                              separators=(",", ":")), msg["type"])

    async def send_error(self, code, message):
        if len(message) > 500:   # it may quote the agent's frame; stay far below 1 MiB
            message = message[:500] + "..."
        await self.send_json({"type": "error", "code": code, "message": message})

    async def close(self, code=1000, reason=""):
        await self.ws.close(code, reason)

    def abort(self):
        self.ws.transport.abort()

    # ------------------------------------------------------------------ receiving

    async def run(self):
        try:
            async for frame in self.ws:
                try:
                    await self.on_frame(frame)
                except websockets.exceptions.ConnectionClosed:
                    raise
                except Exception:  # a bug here must not take the link down; say so and go on
                    log("frame.internal_error", agent=self.agent_id,
                        traceback=traceback.format_exc())
                    await self.send_error("internal_error", "the hub failed on this frame; "
                                          "see its log")
        except websockets.exceptions.ConnectionClosed:
            pass

    async def on_frame(self, frame):
        hub, agent_id = self.hub, self.agent_id
        rec = hub.store.agent(agent_id)
        rec["counters"]["frames"] += 1
        rec["last_seen_at"] = now_iso()
        if isinstance(frame, bytes):
            hub.record_frame(agent_id, "in", "(binary)", len(frame), outcome="bad_message")
            return await self._refuse(validate.BadMessage("binary frames are not accepted"))
        size = len(frame.encode("utf-8", "surrogatepass"))
        try:
            msg = validate.parse_agent_frame(frame)
        except validate.BadMessage as e:
            hub.record_frame(agent_id, "in", None, size, outcome="bad_message")
            return await self._refuse(e)
        kind = msg["type"]
        seq = msg.get("seq")

        if kind == "hello":
            return await self._on_hello(msg, size)
        check = validate.DATA_CHECKS.get(kind)
        if check is None:
            rec["counters"]["unknown_types"] += 1
            hub.record_frame(agent_id, "in", kind, size, outcome="unknown_type")
            log("frame.unknown_type", agent=agent_id, type=kind)
            return await self.send_error("unknown_type", f"unknown message type {kind!r}")
        try:
            check(msg)
            if not self.hello_seen:
                raise validate.BadMessage(f"{kind}: hello must come first")
        except validate.BadMessage as e:
            hub.record_frame(agent_id, "in", kind, size, seq=seq, outcome="bad_message")
            return await self._refuse(e)

        outcome = hub.on_data(agent_id, msg)
        extra = {"jti": validate.result_jti(msg)} if kind == "action_result" else {}
        hub.record_frame(agent_id, "in", kind, size, seq=seq, outcome=outcome, **extra)
        log("frame", agent=agent_id, type=kind, seq=seq, bytes=size, outcome=outcome, **extra)
        if outcome == "conflict":
            await self.send_error("seq_conflict", f"{kind}: seq {seq} was already stored with "
                                  "other content; not applied")
        if hub.acks_enabled.get(agent_id, True):
            await self.send_json({"type": "ack", "seq": seq})

    async def _refuse(self, error):
        self.hub.store.agent(self.agent_id)["counters"]["bad_messages"] += 1
        log("frame.refused", agent=self.agent_id, code=error.code, message=str(error))
        await self.send_error(error.code, str(error))

    async def _on_hello(self, msg, size):
        hub = self.hub
        try:
            validate.check_hello(msg)
        except validate.BadMessage as e:
            hub.record_frame(self.agent_id, "in", "hello", size, outcome="bad_message")
            return await self._refuse(e)
        if msg["agent_id"] != self.agent_id:
            hub.record_frame(self.agent_id, "in", "hello", size, outcome="wrong_agent")
            log("agent.wrong_id", agent=self.agent_id, hello_agent_id=msg["agent_id"])
            await self.send_error("wrong_agent", f"hello: agent_id {msg['agent_id']!r} is not "
                                  "the agent this token belongs to")
            await self.close(1008, "agent_id does not match the token")
            return
        self.hello_seen = True
        stored = hub.store.agent(self.agent_id)["max_seq"]
        if msg["last_acked_seq"] > stored:
            log("agent.seq_ahead", agent=self.agent_id, last_acked_seq=msg["last_acked_seq"],
                hub_max_seq=stored, note="the agent had acks this hub has no record of")
        hub.on_hello(self.agent_id, msg)
        hub.record_frame(self.agent_id, "in", "hello", size, outcome="stored")
        log("agent.hello", agent=self.agent_id, version=msg.get("version"),
            hostname=msg.get("hostname"), boot_id=msg.get("boot_id"),
            last_acked_seq=msg["last_acked_seq"])
        await self.send_json(hub.welcome(self.agent_id))
        await hub.deliver_pending(self.agent_id)


def _offered_subprotocols(headers):
    offered = []
    for value in headers.get_all("Sec-WebSocket-Protocol"):
        try:
            offered += parse_subprotocol(value)
        except websockets.exceptions.InvalidHeader:
            pass
    return offered


def _authorization(headers):
    """The one Authorization header, or None (also when there are several)."""
    values = headers.get_all("Authorization")
    return values[0] if len(values) == 1 else None


def _response(status, text, headers=()):
    return status, list(headers), text.encode() + b"\n"


async def serve(hub, host, port, ssl_context=None):
    """Starts the endpoint; returns the websockets server."""

    async def process_request(path, headers):
        if path.split("?", 1)[0] != PATH:
            log("ws.refused", path=path, status=404)
            return _response(http.HTTPStatus.NOT_FOUND, f"no WebSocket endpoint at {path}")
        agent_id = hub.authenticate(_authorization(headers))
        if agent_id is None:
            why = "missing" if "Authorization" not in headers else "wrong"
            log("ws.refused", status=401, token=why,
                user_agent=" ".join(headers.get_all("User-Agent")))
            return _response(http.HTTPStatus.UNAUTHORIZED, f"agent token {why}",
                             [("WWW-Authenticate", 'Bearer realm="monsys-hub"')])
        if SUBPROTOCOL not in _offered_subprotocols(headers):
            log("ws.refused", status=400, agent=agent_id, reason="no subprotocol")
            return _response(http.HTTPStatus.BAD_REQUEST,
                             f"the subprotocol {SUBPROTOCOL} is required")
        return None

    async def handler(ws):
        agent_id = hub.authenticate(_authorization(ws.request_headers))
        if agent_id is None or ws.subprotocol != SUBPROTOCOL:  # process_request refused these
            await ws.close(1008)
            return
        link = AgentLink(hub, ws, agent_id)
        old = hub.attach(link)
        if old is not None:
            asyncio.ensure_future(old.close(1000, "replaced by a newer connection"))
        try:
            await link.run()
        finally:
            hub.detach(link)

    return await websockets.server.serve(
        handler, host, port, ssl=ssl_context, process_request=process_request,
        subprotocols=[SUBPROTOCOL], max_size=MAX_FRAME, compression=None,
        server_header="monsys-reference-hub")
