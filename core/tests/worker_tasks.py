"""A task for the worker rehearsals: it runs until the test opens its gate.

Each run notes its start, and its one side effect, in a file the test reads.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from django_tasks import task


@task()
def gated(marker: str) -> int:
    path = Path(marker)
    with path.open("a") as notes:
        notes.write(f"started {os.getpid()}\n")
    gate = path.with_suffix(".open")
    while not gate.exists():
        time.sleep(0.05)
    with path.open("a") as notes:
        notes.write(f"done {os.getpid()}\n")
    return os.getpid()
