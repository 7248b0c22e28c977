"""PostgreSQL stopped and started again under load, with the web server left running.

The app runs as production does (the Procfile's release and web lines,
IS_PRODUCTION) against a PostgreSQL cluster of the test's own, which the test
stops mid-load: the shared server is never touched.
"""

from __future__ import annotations

import time
from http import HTTPStatus

import psycopg

from core.tests.legs import sqlite_leg_only
from core.tests.private_postgres import private_postgres
from core.tests.production_app import Load, Outcome, production_env, release, web

CLIENTS = 4
OUTAGE_SECONDS = 3.0
ANSWER_WITHIN = 2.0  # seconds, for each 503
NO_HANG = 10.0  # seconds, for any answer, on a busy CI machine
RECOVERED_WITHIN = 5.0  # seconds after PostgreSQL accepts connections again
HEALTH_CACHE_SECONDS = 1


def _wait_for(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _is_unavailable(outcome: Outcome) -> bool:
    return (
        outcome.status == HTTPStatus.SERVICE_UNAVAILABLE
        and outcome.content_type.startswith("application/json")
        and outcome.code() == "service_unavailable"
    )


def _recovery_seconds(
    outcomes: list[Outcome], back_at: float, until: float = float("inf")
) -> float:
    """From the database's return to the start of the first request after which
    every request answered before `until` (the next fault) succeeded."""
    between = [o for o in outcomes if o.started >= back_at and o.ended < until]
    failed = [o.started for o in between if o.status not in (200, 201)]
    last_failure = max(failed, default=back_at)
    later = [o.started for o in between if o.started > last_failure]
    assert later, "no request succeeded after the database returned"
    return min(later) - back_at


@sqlite_leg_only
def test_a_postgresql_restart_under_load_answers_503_recovers_and_loses_no_write(
    tmp_path,
):
    with private_postgres() as database:
        env = production_env(
            database_url=database.url,
            media_root=tmp_path / "assets",
            HEALTH_CACHE_SECONDS=str(HEALTH_CACHE_SECONDS),
        )
        release(env)
        with web(env, tmp_path / "web.log") as (site, _process):
            site.sign_in()
            with Load(site, clients=CLIENTS) as load:
                _wait_for(lambda: len(load.acknowledged_titles()) >= 40, timeout=30)

                database.stop("fast")
                stopped_at = time.monotonic()
                _wait_for(
                    lambda: (
                        site.request("GET", "/health").status
                        == HTTPStatus.SERVICE_UNAVAILABLE
                    ),
                    timeout=HEALTH_CACHE_SECONDS + 2,
                )
                admin_page = site.request(
                    "GET", "/admin/", headers={"Cookie": "sessionid=not-a-session"}
                )
                time.sleep(max(0.0, stopped_at + OUTAGE_SECONDS - time.monotonic()))
                starting_at = time.monotonic()
                database.start()
                back_at = time.monotonic()
                _wait_for(
                    lambda: sum(o.started > back_at + 1 for o in load.snapshot()) >= 40,
                    timeout=RECOVERED_WITHIN + 10,
                )
                # A quick restart: connections that served a request a moment
                # ago skip their health check, and must not be reused broken.
                restarting_at = time.monotonic()
                database.restart()
                restarted_at = time.monotonic()
                _wait_for(
                    lambda: (
                        sum(o.started > restarted_at + 1 for o in load.snapshot()) >= 40
                    ),
                    timeout=RECOVERED_WITHIN + 10,
                )
            health_after = site.request("GET", "/health")
        outcomes = load.snapshot()
        with psycopg.connect(database.url) as conn:
            stored = {
                title
                for (title,) in conn.execute("SELECT title FROM resources_resource")
            }

    during = [o for o in outcomes if o.started > stopped_at and o.ended < starting_at]
    assert len(during) >= 2 * CLIENTS
    assert all(_is_unavailable(o) for o in during), {o.status for o in during}
    assert admin_page.status == HTTPStatus.SERVICE_UNAVAILABLE
    assert admin_page.content_type.startswith("application/json")
    # Every answer: a success or a 503, never a 500, HTML or a hang.
    assert all(o.status in (200, 201) or _is_unavailable(o) for o in outcomes)
    assert max(o.seconds for o in outcomes if _is_unavailable(o)) <= ANSWER_WITHIN
    assert max(o.seconds for o in outcomes) <= NO_HANG
    assert _recovery_seconds(outcomes, back_at, restarting_at) <= RECOVERED_WITHIN
    assert _recovery_seconds(outcomes, restarted_at) <= RECOVERED_WITHIN

    assert health_after.status == HTTPStatus.OK
    acknowledged = load.acknowledged_titles()
    assert acknowledged <= stored, f"{len(acknowledged - stored)} writes lost"
