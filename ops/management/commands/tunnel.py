"""Runs the development server behind an ngrok tunnel and prints its public URLs."""

from __future__ import annotations

import os
import signal

from django.core.management.base import BaseCommand, CommandError

from ops.tunnel import TunnelError, tunnel_run


def _stop_on_sigterm(signum, frame) -> None:
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = __doc__
    requires_system_checks: list[str] = []  # runserver runs them in its own process

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--port",
            type=int,
            default=int(os.environ.get("PORT") or 8000),
            help="Port of the development server (default: $PORT or 8000).",
        )
        parser.add_argument(
            "--proxy-port",
            type=int,
            help="Point ngrok at a local path-prefix proxy on this port instead "
            "(with URL_PREFIX; see deploy/proxy/Caddyfile).",
        )
        parser.add_argument(
            "--timeout",
            type=float,
            default=20.0,
            help="Seconds to wait for ngrok's URL and for the server (default 20).",
        )
        parser.add_argument(
            "--noreload",
            action="store_false",
            dest="reload",
            help="Don't restart the server when code changes.",
        )

    def handle(self, *args, **options) -> None:
        signal.signal(signal.SIGTERM, _stop_on_sigterm)
        auth_token = os.environ.get("NGROK_AUTH_TOKEN") or os.environ.get(
            "NGROK_AUTHTOKEN", ""
        )
        try:
            tunnel_run(
                port=options["port"],
                proxy_port=options["proxy_port"],
                auth_token=auth_token.strip(),
                domain=os.environ.get("NGROK_DOMAIN", "").strip(),
                timeout=options["timeout"],
                reload=options["reload"],
                write=self._say,
            )
        except TunnelError as error:
            raise CommandError(error) from None
        except KeyboardInterrupt:
            self._say("Tunnel and server stopped.")

    def _say(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()
