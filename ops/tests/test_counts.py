"""Counts the ops commands print read as English: "1 row", "2 rows"."""

from __future__ import annotations

import pytest

from ops.counts import counted
from ops.database_copy import _difference_message


@pytest.mark.parametrize(
    ("count", "expected"),
    [(0, "0 rows"), (1, "1 row"), (2, "2 rows"), (1000, "1000 rows")],
)
def test_a_count_of_one_takes_the_singular_and_any_other_the_plural(count, expected):
    assert counted(count, "row") == expected


def test_a_noun_with_an_irregular_plural_takes_the_plural_given():
    assert counted(2, "entry", "entries") == "2 entries"


def test_a_refused_copy_names_a_one_row_table_in_the_singular():
    message = _difference_message(
        {"accounts.User": 3, "resources.Resource": 0},
        {"accounts.User": 1, "resources.Resource": 0},
    )

    assert "accounts.User (1 row, source 3)" in message
    assert "1 rows" not in message
