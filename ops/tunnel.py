"""`manage.py tunnel`: the development server behind an ngrok tunnel, stopped together."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse

NGROK_DOWNLOAD_URL = "https://ngrok.com/download"
NGROK_DASHBOARD_URL = "https://dashboard.ngrok.com/get-started/your-authtoken"
STOP_GRACE_SECONDS = 5.0


class TunnelError(Exception):
    """Something the person starting the tunnel can fix, said in one line."""


@dataclass(frozen=True)
class TunnelUrls:
    public: str
    admin: str
    docs: str


def ngrok_command(
    *, executable: str, port: int, auth_token: str, domain: str
) -> list[str]:
    """The ngrok v3 agent's command line: JSON log lines on stdout, parsed below."""
    command = [executable, "http", f"127.0.0.1:{port}"]
    command += ["--log", "stdout", "--log-format", "json", "--authtoken", auth_token]
    if domain:
        command += ["--url", domain if "://" in domain else f"https://{domain}"]
    return command


def ngrok_public_url(event: Mapping) -> str | None:
    url = event.get("url")
    if event.get("msg") == "started tunnel" and str(url).startswith("https://"):
        return str(url)
    return None


def ngrok_error(event: Mapping) -> str | None:
    """The error a JSON log line reports, on one line, or None."""
    if event.get("lvl") not in {"eror", "crit"}:
        return None
    return _one_line(str(event.get("err") or event.get("msg") or "unknown error"))


def _one_line(text: str) -> str:
    """ngrok's errors run over several lines and end with an ERR_NGROK_ code."""
    lines = [part.strip() for part in text.splitlines() if part.strip()]
    if not lines:
        return "unknown error"
    code = next((part for part in lines if part.startswith("ERR_NGROK_")), None)
    return f"{lines[0]} ({code})" if code and code != lines[0] else lines[0]


class NgrokLog:
    """Reads ngrok's log in a thread, so a full pipe never blocks ngrok."""

    def __init__(self, stream) -> None:
        self.public_url: str | None = None
        self.web_addr: str | None = None  # ngrok's local API, e.g. 127.0.0.1:4040
        self.ended = threading.Event()
        self._logged_error: str | None = None
        # A fatal error is printed as plain "ERROR:  ..." lines, not as JSON.
        self._printed_error: deque[str] = deque(maxlen=20)
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    @property
    def last_error(self) -> str | None:
        if self._logged_error:
            return self._logged_error
        return (
            _one_line("\n".join(self._printed_error)) if self._printed_error else None
        )

    def _read(self, stream) -> None:
        for line in stream:
            try:
                event = json.loads(line)
            except ValueError:
                event = None
            if not isinstance(event, dict):
                text = line.strip()
                if text.startswith("ERROR:") or self._printed_error:
                    self._printed_error.append(text.removeprefix("ERROR:").strip())
            elif error := ngrok_error(event):
                self._logged_error = error
            elif url := ngrok_public_url(event):
                self.public_url = url
            elif event.get("msg") == "starting web service" and event.get("addr"):
                self.web_addr = str(event["addr"])
        self.ended.set()


def ngrok_api_public_url(web_addr: str) -> str | None:
    """The https URL that ngrok's local API lists, in case no log line named it."""
    host, _, port = web_addr.rpartition(":")
    if host not in {"127.0.0.1", "localhost", "[::1]"} or not port.isdigit():
        return None
    try:
        request = urllib.request.Request(f"http://{web_addr}/api/tunnels")
        with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310 - loopback http
            tunnels = json.load(response).get("tunnels", [])
    except (OSError, ValueError, AttributeError):
        return None
    urls = [str(tunnel.get("public_url", "")) for tunnel in tunnels]
    return next((url for url in urls if url.startswith("https://")), None)


def ngrok_start(
    *, port: int, auth_token: str, domain: str, timeout: float
) -> tuple[subprocess.Popen, NgrokLog]:
    """Starts the ngrok agent towards `port`; returns it once it has a public URL."""
    executable = shutil.which("ngrok")
    if executable is None:
        raise TunnelError(
            "ngrok is not installed (no `ngrok` on PATH): install the agent from "
            f"{NGROK_DOWNLOAD_URL} and run this again."
        )
    if not auth_token:
        raise TunnelError(
            f"NGROK_AUTH_TOKEN is not set: copy your authtoken from {NGROK_DASHBOARD_URL} "
            "into .env as NGROK_AUTH_TOKEN=... and run this again."
        )
    command = ngrok_command(
        executable=executable, port=port, auth_token=auth_token, domain=domain
    )
    try:
        process = subprocess.Popen(  # noqa: S603 - a fixed argument list, no shell
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
    except OSError as error:
        raise TunnelError(
            f"ngrok at {executable} could not be run ({error.strerror}): reinstall it "
            f"from {NGROK_DOWNLOAD_URL}."
        ) from None
    log = NgrokLog(process.stdout)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if log.public_url or (log.web_addr and _api_url_found(log)):
                return process, log
            time.sleep(0.1)
    except BaseException:  # Ctrl-C while waiting: ngrok must not outlive the command
        process_stop(process)
        raise
    exited = process.poll() is not None
    log.ended.wait(1 if exited else 0)
    if log.public_url and not exited:
        return process, log
    process_stop(process)
    raise TunnelError(
        _ngrok_failure(process, log, exited=exited, port=port, timeout=timeout)
    )


def _api_url_found(log: NgrokLog) -> bool:
    log.public_url = ngrok_api_public_url(log.web_addr or "")
    return log.public_url is not None


def _ngrok_failure(
    process: subprocess.Popen, log: NgrokLog, *, exited: bool, port: int, timeout: float
) -> str:
    error = log.last_error or "no error in its log"
    if exited:
        reason = f"ngrok exited with code {process.returncode}: {error}"
    else:
        reason = f"ngrok reported no public URL within {timeout:g} s ({error})"
    reason = reason.rstrip(".")
    lowered = error.lower()
    if "authtoken" in lowered or "authentication failed" in lowered:
        return f"{reason}. Check NGROK_AUTH_TOKEN ({NGROK_DASHBOARD_URL})."
    if "unknown flag" in lowered:
        return f"{reason}. This needs ngrok agent v3.16 or later: run `ngrok update`."
    return f"{reason}. Run `ngrok http {port}` by hand to see ngrok's own output."


def signing_keys_check() -> None:
    """Refuses to publish a server whose signing keys anyone can look up."""
    built_in = {
        "SECRET_KEY": settings.DEVELOPMENT_SECRET_KEY,
        "JWT_SECRET_KEY": settings.DEVELOPMENT_JWT_SECRET_KEY,
    }
    weak = [name for name, key in built_in.items() if getattr(settings, name) == key]
    if weak:
        raise TunnelError(
            f"{' and '.join(weak)} {'is' if len(weak) == 1 else 'are'} unset or the "
            "built-in development value, which anyone can use to forge signed "
            "values: run `make run` once (it writes random keys into .env), or set "
            "them, and run this again."
        )


def dev_server_env(*, public_url: str, environ: Mapping[str, str]) -> dict[str, str]:
    """The development server's environment: the tunnel's host allowed and trusted."""
    host = urlsplit(public_url).hostname or ""
    # For this run the backend's public URL is the tunnel's: links in emails use it.
    return {
        **environ,
        "TUNNEL_HOST": host,
        "BASE_URL": f"https://{host}",
        # The server is public: never Django's debug pages, whatever .env says.
        "DEBUG": "false",
        "PYTHONUNBUFFERED": "1",
    }


def dev_server_start(
    *, port: int, env: Mapping[str, str], reload: bool
) -> subprocess.Popen:
    command = [sys.executable, str(settings.BASE_DIR / "manage.py"), "runserver"]
    command.append(f"127.0.0.1:{port}")
    if not reload:
        command.append("--noreload")
    return subprocess.Popen(command, env=dict(env), stdin=subprocess.DEVNULL)  # noqa: S603


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As runserver does, so a port in TIME_WAIT still counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_until_listening(
    process: subprocess.Popen, *, port: int, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise TunnelError(
                f"the development server exited with code {process.returncode} "
                f"before listening on port {port} (its output is above)."
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TunnelError(
        f"the development server did not listen on port {port} within {timeout:g} s."
    )


def process_stop(process: subprocess.Popen) -> None:
    """Asks a child to stop, then kills it if it has not within a few seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_GRACE_SECONDS)


def tunnel_urls(public_url: str) -> TunnelUrls:
    """The URLs to print; reverse() adds URL_PREFIX when one is set."""
    origin = public_url.rstrip("/")
    return TunnelUrls(
        public=f"{origin}{settings.URL_PREFIX}/" if settings.URL_PREFIX else origin,
        admin=origin + reverse("admin:index"),
        docs=origin + reverse("swagger-ui"),
    )


def tunnel_run(
    *,
    port: int,
    proxy_port: int | None,
    auth_token: str,
    domain: str,
    timeout: float,
    reload: bool,
    write: Callable[[str], None],
) -> None:
    """Serves on `port` through ngrok until Ctrl-C or either child stops."""
    signing_keys_check()
    if proxy_port and not settings.URL_PREFIX:
        raise TunnelError(
            "--proxy-port needs URL_PREFIX (e.g. URL_PREFIX=/gatehouse): the path the "
            "proxy routes to this app."
        )
    if settings.URL_PREFIX and not proxy_port:
        raise TunnelError(
            f"URL_PREFIX={settings.URL_PREFIX} expects a proxy that strips it: pass "
            "--proxy-port <the proxy's port> (deploy/proxy/Caddyfile), or unset it."
        )
    if not port_is_free(port):
        raise TunnelError(
            f"port {port} is already in use: stop what is using it, or pass --port."
        )
    ngrok, log = ngrok_start(
        port=proxy_port or port, auth_token=auth_token, domain=domain, timeout=timeout
    )
    public_url = log.public_url or ""
    children = [ngrok]
    try:
        env = dev_server_env(public_url=public_url, environ=os.environ)
        server = dev_server_start(port=port, env=env, reload=reload)
        children.append(server)
        wait_until_listening(server, port=port, timeout=timeout)
        urls = tunnel_urls(public_url)
        write(f"Public URL: {urls.public}")
        write(f"Admin:      {urls.admin}")
        write(f"API docs:   {urls.docs}")
        route = f"the proxy on 127.0.0.1:{proxy_port}, then " if proxy_port else ""
        write(f"(ngrok forwards to {route}127.0.0.1:{port}; Ctrl-C stops both)")
        _supervise(ngrok=ngrok, log=log, server=server)
    finally:
        for child in reversed(children):
            process_stop(child)


def _supervise(
    *, ngrok: subprocess.Popen, log: NgrokLog, server: subprocess.Popen
) -> None:
    while True:
        if ngrok.poll() is not None:
            log.ended.wait(1)
            raise TunnelError(
                f"ngrok stopped (exit code {ngrok.returncode}): "
                f"{log.last_error or 'no error in its log'}; the tunnel is closed."
            )
        if server.poll() is not None:
            raise TunnelError(
                f"the development server stopped (exit code {server.returncode})."
            )
        time.sleep(0.2)
