"""The README's API examples, pasted as a reader pastes them, against a live server.

Every ```sh or ```bash block of README.md and of the guides in docs/ that calls
`curl` is a flow block. The blocks of each `## ` section run in order in one bash
session (`set -euo pipefail`), as a reader pastes them into one terminal, against one
`manage.py runserver` for all sections, started the way `make run` starts it (a
migrated SQLite file, `seed_demo`'s accounts, DEBUG on, mail on the console) on a
free port exported as `PORT`. The session also gets the line `make run` prints for
the reader to paste (`export ADMIN_PASSWORD=... USER_PASSWORD=...`).

Each curl's comment states its answer: `# 204` after it, or a `# 201 {...}` line below
it, with the error's code for an error (`# 401 token_not_valid`). A curl shim records
every answer; a different status or code, a failing command or a block still running
after RUN_SECONDS fails the test with the document's line and the block's stderr.

Markers on the line before a fence:
- `<!-- readme-test: skip: <why> -->`: not run (it needs something outside the machine);
- `<!-- readme-test: supply NAME -->`: the reader types NAME in from the mail the
  server printed (the sign-in code); the test reads it from the server's console.
"""

from __future__ import annotations

import os
import queue
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import services_required
from core.tests.legs import sqlite_leg_only
from core.tests.served_app import BASE_DIR, clean_env, free_port, runserver


def _documents() -> list[Path]:
    """README.md, then the guides in docs/ in the order its `## Contents` lists them.

    The sections share one server, so the order is the reader's: the frontend guide's
    sign-up flow (Sam's request approved) before the admins' guide's pending list.
    A guide the contents do not list comes last, in name order.
    """
    readme = BASE_DIR / "README.md"
    contents = readme.read_text().partition("\n## Contents\n")[2].partition("\n## ")[0]
    linked = re.findall(r"\]\(docs/([\w.-]+\.md)\)", contents)
    order = {name: linked.index(name) for name in linked}
    guides = sorted(
        (BASE_DIR / "docs").glob("*.md"),
        key=lambda path: (order.get(path.name, len(linked)), path.name),
    )
    return [readme, *guides]


DOCUMENTS = _documents()
SHELLS = {"sh", "bash", "shell"}
FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[\w-]*)\s*$")
MARKER = re.compile(r"^\s*<!--\s*readme-test:\s*(?P<what>.*?)\s*-->\s*$")
CURL = re.compile(r"(?:^|[\s$(|;&])curl\s")
# `# 403 {"detail": "...", "code": "approval_pending"}` or `# 401 token_not_valid`:
# the status, then (for errors) the contract's code, quoted or bare.
ANSWER = (
    r"#\s*(?P<status>[1-5]\d\d)\b"
    r"(?:\s*\{[^#]*?\"code\":\s*\"(?P<quoted>\w+)\"|\s+(?P<bare>[a-z]+_[a-z_]+)\b)?"
)
ANSWER_HERE = re.compile(r"\s" + ANSWER)
ANSWER_BELOW = re.compile(r"^\s*" + ANSWER)
SIGN_IN_CODE = re.compile(r"^([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", re.MULTILINE)
# Every block together, once the server listens: about 10 s here.
RUN_SECONDS = 45
# Records each answer's status and error code beside what curl does. A -D of the
# block's own would win over this one; the status then reads 000 and the block fails.
CURL_SHIM = """#!/bin/sh
dir=$(mktemp -d)
"$README_TEST_CURL" -D "$dir/headers" "$@" >"$dir/body"
code=$?
cat "$dir/body"
status=$(awk '/^HTTP\\//{s=$2} END{print s}' "$dir/headers")
error=$(jq -r 'if type == "object" then .code // "" else "" end' <"$dir/body" \\
  2>/dev/null || true)
echo "${status:-000} ${error:--}" >>"$README_TEST_STATUSES"
rm -rf "$dir"
exit $code
"""


@dataclass
class Call:
    line: int  # the document's line of the curl command
    status: int | None  # what its comment says it answers
    error: str | None = None  # and the error's code, when the comment gives one


@dataclass
class Block:
    document: str
    section: str
    line: int  # the document's line of the block's first line
    text: str
    marker: str = ""
    calls: list[Call] = field(default_factory=list)

    @property
    def skipped(self) -> bool:
        return self.marker.startswith("skip")

    @property
    def supplies(self) -> list[str]:
        if not self.marker.startswith("supply "):
            return []
        return self.marker.removeprefix("supply ").split()


def _calls(text: str, first_line: int) -> list[Call]:
    """Each command that runs curl, with the status its comment gives."""
    lines = text.splitlines()
    calls: list[Call] = []
    index = 0
    while index < len(lines):
        start, logical = index, lines[index]
        while logical.endswith("\\") and index + 1 < len(lines):
            index += 1
            logical = logical[:-1] + " " + lines[index]
        index += 1
        if logical.lstrip().startswith("#") or not CURL.search(logical):
            continue
        trailing = list(ANSWER_HERE.finditer(logical))
        answer = trailing[-1] if trailing else None
        below = index
        while answer is None and below < len(lines):
            if not lines[below].lstrip().startswith("#"):
                break
            answer = ANSWER_BELOW.match(lines[below])
            below += 1
        calls.append(
            Call(
                line=first_line + start,
                status=int(answer["status"]) if answer else None,
                error=(answer["quoted"] or answer["bare"]) if answer else None,
            )
        )
    return calls


def readme_blocks(text: str, *, document: str = "README.md") -> list[Block]:
    """A document's shell blocks that call curl, in order, with their sections."""
    blocks: list[Block] = []
    lines = text.splitlines()
    section, index = "", 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("## "):
            section = line[3:].strip()
        opening = FENCE.match(line)
        index += 1
        if not opening:
            continue
        indent, body_start = opening["indent"], index
        while index < len(lines) and lines[index].strip() != "```":
            index += 1
        body = "\n".join(row.removeprefix(indent) for row in lines[body_start:index])
        index += 1  # the closing fence
        if opening["lang"] not in SHELLS or not CURL.search(body):
            continue
        previous = next(
            (row for row in reversed(lines[: body_start - 1]) if row.strip()), ""
        )
        marker = MARKER.match(previous)
        blocks.append(
            Block(
                document=document,
                section=section,
                line=body_start + 1,
                text=body,
                marker=marker["what"] if marker else "",
                calls=_calls(body, body_start + 1),
            )
        )
    return blocks


BLOCKS = [
    block
    for path in DOCUMENTS
    for block in readme_blocks(path.read_text(), document=path.name)
]
SECTIONS = list(
    dict.fromkeys(
        (block.document, block.section) for block in BLOCKS if not block.skipped
    )
)


@dataclass
class Server:
    port: int
    console: Path  # what the `make run` terminal shows
    paste: str  # the line make run prints for the reader to paste
    deadline: float  # time.monotonic() by which every block has run


def _require(tool: str) -> str:
    if found := shutil.which(tool):
        return found
    message = f"{tool} is not installed; the README's blocks need it"
    if services_required():
        pytest.fail(f"{message} (.ci/run installs it)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    _require("jq")
    _require("curl")
    directory = tmp_path_factory.mktemp("readme-server")
    port = free_port()
    env = clean_env(
        directory / "db.sqlite3",
        DEBUG="true",
        # `make run` writes random keys into .env (dev_secrets); not this checkout's.
        SECRET_KEY=secrets.token_urlsafe(50),
        JWT_SECRET_KEY=secrets.token_urlsafe(50),
        EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend",
        # A reader pastes slowly; the test signs in a dozen times in seconds.
        THROTTLE_SIGNIN_IP="1000/minute",
        THROTTLE_SIGNIN_ACCOUNT="1000/minute",
    )
    # make run's steps in one Django start-up: migrate, then the demo accounts.
    seeded = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "manage.py",
            "shell",
            "--no-imports",
            "-c",
            "from django.core.management import call_command\n"
            "call_command('migrate', interactive=False, verbosity=0)\n"
            "call_command('seed_demo')\n",
        ],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert seeded.returncode == 0, seeded.stderr
    pasted = [row.strip() for row in seeded.stdout.splitlines() if "export " in row]
    assert len(pasted) == 1, seeded.stdout
    console = directory / "console.log"
    with runserver(port, env, console=console):
        deadline = time.monotonic() + RUN_SECONDS
        yield Server(port=port, console=console, paste=pasted[0], deadline=deadline)


def supplied(name: str, server: Server) -> str:
    """What the reader types in: the newest sign-in code the console shows."""
    assert name == "CODE", f"the test cannot supply {name}"
    codes = SIGN_IN_CODE.findall(server.console.read_text())
    assert codes, "no sign-in code in the server's console output"
    return codes[-1]


class Session:
    """One bash, fed block after block as a reader pastes them into one terminal."""

    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        self.directory = directory
        self.statuses = directory / "statuses"
        self.statuses.touch()
        self.process = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],  # noqa: S607
            cwd=directory,
            env=env | {"README_TEST_STATUSES": str(self.statuses)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.send(
            "set -euo pipefail\n"
            "trap 'echo \"README_TEST_FAILED $LINENO: $BASH_COMMAND\" >&2' ERR\n"
        )

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def send(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text)
        self.process.stdin.flush()

    def run(
        self, block: Block, values: dict[str, str], *, deadline: float
    ) -> tuple[bool, str, str]:
        """Runs the block: whether it finished, then its stdout and stderr."""
        script = self.directory / f"block-{block.line}.sh"
        script.write_text(block.text + "\n")
        out, err = script.with_suffix(".out"), script.with_suffix(".err")
        exports = "".join(
            f"export {name}={shlex.quote(value)}\n" for name, value in values.items()
        )
        done = f"README_TEST_DONE {block.line}"
        self.send(
            f"{exports}source {script.name} >{out.name} 2>{err.name}\necho {done}\n"
        )
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:  # bash exited: set -e, set -u or a syntax error
                return False, _read(out), _read(err)
            if line.strip() == done:
                return True, _read(out), _read(err)
        self.process.kill()
        return False, _read(out), _read(err) + "\nREADME_TEST_TIMEOUT"

    def recorded(self) -> list[tuple[int, str]]:
        """Each answer so far: its status and its error code ("-" for none)."""
        rows = (line.split() for line in self.statuses.read_text().splitlines())
        return [(int(status), error) for status, error in rows]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(5)


def _read(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def _failure(block: Block, line: int, what: str, out: str, err: str) -> str:
    return (
        f"{block.document} line {line} (the block at line {block.line}, "
        f"section {block.section!r}): {what}\n"
        f"--- stderr ---\n{err.strip()}\n--- stdout ---\n{out.strip()[-2000:]}"
    )


def _stopped(block: Block, out: str, err: str) -> str:
    """Where and why a block stopped: a failing command, an error or its time."""
    if failed := re.search(r"README_TEST_FAILED (\d+): (.*)", err):
        line, what = int(failed[1]), f"this command failed: {failed[2]}"
    elif failed := re.search(r"block-\d+\.sh: line (\d+): (.*)", err):
        line, what = int(failed[1]), failed[2]
    elif "README_TEST_TIMEOUT" in err:
        line, what = 1, f"still running when all blocks had had {RUN_SECONDS} s"
    else:
        line, what = 1, "bash stopped"
    return _failure(block, block.line + line - 1, what, out, err)


@pytest.fixture
def session(server, tmp_path) -> Iterator[Session]:
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "curl").write_text(CURL_SHIM)
    (shim / "curl").chmod(0o755)
    work = tmp_path / "terminal"
    work.mkdir()
    env = {name: os.environ[name] for name in ("LANG",) if name in os.environ}
    env |= {
        "HOME": str(work),  # no ~/.curlrc of the machine's
        "PATH": f"{shim}:{os.environ['PATH']}",
        "README_TEST_CURL": _require("curl"),
        "PORT": str(server.port),
    }
    opened = Session(work, env)
    opened.send(server.paste + "\n")
    yield opened
    opened.close()


def test_every_flow_block_states_each_answer_and_follows_the_port():
    problems = [
        f"{block.document} line {call.line}: a curl without its status in a comment"
        " (# 200 ...)"
        for block in BLOCKS
        if not block.skipped
        for call in block.calls
        if call.status is None
    ]
    problems += [
        f"{block.document} line {block.line}: a hard-coded port;"
        " use http://localhost:${PORT:-8000}"
        for block in BLOCKS
        if re.search(r"(localhost|127\.0\.0\.1):\d", block.text)
    ]
    problems += [
        f"{block.document} line {block.line}: a skip marker without its reason"
        for block in BLOCKS
        if block.skipped and not block.marker.removeprefix("skip").strip(" :")
    ]

    assert BLOCKS, "no flow blocks found in README.md or docs/"
    assert not problems, "\n".join(problems)


def pasted(block: Block, *, session: Session, server: Server) -> str | None:
    """Runs one block in the session: None, or what went wrong and where."""
    before = len(session.recorded())
    values = {name: supplied(name, server) for name in block.supplies}
    finished, out, err = session.run(block, values, deadline=server.deadline)
    answers = session.recorded()[before:]
    for call, (status, error) in zip(block.calls, answers, strict=False):
        if status != call.status or call.error not in (None, error):
            said = f"{call.status} {call.error or ''}".strip()
            got = f"{status} {error if error != '-' else ''}".strip()
            what = f"answered {got}, the README says {said}"
            return _failure(block, call.line, what, out, err)
    if not finished:
        return _stopped(block, out, err)
    if len(answers) != len(block.calls):
        what = f"{len(answers)} answers for {len(block.calls)} curls"
        return _failure(block, block.line, what, out, err)
    return None


@sqlite_leg_only
@pytest.mark.parametrize(
    "section",
    SECTIONS,
    ids=[
        name if document == "README.md" else f"{document}: {name}"
        for document, name in SECTIONS
    ],
)
def test_the_sections_blocks_run_as_pasted(section, server, session):
    blocks = [b for b in BLOCKS if (b.document, b.section) == section and not b.skipped]

    for block in blocks:
        failure = pasted(block, session=session, server=server)

        if failure:
            pytest.fail(failure, pytrace=False)


SAMPLE = """## Trying it

```sh
API=http://localhost:${PORT:-8000}/api/v1
curl -s $API/health/ \\
  -H 'Accept: application/json'     # 200
curl -s $API/auth/me/
# 401 {"detail": "...", "code": "not_authenticated"}
```

<!-- readme-test: skip: needs the internet -->
```bash
curl -s https://example.com/   # 200
```

```sh
make run
```
"""


def test_each_curl_takes_the_answer_its_comment_states():
    blocks = readme_blocks(SAMPLE)

    assert [(b.section, b.line, b.marker) for b in blocks] == [
        ("Trying it", 4, ""),
        ("Trying it", 13, "skip: needs the internet"),
    ]
    assert blocks[0].calls == [
        Call(line=5, status=200),
        Call(line=7, status=401, error="not_authenticated"),
    ]


@sqlite_leg_only
@pytest.mark.parametrize(
    ("command", "reported"),
    [
        ("curl -s $API/health/   # 503", "answered 200, the README says 503"),
        (
            "curl -s $API/auth/me/   # 401 token_not_valid",
            "answered 401 not_authenticated, the README says 401 token_not_valid",
        ),
        ("jq -er .missing <<<'{}'   # a failing command", "this command"),
        ("echo $UNSET_NAME", "UNSET_NAME: unbound variable"),
    ],
)
def test_a_block_that_drifted_is_reported_at_its_line(
    command, reported, server, session
):
    block = readme_blocks(SAMPLE.replace("curl -s $API/auth/me/\n", command + "\n"))[0]

    failure = pasted(block, session=session, server=server)

    assert failure is not None
    assert failure.startswith("README.md line 7 (the block at line 4")
    assert reported in failure
