"""`python -m tests.emulator`: run the Mendeley API emulator until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .context import DEFAULT_CLIENT_SECRET, Emulator
from .keep_alive import KeepAliveHandler
from .seeding import SeedRequest, seed
from .server import make_content_server, make_emulator_server


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.emulator", description="Mendeley API emulator.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET)
    parser.add_argument("--seed-documents", type=int, default=0, metavar="N", help="start with N documents")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic library")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    emulator = Emulator(args.client_secret)
    if args.seed_documents:
        seed(emulator.library, SeedRequest(documents=args.seed_documents, seed=args.seed))
    KeepAliveHandler.verbose = args.verbose
    server = make_emulator_server(emulator, args.host, args.port)
    content_server = make_content_server(emulator, args.host)  # the second origin, for separate_content_host
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    threading.Thread(target=server.serve_forever, name="emulator", daemon=True).start()
    threading.Thread(target=content_server.serve_forever, name="content-host", daemon=True).start()
    port = server.socket.getsockname()[1]
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"listening on http://{host}:{port}", flush=True)
    while not stop.wait(0.5):
        pass
    for running in (server, content_server):
        running.shutdown()
        running.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
