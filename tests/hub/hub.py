#!/usr/bin/python3
"""monsys reference hub: the hub side of monsys.agent.v1 (docs/protocol.md), for end-to-end
tests and demos. Run with /usr/bin/python3 (Debian 12's python3-websockets 10.4, aiohttp 3.8,
pyotp, PyJWT, cryptography). See tests/hub/README.md."""

import argparse
import asyncio
import json
import logging
import os
import signal
import ssl
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from aiohttp import web  # noqa: E402

import agent_link  # noqa: E402
import liveness  # noqa: E402
import minting  # noqa: E402
import rest_api  # noqa: E402
from core import Hub, load_agent_tokens, log  # noqa: E402


def positive_float(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return value


def build_parser():
    p = argparse.ArgumentParser(prog="hub.py", description=__doc__)
    p.add_argument("--state-dir", required=True, help="where the state and the logs are kept")
    p.add_argument("--agent-token-file", required=True,
                   help="agent_id:token lines, or one bare token bound to --agent-id")
    p.add_argument("--agent-id", help="the agent a bare token in --agent-token-file belongs to")
    p.add_argument("--signing-key", required=True, help="Ed25519 private key (PKCS#8 PEM)")
    p.add_argument("--kid", default="hub-1", help="key id in the EAT header (default hub-1)")
    p.add_argument("--issuer", default="monsys-hub", help="EAT iss (default monsys-hub)")
    p.add_argument("--totp-secret-file", required=True,
                   help="file whose first line is the base32 TOTP secret")
    p.add_argument("--ws-host", default="127.0.0.1")
    p.add_argument("--ws-port", type=int, default=0, help="0: any free port (default)")
    p.add_argument("--tls-cert", help="PEM certificate (chain): the endpoint is wss")
    p.add_argument("--tls-key", help="PEM private key of --tls-cert")
    p.add_argument("--http-host", default="127.0.0.1")
    p.add_argument("--http-port", type=int, default=0, help="0: any free port (default)")
    p.add_argument("--ready-file", help="written (atomically) once listening: "
                   '{"ws_url", "http_url", "pid", ...}')
    p.add_argument("--liveness-interval", type=positive_float, default=60.0,
                   help="seconds between liveness checks (default 60; fractions allowed)")
    p.add_argument("--state-interval", type=int,
                   help="state_interval_secs to send in welcome (default: none sent)")
    p.add_argument("--inventory-interval", type=int,
                   help="inventory_interval_secs to send in welcome (default: none sent)")
    p.add_argument("--test-endpoints", action="store_true",
                   help="enable /api/v1/test/... (frames, tokens, disconnects for tests)")
    return p


def read_first_line(path):
    with open(path, encoding="utf-8") as f:
        return f.readline().strip()


def write_ready_file(path, info):
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(info, f)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


def url_host(host):
    return f"[{host}]" if ":" in host else host


async def main(args):
    if bool(args.tls_cert) != bool(args.tls_key):
        raise ValueError("--tls-cert and --tls-key go together")
    ssl_context = None
    if args.tls_cert:
        ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ssl_context.minimum_version = ssl.TLSVersion.TLSv1_2
        ssl_context.load_cert_chain(args.tls_cert, args.tls_key)

    hub = Hub(state_dir=args.state_dir,
              agent_tokens=load_agent_tokens(args.agent_token_file, args.agent_id),
              signing_key=minting.load_signing_key(args.signing_key), kid=args.kid,
              issuer=args.issuer, totp_secret=read_first_line(args.totp_secret_file),
              state_interval=args.state_interval, inventory_interval=args.inventory_interval)

    ws_server = await agent_link.serve(hub, args.ws_host, args.ws_port, ssl_context)
    ws_port = ws_server.sockets[0].getsockname()[1]

    runner = web.AppRunner(rest_api.make_app(hub, args.test_endpoints), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, args.http_host, args.http_port)
    await site.start()
    http_port = runner.addresses[0][1]

    scheme = "wss" if ssl_context else "ws"
    info = {"ws_url": f"{scheme}://{url_host(args.ws_host)}:{ws_port}{agent_link.PATH}",
            "http_url": f"http://{url_host(args.http_host)}:{http_port}",
            "pid": os.getpid(), "ws_port": ws_port, "http_port": http_port,
            "public_key": minting.public_key_base64(hub.signing_key), "kid": args.kid,
            "issuer": args.issuer}
    log("listening", ws_url=info["ws_url"], http_url=info["http_url"],
        agents=sorted(set(hub.agent_tokens.values())), apps=len(hub.store.apps),
        transparency_entries=hub.transparency.count)
    if args.ready_file:
        write_ready_file(args.ready_file, info)

    worker = asyncio.ensure_future(liveness.run(hub, args.liveness_interval))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()

    log("stopping")
    worker.cancel()
    ws_server.close()
    await ws_server.wait_closed()
    await runner.cleanup()
    hub.store.save_agents()
    return 0


if __name__ == "__main__":
    arguments = build_parser().parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        sys.exit(asyncio.run(main(arguments)))
    except (OSError, ValueError) as e:
        print(f"hub.py: {e}", file=sys.stderr)
        sys.exit(2)
