"""/hooks/generic: bodies already in signal shape, validated strictly."""
from __future__ import annotations

import pytest

from sources import generic
from sources.common import Refused

JSON = {"Content-Type": "application/json"}


def test_object_with_defaults():
    (signal,) = generic.parse(generic.load(b'{"summary": "hello"}', JSON), JSON)
    defaults = ("generic", "event", "received", "info")
    assert (signal.source, signal.kind, signal.status, signal.severity) == defaults
    assert signal.summary == "hello"
    assert signal.dedup == ""
    assert signal.id and signal.received_at and signal.occurred_at == signal.received_at


def test_list_and_any_source():
    body = b'[{"source": "traffic", "kind": "visit", "status": "seen", "labels": {"page": "/"}}, {}]'
    first, second = generic.parse(generic.load(body, JSON), JSON)
    assert (first.source, first.kind, first.labels) == ("traffic", "visit", {"page": "/"})
    assert second.source == "generic"


def test_times_are_normalised():
    (signal,) = generic.parse({"occurred_at": "2026-03-03T15:05:09+01:00"}, JSON)
    assert signal.occurred_at == "2026-03-03T14:05:09.000Z"


@pytest.mark.parametrize("body, reason", [
    ([{}, {"colour": "red"}], "signals[1].colour: Unknown field."),
    ({"colour": "red"}, "colour: Unknown field."),
    ({"severity": "loud"}, "severity: Must be one of: critical, warning, info."),
    ({"labels": {"a": 1}}, "labels.a.value: Not a valid string."),
    ([], "signals: empty list"),
    ([3], "signals[0]: not an object"),
    ({"occurred_at": "yesterday"}, "occurred_at: Not a valid datetime."),
])
def test_invalid_bodies_are_400_naming_the_field(body, reason):
    with pytest.raises(Refused) as caught:
        generic.parse(body, JSON)
    assert (caught.value.status, caught.value.reason) == (400, reason)


def test_non_json_is_415_and_scalars_400():
    with pytest.raises(Refused) as caught:
        generic.load(b"a=b", {"Content-Type": "application/x-www-form-urlencoded"})
    assert caught.value.status == 415
    with pytest.raises(Refused) as caught:
        generic.load(b'"text"', JSON)
    assert caught.value.status == 400
