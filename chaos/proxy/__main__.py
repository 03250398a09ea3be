"""``python -m chaos.proxy``: run the fault proxy until SIGTERM / SIGINT.

    python -m chaos.proxy [--host 127.0.0.1] [--port 8474] [--config proxies.json] [--label TEXT]
                          [--allow-remote]

``--config`` populates proxies at start (a JSON array, like Toxiproxy's ``-config``); ``--label`` only
names the process (drivers use it to recognise the process they started). Exit codes: 0 after a
signal, 2 on a usage or start-up error (printed as one line).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path

import uvicorn

from .api import ProxyApi
from .errors import ApiError
from .registry import ProxyCollection


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m chaos.proxy", description="Toxiproxy-compatible fault proxy")
    parser.add_argument("--host", default="127.0.0.1", help="API listen host (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8474, help="API port (default 8474, Toxiproxy's; 0 = any)")
    parser.add_argument("--config", type=Path, default=None, help="JSON array of proxies to create at start")
    parser.add_argument("--label", default="", help="free text naming this proxy process")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow non-loopback listen and upstream addresses (default: loopback only)")
    return parser


async def serve(args: argparse.Namespace) -> None:
    collection = ProxyCollection(allow_remote=args.allow_remote)
    if args.config is not None:
        await collection.populate(json.loads(args.config.read_text()))
    config = uvicorn.Config(ProxyApi(collection), host=args.host, port=args.port, lifespan="off",
                            access_log=False, log_level="warning", log_config=None, http="httptools",
                            loop="none", timeout_keep_alive=30)
    server = uvicorn.Server(config)
    try:
        await server.serve()
    finally:
        await collection.close_all()
    if not server.started:
        raise OSError(f"could not serve the API on {args.host}:{args.port}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # uvicorn turns SIGTERM/SIGINT into a graceful stop, then re-raises the signal once it has restored
    # the previous handlers: make those a no-op so the proxies are closed and the exit code is 0.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    try:
        asyncio.run(serve(args))
    except (OSError, ApiError, ValueError) as exc:
        message = exc.message if isinstance(exc, ApiError) else str(exc)
        print(f"chaos.proxy: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
