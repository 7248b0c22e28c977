"""CPU per request of the hot paths, in process (no server, no network noise).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gh_read \
        .venv/bin/python bench/profile_paths.py [--requests 300] [--seed]

Seeds (once, or again with --seed) 10 users owning 1,000 resources each, every
resource with one file (`--file-every 5`: as make bench seeds), then sends GET /api/v1/auth/me/ (W2),
GET /api/v1/resources/?page_size=100 (W3) and POST /api/v1/resources/ (W4, ~200 B,
a unique body each; the rows it made are deleted afterwards) with a bearer token
through Django's test client, and prints CPU ms per request from
time.process_time(), the least of 10 batches: what a shared machine's noise moves
least. `--cprofile N` prints the N costliest functions (CPU clock) of each path; for
a flame graph run it under
`py-spy record -o w3.svg -- .venv/bin/python bench/profile_paths.py --only w3`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/gh_read")
os.environ.setdefault("LOG_LEVEL", "WARNING")

USERS = 10
RESOURCES_PER_USER = 1000
BATCHES = 10
PASSWORD = "profile-passphrase-long-enough"  # noqa: S105
PATHS = {
    "w2": "/api/v1/auth/me/",
    "w3": "/api/v1/resources/?page_size=100",
    "w4": "/api/v1/resources/",
}
POSTS = {"w4"}
# bench/wrk/bench.lua's create body, ~200 B.
W4_BODY = (
    '{"title":"Bench item %d","description":"Created by the benchmark, '
    'unique per request so nothing is cached.","data":{"n":%d,"tags":["bench"]}}'
)


def seed(*, file_every: int = 1) -> None:
    from django.db import transaction

    from accounts.models import User
    from bench.seed import seed as seed_in_bulk
    from resources.models import Resource, ResourceFile

    with transaction.atomic():
        ResourceFile.objects.all().delete()
        Resource.objects.all().delete()
        User.objects.filter(email__in=[_email(n) for n in range(USERS)]).delete()
        seed_in_bulk(
            users=USERS,
            per_user=RESOURCES_PER_USER,
            password=PASSWORD,
            file_every=file_every,
        )


def _email(n: int) -> str:
    return f"bench{n}@example.com"  # as bench/seed.py names its users


def bearer_client():
    from django.test import Client

    client = Client()
    response = client.post(
        "/api/v1/auth/login/",
        {"email": _email(0), "password": PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return Client(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")


def sender(client, name: str):
    """One request of the workload; a POST's body is unique each time."""
    path = PATHS[name]
    if name not in POSTS:
        return lambda: client.get(path)
    counter = iter(range(10**9))

    def post():
        n = next(counter)
        return client.post(path, W4_BODY % (n, n), content_type="application/json")

    return post


def measure(send, requests: int) -> tuple[float, float, int]:
    """CPU ms per request: the least of 10 batches, the one others' load moved least."""
    for _ in range(max(10, requests // 10)):  # warm caches and the connection
        send()
    batch = max(1, requests // BATCHES)
    cpu_ms, wall_ms = [], []
    for _ in range(BATCHES):
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(batch):
            response = send()
        cpu_ms.append((time.process_time() - cpu) * 1000 / batch)
        wall_ms.append((time.perf_counter() - wall) * 1000 / batch)
    assert response.status_code in (200, 201), response.content
    return min(cpu_ms), min(wall_ms), len(response.content)


def profile(send, requests: int, top: int) -> None:
    """cProfile on the CPU clock: the costliest functions by their own time."""
    import cProfile
    import pstats

    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for _ in range(requests):
        send()
    profiler.disable()
    stats = pstats.Stats(profiler).sort_stats("tottime")
    stats.print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def remove_created() -> None:
    """What W4 created, so the next run finds the seeded data as it was."""
    from core.models import ActivityLog
    from resources.models import Resource

    made = Resource.objects.filter(title__startswith="Bench item ")
    ids = [str(pk) for pk in made.values_list("pk", flat=True)]
    ActivityLog.objects.filter(target_type="resource", target_id__in=ids).delete()
    made.delete()


def time_middleware() -> list[list[Any]]:
    """Wraps each MIDDLEWARE entry to sum the thread CPU ns spent inside it."""
    import types

    from django.conf import settings
    from django.utils.module_loading import import_string

    totals: list[list[Any]] = []  # [thread CPU ns inside, middleware path]
    module = types.ModuleType("timed_middleware")

    def timed(path: str, total: list[Any]):
        def factory(get_response):
            inner = import_string(path)(get_response)

            class Timed:
                def __call__(self, request):
                    start = time.thread_time_ns()
                    try:
                        return inner(request)
                    finally:
                        total[0] += time.thread_time_ns() - start

                def __getattr__(self, name):  # process_view and the like
                    return getattr(inner, name)

            return Timed()

        return factory

    for i, path in enumerate(settings.MIDDLEWARE):
        totals.append([0, path])
        setattr(module, f"m{i}", timed(path, totals[-1]))
    sys.modules[module.__name__] = module
    settings.MIDDLEWARE = [f"timed_middleware.m{i}" for i in range(len(totals))]
    return totals


def report_middleware(totals: list[list[Any]], requests: int) -> None:
    """Each middleware's own CPU: its time inside minus the next one's."""
    for (inside, path), (deeper, _) in zip(totals, [*totals[1:], [0, ""]], strict=True):
        own = (inside - deeper) / requests / 1000
        print(f"  {own:7.1f} us  {path}")
    print("  (the last line includes the view)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--seed", action="store_true", help="seed again")
    parser.add_argument(
        "--file-every",
        type=int,
        default=1,
        metavar="N",
        help="with --seed: a file on every Nth resource (make bench: 5)",
    )
    parser.add_argument("--only", choices=sorted(PATHS))
    parser.add_argument(
        "--middleware", action="store_true", help="each middleware's own CPU"
    )
    parser.add_argument(
        "--cprofile", type=int, metavar="N", help="print the N costliest functions"
    )
    args = parser.parse_args()

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from resources.models import Resource

    remove_created()
    if args.seed or Resource.objects.count() != USERS * RESOURCES_PER_USER:
        seed(file_every=args.file_every)
    totals = time_middleware() if args.middleware else []
    client = bearer_client()
    for name, path in PATHS.items():
        if args.only and name != args.only:
            continue
        for total in totals:
            total[0] = 0
        send = sender(client, name)
        try:
            cpu_ms, wall_ms, size = measure(send, args.requests)
            method = "POST" if name in POSTS else "GET"
            print(
                f"{name} {method} {path}: {cpu_ms:.2f} ms CPU/request "
                f"({wall_ms:.2f} ms wall, {size} bytes)"
            )
            if args.cprofile:
                profile(send, args.requests, args.cprofile)
        finally:
            remove_created()
        if totals:
            warm = max(10, args.requests // 10)
            batch = max(1, args.requests // BATCHES)
            report_middleware(totals, warm + batch * BATCHES)


if __name__ == "__main__":
    main()
