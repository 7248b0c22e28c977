"""SIGTERM to the web server (a deploy, a scale-down) while uploads and writes are in flight.

The web server (granian) runs from the Procfile's web line, as production does, on a fresh
PostgreSQL database with media on local disk, under constant load. Requests
whose bodies are half sent when the signal arrives are the in-flight ones.
"""

from __future__ import annotations

import json
import signal
import time
from http import HTTPStatus
from pathlib import Path

import psycopg

from core.tests.legs import sqlite_leg_only
from core.tests.production_app import Load, Site, production_env, release, web
from core.tests.served_app import multipart
from resources.tests.files import png_bytes

UPLOADS = 3
JSON_WRITES = 2
SENT_BEFORE_SIGNAL = 100  # bytes of each body


class HalfSent:
    """A request whose headers and first bytes are sent; the rest waits."""

    def __init__(self, site: Site, path: str, body: bytes, content_type: str) -> None:
        self.body = body
        self.conn = site.connection()
        self.conn.putrequest("POST", path, skip_host=True)
        headers = site.headers(
            {"Content-Type": content_type, "Content-Length": str(len(body))}
        )
        for name, value in headers.items():
            self.conn.putheader(name, value)
        self.conn.endheaders()
        self.conn.send(body[:SENT_BEFORE_SIGNAL])

    def finish(self) -> tuple[int, dict]:
        self.conn.send(self.body[SENT_BEFORE_SIGNAL:])
        response = self.conn.getresponse()
        answer = (response.status, json.loads(response.read()))
        self.conn.close()
        return answer


def _wait_until_loaded(load: Load) -> None:
    deadline = time.monotonic() + 30
    while len(load.acknowledged_titles()) < 10:
        assert time.monotonic() < deadline, "the load made no progress"
        time.sleep(0.05)


def _wait_until_handled(log: Path) -> None:
    deadline = time.monotonic() + 10
    while "Shutting down granian" not in log.read_text():
        assert time.monotonic() < deadline, "the web server did not take the SIGTERM"
        time.sleep(0.05)


def _stored_files(media_root: Path) -> set[str]:
    return {
        str(path.relative_to(media_root))
        for path in media_root.rglob("*")
        if path.is_file()
    }


@sqlite_leg_only
def test_sigterm_lets_in_flight_uploads_and_writes_finish_leaving_nothing_half_done(
    tmp_path, fresh_postgres
):
    media_root = tmp_path / "assets"
    env = production_env(database_url=fresh_postgres, media_root=media_root)
    release(env)
    log = tmp_path / "web.log"
    with web(env, log) as (site, server):
        site.sign_in()
        resource = site.request("POST", "/api/v1/resources/", {"title": "Uploads"})
        resource_id = resource.json()["id"]
        with Load(site, clients=2, label="steady") as load:
            _wait_until_loaded(load)
            in_flight = [
                HalfSent(
                    site,
                    f"/api/v1/resources/{resource_id}/upload/",
                    *multipart("file", f"photo-{n}.png", png_bytes(200, 200)),
                )
                for n in range(UPLOADS)
            ] + [
                HalfSent(
                    site,
                    "/api/v1/resources/",
                    json.dumps(
                        {"title": f"in-flight-{n}", "description": "x" * 500}
                    ).encode(),
                    "application/json",
                )
                for n in range(JSON_WRITES)
            ]
            time.sleep(0.5)  # the workers are reading these requests now

            server.send_signal(signal.SIGTERM)
            _wait_until_handled(log)
            answers = [request.finish() for request in in_flight]
        exit_code = server.wait(timeout=40)
    outcomes = load.snapshot()
    with psycopg.connect(fresh_postgres) as conn:
        titles = {t for (t,) in conn.execute("SELECT title FROM resources_resource")}
        file_rows = {
            (str(file_id), path)
            for file_id, path in conn.execute(
                "SELECT id, file FROM resources_resourcefile"
            )
        }

    assert [status for status, _ in answers] == [HTTPStatus.CREATED] * len(answers)
    assert exit_code == 0
    uploaded_ids = {body["id"] for _, body in answers[:UPLOADS]}
    assert uploaded_ids == {file_id for file_id, _ in file_rows}
    assert _stored_files(media_root) == {path for _, path in file_rows}
    written = {body["title"] for _, body in answers[UPLOADS:]}
    assert written | load.acknowledged_titles() <= titles
    # Under load, a request either got its full answer or no connection at all.
    assert all(o.status in (None, 200, 201) for o in outcomes)
