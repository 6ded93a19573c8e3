"""Question dates: as_of parsing and relative expressions resolved against it (rag/text/dates.py)."""

import datetime as dt
import subprocess
import sys

import pytest

from rag.errors import UserError
from rag.text.dates import DateWindow, days_between, parse_as_of, resolve

FRIDAY = dt.date(2022, 6, 17)  # a RealTime QA quiz day


def windows(question, as_of=FRIDAY):
    return [(str(w.start), str(w.end)) for w in resolve(question, as_of)]


def test_parse_as_of__dates_strings_and_default_today():
    assert parse_as_of("2022-06-17") == FRIDAY
    assert parse_as_of(" 2022-06-17 ") == FRIDAY
    assert parse_as_of(FRIDAY) == FRIDAY
    assert parse_as_of(dt.datetime(2022, 6, 17, 23, 59)) == FRIDAY
    assert parse_as_of(None) == dt.date.today() and parse_as_of("") == dt.date.today()


@pytest.mark.parametrize("bad", ["17/06/2022", "2022-13-01", "2022-02-30", "June 17", "20220617", "soon", "2022-6-7"])
def test_parse_as_of__bad_input_is_one_line_user_error(bad):
    with pytest.raises(UserError) as err:
        parse_as_of(bad)
    message = str(err.value)
    assert "\n" not in message and "YYYY-MM-DD" in message and repr(bad) in message


@pytest.mark.parametrize("question, expected", [
    ("What did the Senate pass this week?", [("2022-06-13", "2022-06-17")]),
    ("What did the Senate pass last week?", [("2022-06-06", "2022-06-12")]),
    ("Who was arrested yesterday?", [("2022-06-16", "2022-06-16")]),
    ("What happened today?", [("2022-06-17", "2022-06-17")]),
    ("Who resigned on Monday?", [("2022-06-13", "2022-06-13")]),
    ("Who resigned on Friday?", [("2022-06-17", "2022-06-17")]),  # asked on a Friday: that day
    ("Who resigned last Friday?", [("2022-06-10", "2022-06-10")]),
    ("How much did prices rise last month?", [("2022-05-01", "2022-05-31")]),
    ("How much have prices risen this month?", [("2022-06-01", "2022-06-17")]),
    ("What was decided in June?", [("2022-06-01", "2022-06-30")]),
    ("What was decided in November?", [("2021-11-01", "2021-11-30")]),  # the last November before as_of
    ("What was announced on June 5?", [("2022-06-05", "2022-06-05")]),
    ("What was announced on 5 March 2021?", [("2021-03-05", "2021-03-05")]),
    ("What was announced on March 5, 2021?", [("2021-03-05", "2021-03-05")]),
    ("What was announced on 2021-03-05?", [("2021-03-05", "2021-03-05")]),
    ("What changed in 2020?", [("2020-01-01", "2020-12-31")]),
    ("What happened two weeks ago?", [("2022-05-31", "2022-06-06")]),
    ("What happened in the past 3 days?", [("2022-06-14", "2022-06-17")]),
    # "over the last year" is the twelve months to the day asked; "last year" the calendar year before
    ("How many books were banned over the last year?", [("2021-06-17", "2022-06-17")]),
    ("How many books were banned last year?", [("2021-01-01", "2021-12-31")]),
    ("What happened in the last week of May?", [("2022-06-06", "2022-06-12"), ("2022-05-01", "2022-05-31")]),
    ("Which show was recently renewed?", [("2022-06-03", "2022-06-17")]),
    ("Who may lead the party?", []),  # "may" the verb is no month
    ("How did the markets do?", []),
])
def test_resolve__relative_and_explicit_expressions(question, expected):
    assert windows(question) == expected


def test_resolve__vague_words_are_not_explicit_and_order_follows_the_text():
    found = resolve("Recently, what did she say last month?", FRIDAY)
    assert [w.phrase for w in found] == ["recently", "last month"]
    assert [w.explicit for w in found] == [False, True]


def test_resolve__this_week_early_in_the_week_stops_at_as_of():
    monday = dt.date(2022, 6, 13)
    assert windows("What happened this week?", monday) == [("2022-06-13", "2022-06-13")]


def test_window_distance_and_days_between():
    w = DateWindow(dt.date(2022, 6, 13), dt.date(2022, 6, 17), "this week")
    assert [w.distance(dt.date(2022, 6, d)) for d in (10, 13, 15, 17, 20)] == [3, 0, 0, 0, 3]
    assert days_between("2022-06-10", FRIDAY) == 7 and days_between("2022-06-20", FRIDAY) == -3
    assert days_between(None, FRIDAY) is None and days_between("not a date", FRIDAY) is None


def test_cli_ask__bad_as_of_is_one_line_and_exit_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "ui.cli", "--store", str(tmp_path / "none"), "ask", "What happened?",
                           "--as-of", "next tuesday"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().count("\n") == 0
    assert "as_of must be a date YYYY-MM-DD" in proc.stderr and "next tuesday" in proc.stderr
