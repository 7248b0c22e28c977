"""Start-up refusals: every problem found while settings load, listed at once.

A function reading one part of the configuration (core/storage/options.py) refuses
with `refuse()`, which raises at once. config/settings.py reads each part through
`StartupProblems.gathered()`, which notes the problem and carries on with a
fallback, so one run names everything that is wrong: one line each on stderr,
exit status 1, no traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn, TypeVar

from django.core.exceptions import ImproperlyConfigured

T = TypeVar("T")


class Refusal(SystemExit):
    """A configuration Gatehouse will not start with; its message is one line."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"Gatehouse refuses to start: {problem}.")
        self.problem = problem


def refuse(problem: str) -> NoReturn:
    raise Refusal(problem)


class StartupProblems:
    """The problems of one settings load, reported together by `refuse_if_any`."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def add(self, problem: str) -> None:
        problem = problem.rstrip(".")
        if problem not in self.found:  # two readers may share a variable
            self.found.append(problem)

    def gathered(self, read: Callable[[], T], *, fallback: T) -> T:
        """What `read` returns, or the fallback once its refusal is noted."""
        try:
            return read()
        except Refusal as refused:
            self.add(refused.problem)
        except ImproperlyConfigured as error:
            self.add(str(error))
        return fallback

    def message(self, *, is_production: bool) -> str:
        where = " with IS_PRODUCTION=true" if is_production else ""
        if len(self.found) == 1:
            return f"Gatehouse refuses to start{where}: {self.found[0]}."
        lines = [f"Gatehouse refuses to start{where}, {len(self.found)} problems:"]
        return "\n".join([*lines, *(f"- {problem}." for problem in self.found)])

    def refuse_if_any(self, *, is_production: bool) -> None:
        if self.found:
            raise SystemExit(self.message(is_production=is_production))
