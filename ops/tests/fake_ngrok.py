"""A stand-in for the ngrok agent: JSON log lines like ngrok v3's, and no network.

Installed on PATH as `ngrok` by the tunnel tests. FAKE_NGROK_MODE picks a behaviour:
`tunnel` (default) announces a URL and runs until killed; `api` names the URL only in
its local API (/api/tunnels), as some agent versions do; `fail` reports an
authentication error and exits 1; `silent` never announces a URL. Its arguments and
process id go to FAKE_NGROK_ARGS_FILE as JSON.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

RANDOM_URL = "https://abcd-203-0-113-7.ngrok-free.app"


def log(**fields) -> None:
    sys.stdout.write(json.dumps({"t": "2026-01-01T00:00:00Z", **fields}) + "\n")
    sys.stdout.flush()


def requested_url(args: list[str]) -> str:
    for flag in ("--url", "--domain"):
        if flag in args:
            value = args[args.index(flag) + 1]
            return value if "://" in value else f"https://{value}"
    return RANDOM_URL


def serve_api(public_url: str | None) -> str:
    """ngrok's local API on a free port, listing the tunnel once there is one."""

    class Api(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            tunnel = {
                "name": "command_line",
                "public_url": public_url,
                "proto": "https",
            }
            body = json.dumps({"tunnels": [tunnel] if public_url else []}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"127.0.0.1:{server.server_address[1]}"


def main() -> None:
    args = sys.argv[1:]
    if path := os.environ.get("FAKE_NGROK_ARGS_FILE"):
        with open(path, "w") as file:
            json.dump({"args": args, "pid": os.getpid()}, file)
    mode = os.environ.get("FAKE_NGROK_MODE", "tunnel")
    public_url = requested_url(args)
    log(lvl="info", msg="no configuration paths supplied")
    if mode == "fail":
        err = (
            "authentication failed: The authtoken you specified does not look like a "
            "proper ngrok tunnel authtoken.\nYour authtoken: bad\n\nERR_NGROK_105\n"
        )
        log(lvl="eror", msg="session closing", obj="tunnels.session", err=err)
        # Then, as the agent does, the same text on stderr, each line marked ERROR:.
        sys.stderr.writelines(f"ERROR:  {line}\n" for line in err.splitlines())
        sys.stderr.flush()
        sys.exit(1)
    web_addr = serve_api(None if mode == "silent" else public_url)
    log(lvl="info", msg="starting web service", obj="web", addr=web_addr)
    log(lvl="info", msg="client session established", obj="tunnels.session")
    if mode == "tunnel":
        addr = next((arg for arg in args if ":" in arg and "//" not in arg), "")
        log(
            lvl="info",
            msg="started tunnel",
            obj="tunnels",
            name="command_line",
            addr=f"http://{addr}",
            url=public_url,
        )
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
