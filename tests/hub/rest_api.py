"""The operator's REST API (aiohttp), JSON in and out, meant for loopback. See README.md."""

import asyncio
import base64
import binascii
import json
import traceback

from aiohttp import web

from core import ApiError, log
from validate import BadMessage, parse_json_strict

MAX_BODY = 64 * 1024 * 1024   # the test send endpoint carries frames over 32 MiB


def _json(data, status=200):
    return web.json_response(data, status=status,
                             dumps=lambda v: json.dumps(v, ensure_ascii=False))


@web.middleware
async def errors_middleware(request, handler):
    try:
        response = await handler(request)
    except ApiError as e:
        response = _json({"error": e.message}, status=e.status)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        response = _json({"error": e.reason}, status=e.status)
    except Exception:
        log("http.error", method=request.method, path=request.path,
            traceback=traceback.format_exc())
        response = _json({"error": "internal error (see the hub's log)"}, status=500)
    log("http", method=request.method, path=request.path_qs, status=response.status)
    return response


async def _body(request, required=True):
    if not request.can_read_body:
        if required:
            raise ApiError(400, "a JSON body is required")
        return {}
    try:
        body = parse_json_strict((await request.read()).decode("utf-8"))
    except UnicodeDecodeError:
        raise ApiError(400, "the body is not UTF-8") from None
    except BadMessage as e:
        raise ApiError(400, f"the body is not acceptable JSON: {e}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    return body


def make_app(hub, test_endpoints=False):
    routes = web.RouteTableDef()

    # --- apps ---

    @routes.get("/api/v1/apps")
    async def list_apps(request):
        agent_id = request.query.get("agent_id")
        apps = sorted(hub.store.apps.values(), key=lambda a: int(a["id"].split("-")[1]))
        if agent_id is not None:
            apps = [a for a in apps if a["agent_id"] == agent_id]
        return _json({"apps": [hub.app_view(a) for a in apps]})

    @routes.post("/api/v1/apps")
    async def create_app(request):
        app = await hub.create_app(await _body(request))
        return _json(hub.app_view(app), status=201)

    @routes.get("/api/v1/apps/{app_id}")
    async def get_app(request):
        return _json(hub.app_view(hub.app_or_404(request.match_info["app_id"])))

    @routes.patch("/api/v1/apps/{app_id}")
    async def patch_app(request):
        app_id = request.match_info["app_id"]
        hub.app_or_404(app_id)
        app = await hub.update_app(app_id, await _body(request))
        return _json(hub.app_view(app))

    @routes.delete("/api/v1/apps/{app_id}")
    async def delete_app(request):
        await hub.delete_app(request.match_info["app_id"])
        return _json({"deleted": request.match_info["app_id"]})

    @routes.post("/api/v1/apps/{app_id}/restart")
    async def restart_app(request):
        app_id = request.match_info["app_id"]
        hub.app_or_404(app_id)
        code = request.headers.get("X-TOTP-Code")
        try:
            body = await _body(request, required=False)
        except ApiError as e:
            body = e  # reported only once the TOTP code has been checked
        answer = await hub.request_restart(app_id, code, body, request.remote)
        return _json(answer, status=202)

    # --- agents ---

    @routes.get("/api/v1/agents")
    async def list_agents(request):
        return _json({"agents": [hub.agent_view(a) for a in hub.known_agent_ids()]})

    @routes.get("/api/v1/agents/{agent_id}")
    async def get_agent(request):
        return _json(hub.agent_view(request.match_info["agent_id"], full=True))

    @routes.get("/api/v1/agents/{agent_id}/discovered")
    async def discovered(request):
        return _json(hub.discovered(request.match_info["agent_id"]))

    @routes.get("/api/v1/agents/{agent_id}/inventory")
    async def inventory(request):
        agent_id = request.match_info["agent_id"]
        hub.agent_view(agent_id)
        message = hub.store.inventory(agent_id)
        if message is None:
            raise ApiError(404, f"no inventory from {agent_id} yet")
        return _json(message)

    @routes.get("/api/v1/agents/{agent_id}/frames")
    async def frames(request):
        agent_id = request.match_info["agent_id"]
        hub.agent_view(agent_id)
        return _json({"agent_id": agent_id, "frames": list(hub.frames[agent_id])})

    # --- evidence ---

    @routes.get("/api/v1/audit")
    async def audit(request):
        entries = hub.audit.entries
        event = request.query.get("event")
        if event:
            entries = [e for e in entries if e["event"] == event]
        return _json({"entries": entries})

    @routes.get("/api/v1/alerts")
    async def alerts(request):
        return _json({"alerts": hub.store.alerts})

    @routes.get("/api/v1/actions")
    async def actions(request):
        return _json({"actions": [hub.action_view(a) for a in hub.store.actions.values()]})

    @routes.get("/api/v1/actions/{jti}")
    async def action(request):
        found = hub.store.actions.get(request.match_info["jti"])
        if found is None:
            raise ApiError(404, "no action with this jti")
        return _json(hub.action_view(found))

    @routes.delete("/api/v1/agents/{agent_id}/action-key")
    async def unpin_action_key(request):
        return _json(hub.unpin_action_key(request.match_info["agent_id"]))

    @routes.get("/api/v1/results")
    async def results(request):
        return _json({"results": hub.store.result_list})

    @routes.get("/api/v1/results/{jti}")
    async def result(request):
        found = hub.store.results.get(request.match_info["jti"])
        if found is None:
            raise ApiError(404, "no result for this jti")
        return _json(found)

    @routes.get("/api/v1/transparency/verify")
    async def transparency_verify(request):
        return _json(hub.verify_transparency())

    @routes.get("/api/v1/keys")
    async def keys(request):
        from minting import public_key_base64
        return _json({"issuer": hub.issuer,
                      "keys": [{"kid": hub.kid,
                                "public_key": public_key_base64(hub.signing_key)}]})

    # --- test-only ---

    if test_endpoints:
        def connected(request):
            agent_id = request.match_info["agent_id"]
            link = hub.links.get(agent_id)
            if link is None:
                raise ApiError(409, f"{agent_id} is not connected")
            return link

        @routes.post("/api/v1/test/agents/{agent_id}/send")
        async def test_send(request):
            link = connected(request)
            body = await _body(request)
            if isinstance(body.get("text"), str):
                data, kind = body["text"], "(test text)"
            elif isinstance(body.get("binary_base64"), str):
                try:
                    data = base64.b64decode(body["binary_base64"], validate=True)
                except binascii.Error:
                    raise ApiError(400, "binary_base64 is not base64") from None
                kind = "(test binary)"
            else:
                raise ApiError(400, "give text or binary_base64")
            if not await link.send_raw(data, kind):
                raise ApiError(409, "the connection closed")
            return _json({"sent": len(data.encode("utf-8", "surrogatepass")
                                      if isinstance(data, str) else data)})

        @routes.post("/api/v1/test/agents/{agent_id}/action")
        async def test_action(request):
            body = await _body(request)
            answer = await hub.send_test_action(request.match_info["agent_id"], body.get("eat"))
            return _json(answer, status=202)

        @routes.post("/api/v1/test/agents/{agent_id}/resend-action")
        async def test_resend_action(request):
            body = await _body(request)
            return _json(await hub.resend_action(request.match_info["agent_id"],
                                                 body.get("jti")), status=202)

        @routes.post("/api/v1/test/agents/{agent_id}/collect")
        async def test_collect(request):
            if not await connected(request).send_json({"type": "collect"}):
                raise ApiError(409, "the connection closed")
            return _json({"sent": "collect"})

        @routes.post("/api/v1/test/agents/{agent_id}/disconnect")
        async def test_disconnect(request):
            link = connected(request)
            body = await _body(request, required=False)
            if body.get("abort"):
                link.abort()
                return _json({"aborted": True})
            code = body.get("code", 1000)
            if not isinstance(code, int) or isinstance(code, bool) or not (
                    code in (1000, 1001, 1008, 1011) or 3000 <= code <= 4999):
                raise ApiError(400, "code must be 1000, 1001, 1008, 1011 or 3000..4999")
            reason = body.get("reason", "closed by a test")
            if not isinstance(reason, str):
                raise ApiError(400, "reason must be a string")
            # not awaited: the closing handshake needs the peer, which may be waiting for us
            asyncio.ensure_future(link.close(code, reason))
            return _json({"closing": code})

        @routes.post("/api/v1/test/agents/{agent_id}/acks")
        async def test_acks(request):
            body = await _body(request)
            if not isinstance(body.get("enabled"), bool):
                raise ApiError(400, "enabled must be true or false")
            hub.acks_enabled[request.match_info["agent_id"]] = body["enabled"]
            return _json({"acks_enabled": body["enabled"]})

        @routes.post("/api/v1/test/liveness/check")
        async def test_liveness(request):
            hub.check_liveness()
            return _json({"apps": [hub.app_view(a) for a in hub.store.apps.values()]})

    app = web.Application(middlewares=[errors_middleware], client_max_size=MAX_BODY)
    app.add_routes(routes)
    return app
