"""Pure parts of the command layer, table-driven: text decoding, durations, matchers, permissions data."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from router.alerts import lookup
from router.commands import parse
from router.core import durations, matchers
from router.core.durations import DurationError

BERLIN = ZoneInfo("Europe/Berlin")


def at(text: str, tz=BERLIN) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=tz).timestamp()


@pytest.mark.parametrize("raw, clean", [
    ("snooze host=<http://web-01.example.com|web-01.example.com> for 2h", "snooze host=web-01.example.com for 2h"),
    ("ack <http://example.com/alert/7>", "ack http://example.com/alert/7"),
    ("snooze owner=<mailto:alice@example.com|alice@example.com> for 1h", "snooze owner=alice@example.com for 1h"),
    ("alerts <#C04OPS|ops>", "alerts #ops"),
    ("alerts <#C04OPS>", "alerts #C04OPS"),
    ("ack web-01/HTTP thanks <@U01BOB>", "ack web-01/HTTP thanks @U01BOB"),
    ("ack web-01/HTTP thanks <@U01BOB|bob>", "ack web-01/HTTP thanks @bob"),
    ("snooze x=1 for 1h because <!here> said so", "snooze x=1 for 1h because @here said so"),
    ("snooze service=~&lt;.*&gt; for 1h", "snooze service=~<.*> for 1h"),
    ("snooze host=web-01 for 1h because \u201cdeploy\u201d", 'snooze host=web-01 for 1h because "deploy"'),
    ("snooze host=web\u201301 for 1h because it\u2019s late", "snooze host=web-01 for 1h because it's late"),
    ("help\u00a0snooze\u200b", "help snooze"),
    ("!help", "help"),
    ("/sparky alerts", "alerts"),
    ("@sparky: alerts env=production", "alerts env=production"),
    ("Sparky, help ack", "help ack"),
    ("sparkyish help", "sparkyish help"),
])
def test_normalise(raw, clean):
    assert parse.normalise(raw) == clean


@pytest.mark.parametrize("text, words", [
    ('snooze "web-01/Disk Space" for 2h', ["snooze", "web-01/Disk Space", "for", "2h"]),
    ("because it's late", ["because", "it's", "late"]),       # unbalanced quote: plain split
    ("service='HTTP check' env=prod", ["service=HTTP check", "env=prod"]),
])
def test_words(text, words):
    assert parse.words(text) == words


@pytest.mark.parametrize("text, seconds", [
    ("30m", 1800), ("2h", 7200), ("1d", 86400), ("1h30m", 5400), ("1h 30m", 5400), ("2 hours", 7200),
    ("90 min", 5400), ("1w", 604800), ("45s", 45), ("1.5h", 5400),
])
def test_durations(text, seconds):
    assert durations.seconds_of(text) == seconds


@pytest.mark.parametrize("text, message", [
    ("2x", "is not a duration"), ("0m", "longer than 0"), ("soon", "is not a duration"), ("400d", "at most a year"),
])
def test_bad_durations(text, message):
    with pytest.raises(DurationError, match=message):
        durations.seconds_of(text)


NOW = at("2026-03-04 14:30")   # a Wednesday


@pytest.mark.parametrize("words, keyword, ends", [
    (["18:00"], "until", "2026-03-04 18:00"),
    (["6pm"], "until", "2026-03-04 18:00"),
    (["tomorrow", "09:00"], "until", "2026-03-05 09:00"),
    (["friday", "17:00"], "until", "2026-03-06 17:00"),
    (["wed", "09:00"], "until", "2026-03-11 09:00"),        # today's weekday means next week
    (["2026-03-10", "08:15"], "until", "2026-03-10 08:15"),
    (["until", "tomorrow", "9am"], "for", "2026-03-05 09:00"),
    (["2h"], "for", "2026-03-04 16:30"),
])
def test_until_in_callers_time_zone(words, keyword, ends):
    assert durations.resolve(words, NOW, BERLIN, keyword).ends_at == at(ends)


def test_until_uses_the_time_zone_given():
    new_york = ZoneInfo("America/New_York")
    assert durations.resolve(["18:00"], NOW, new_york, "until").ends_at == at("2026-03-04 18:00", new_york)


@pytest.mark.parametrize("words, message", [
    (["12:00"], "has passed today"),
    (["tomorrow"], "at what time"),
    (["25:00"], "not a time of day"),
    ([], "until when"),
    (["2026-02-30"], "not a date"),
])
def test_bad_end_times(words, message):
    with pytest.raises(DurationError, match=message):
        durations.resolve(words, NOW, BERLIN, "until")


def test_a_time_skipped_by_daylight_saving_is_refused():
    night_before = at("2026-03-28 20:00")  # Berlin skips 02:00-03:00 on 2026-03-29
    with pytest.raises(DurationError, match="does not exist"):
        durations.resolve(["tomorrow", "02:30"], night_before, BERLIN, "until")


@pytest.mark.parametrize("word, name, op, value", [
    ("host=web-01", "host", "=", "web-01"),
    ("host!=web-01", "host", "!=", "web-01"),
    ("service=~HTTP.*", "service", "=~", "HTTP.*"),
    ("env!~prod|production", "env", "!~", "prod|production"),
    ("labels.host=db-1", "host", "=", "db-1"),
    ("url=http://x/?a=b", "url", "=", "http://x/?a=b"),
    ("fingerprint=web-01/HTTP", "fingerprint", "=", "web-01/HTTP"),
])
def test_matchers_parse(word, name, op, value):
    assert matchers.parse_one(word) == matchers.Matcher(name, op, value)


@pytest.mark.parametrize("word, message", [
    ("=web", "not a matcher"), ("web-01", "not a matcher"), ("host=~(", "bad regex"), ("ho st=x", "not a label name"),
])
def test_bad_matchers(word, message):
    with pytest.raises(matchers.MatcherError, match=message):
        matchers.parse_one(word)


@pytest.mark.parametrize("word, constrains", [
    ("host=web-01", True), ("fingerprint=web-01/HTTP", True), ("alertname=~Disk.*", True),
    ("source=nagios", False), ("severity=critical", False), ("host=~.*", False), ("host=~.+|", False), ("service=~.+", False),
    ("host!=web-01", False), ("host=", False),
])
def test_what_counts_as_a_label_constraint(word, constrains):
    assert matchers.parse_one(word).constrains() is constrains


def test_matchers_use_the_engines_semantics():
    alert = {"fingerprint": "web-01/HTTP", "subject": "web-01/HTTP", "source": "nagios", "status": "firing",
             "labels": {"host": "web-01", "env": "production"}}
    rendered = [m.as_dict() for m in matchers.parse(["host=~web-.*", "env!=staging", "source=nagios"])]
    assert lookup.matches(rendered, alert, NOW)
    assert not lookup.matches([matchers.parse_one("host=~web").as_dict()], alert, NOW)  # whole value
