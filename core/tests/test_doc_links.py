"""Every relative link of README.md and the guides in docs/ reaches its target.

A link to a file must name one that exists; a `#anchor` (alone, or after a file
name) must be the slug of a heading in that document, as GitHub makes it: the
heading's text lowercased, every character but letters, digits, spaces, `-` and
`_` dropped, spaces turned into `-`, and `-1`, `-2`, ... after a repeated one.
Headings and links inside fenced code blocks and inline code are not markdown.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
DOCUMENTS = [BASE_DIR / "README.md", *sorted((BASE_DIR / "docs").glob("*.md"))]
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
INLINE_CODE = re.compile(r"`+[^`]*`+")
# [text](target) and [text](target "title"); the text may hold inline code or span lines.
LINK = re.compile(
    r"\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)"
)


def _prose(text: str) -> list[str]:
    """The document's lines outside fenced code blocks (those inside are blank)."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            lines.append("")
            continue
        lines.append("" if fenced else line)
    return lines


def github_slug(heading: str) -> str:
    text = INLINE_CODE.sub(lambda code: code[0].strip("`"), heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link's text only
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: Counter[str] = Counter()
    found = set()
    for line in _prose(path.read_text()):
        if match := HEADING.match(line):
            slug = github_slug(match[2])
            found.add(slug if not seen[slug] else f"{slug}-{seen[slug]}")
            seen[slug] += 1
    return found


def relative_links(path: Path) -> list[str]:
    prose = "\n".join(_prose(path.read_text()))
    # Inline code can hold brackets and parentheses that are no link.
    prose = INLINE_CODE.sub(lambda code: " " * len(code[0]), prose)
    return [
        target
        for target in LINK.findall(prose)
        if not re.match(r"^[a-z][a-z0-9+.-]*:", target)  # https:, mailto:, ...
    ]


def broken_links(path: Path) -> list[str]:
    problems = []
    for target in relative_links(path):
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            problems.append(f"{path.name}: {target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            problems.append(f"{path.name}: {target}: no such heading in {linked.name}")
    return problems


@pytest.mark.parametrize("path", DOCUMENTS, ids=[path.name for path in DOCUMENTS])
def test_every_relative_link_reaches_a_file_and_heading(path):
    assert broken_links(path) == []


def test_links_are_checked_against_githubs_heading_slugs(tmp_path):
    (tmp_path / "guide.md").write_text(
        "# Guide\n\n"
        "## Resources: the example entity\n\n"
        "#### Beside the template (`BENCH_TEMPLATE_DIR`)\n\n"
        "## Notes\n\n## Notes\n\n"
        "```sh\n# 1. Sign up, a shell comment, not a heading\n[x](#nowhere)\n```\n"
    )
    readme = tmp_path / "README.md"
    readme.write_text(
        "[a](guide.md#resources-the-example-entity) "
        "[b](guide.md#beside-the-template-bench_template_dir) [c](guide.md#notes-1)\n"
        "[d](guide.md#1-sign-up-a-shell-comment-not-a-heading) [e](missing.md)\n"
        "[f](https://example.com/#x) `[g](#not-a-link)` [h](#top)\n\n# Top\n"
    )

    assert broken_links(readme) == [
        "README.md: guide.md#1-sign-up-a-shell-comment-not-a-heading:"
        " no such heading in guide.md",
        "README.md: missing.md: no such file",
    ]
