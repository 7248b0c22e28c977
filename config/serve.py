"""The production web server (the Procfile's `web:`): granian serving config.wsgi.

`python -m config.serve` reads its settings from the environment (docs/operators.md
"Running in production"). The project is imported once, in the main process, and
the workers fork from it ready, sharing its memory until they write to it.

On SIGTERM with DRAIN_SECONDS, the main process first writes the drain flag that
every worker's /health reads (core.health), keeps serving that long, then stops
the workers gracefully; without it, the graceful stop begins at once.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from granian import Granian
from granian.constants import Interfaces
from granian.http import HTTP1Settings
from granian.log import LogLevels

from config.access_log import AccessLogApp
from config.env import env_bool, env_int, env_str
from config.observability import log_format_from_env, logging_config

logger = logging.getLogger("_granian")

APPLICATION = "config.wsgi:application"
# The env var through which workers learn where the drain flag is (core.health).
DRAIN_FLAG_ENV = "GATEHOUSE_DRAIN_FLAG"
# What the gunicorn configuration read, and nothing reads now (docs/operators.md).
RETIRED_SETTINGS = (
    "GUNICORN_THREADS",
    "GUNICORN_PRELOAD",
    "GUNICORN_TIMEOUT",
    "GUNICORN_GRACEFUL_TIMEOUT",
    "GUNICORN_DRAIN_SECONDS",
    "GUNICORN_CONTROL_SOCKET",
    "GUNICORN_MAX_REQUESTS",
)


def server_settings() -> dict[str, Any]:
    """granian's settings from the environment, each with its default."""
    max_rss = env_int("WEB_WORKER_MAX_RSS_MB", default=200)
    lifetime = env_int("WEB_WORKER_LIFETIME_SECONDS", default=0)
    return {
        "address": env_str("WEB_BIND_ADDRESS", "0.0.0.0"),  # noqa: S104 (behind the platform's proxy)
        "port": env_int("PORT", default=8000),
        "interface": Interfaces.WSGI,
        # Measured on 2 cores (docs/contributors.md "The server model"): 2 workers
        # of 2 Python threads beat 1 or 4 threads, and gunicorn's gthread 2 x 4.
        "workers": env_int("WEB_CONCURRENCY", default=2),
        "blocking_threads": env_int("WEB_THREADS", default=2),
        "runtime_threads": 1,
        "websockets": False,
        # A worker over this resident size (two samples 30 s apart) is replaced by a
        # fresh one, started first: a slow leak never exhausts the instance (0: off).
        "workers_max_rss": max_rss or None,
        "rss_sample_interval": 30,
        "rss_samples": 2,
        "workers_lifetime": lifetime or None,
        # On stop (and on a worker's replacement), in-flight requests get this long.
        "workers_kill_timeout": env_int("WEB_GRACEFUL_TIMEOUT", default=25),
        "respawn_failed_workers": True,
        # A client has this long to send a request's headers (slow clients), and an
        # idle keep-alive connection is closed after it (gunicorn's keepalive was 5 s).
        "http1_settings": HTTP1Settings(
            header_read_timeout=env_int("WEB_HEADER_READ_TIMEOUT", default=5) * 1000
        ),
        # One access line per request comes from config/access_log.py, which sees
        # the response's X-Request-ID; granian's own would not.
        "log_access": False,
        "log_level": LogLevels.info,
        "log_dictconfig": logging_config(
            log_format=log_format_from_env(), level=env_str("LOG_LEVEL", "INFO")
        ),
    }


class WebServer(Granian):  # type: ignore[misc, valid-type]
    """granian's server, with the drain on SIGTERM and the project preloaded."""

    def __init__(self, *, drain_seconds: float, **settings: Any) -> None:
        super().__init__(APPLICATION, **settings)
        self.drain_seconds = drain_seconds
        self.drain_directory = Path(tempfile.mkdtemp(prefix="gatehouse-web-"))
        self.drain_flag = self.drain_directory / "draining"
        os.environ[DRAIN_FLAG_ENV] = str(self.drain_flag)
        self.draining = False
        self.on_shutdown(self._remove_drain_flag)

    def signal_handler_interrupt(self, signum: int | None = None, *args: Any) -> None:
        if self.drain_seconds <= 0 or signum != signal.SIGTERM or self.draining:
            super().signal_handler_interrupt()
            return
        self.draining = True
        self.drain_flag.touch()
        logger.info("Draining for %g s before stopping", self.drain_seconds)
        later = threading.Timer(self.drain_seconds, super().signal_handler_interrupt)
        later.daemon = True
        later.start()

    def _remove_drain_flag(self) -> None:
        shutil.rmtree(self.drain_directory, ignore_errors=True)


def web_server() -> WebServer:
    """The server as the environment sets it up; serve() it once the project is
    loaded (load_application)."""
    server = WebServer(
        drain_seconds=env_int("DRAIN_SECONDS", default=0), **server_settings()
    )
    retired = [name for name in RETIRED_SETTINGS if name in os.environ]
    if retired:
        logger.warning(
            "Not read any more (the server is granian, docs/operators.md): %s",
            ", ".join(retired),
        )
    return server


def load_application(target: str = APPLICATION) -> Any:
    """The project's WSGI application with its access log (config/access_log.py).
    Called once in the main process before the workers fork, then by each worker,
    which finds it built."""
    if os.getpid() != _MAIN_PID:
        _stop_with_the_main_process()
        return _served_application()
    application = _served_application()
    # What the import made lives as long as the process: out of the collector's
    # way, each collection scans only what requests made (W3 2.73 -> 2.42 ms of
    # server CPU per request, docs/contributors.md), and the workers' copy of it
    # stays shared with the main process, not copied when the collector marks it.
    gc.collect()
    gc.freeze()
    return application


_MAIN_PID = os.getpid()
_PR_SET_PDEATHSIG = 1


def _stop_with_the_main_process() -> None:
    """A worker is killed when the main process dies, even killed itself: granian's
    workers would go on serving, unsupervised, on its port. SIGKILL, as a SIGTERM
    landing while a worker still starts can hang it in granian's signal handling;
    a main process that stops normally has stopped its workers first."""
    if sys.platform != "linux":
        return
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != _MAIN_PID:  # it died before prctl() took effect
        os._exit(1)


@functools.cache
def _served_application() -> AccessLogApp:
    from config.wsgi import application

    return AccessLogApp(
        application, log_probes=env_bool("LOG_HEALTH_PROBES", default=False)
    )


def main() -> None:
    server = web_server()
    load_application()
    server.serve(target_loader=load_application)


if __name__ == "__main__":
    main()
