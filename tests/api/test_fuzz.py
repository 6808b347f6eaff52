"""Random bodies at the write API: never a 5xx, always a JSON error naming the problem.

Bodies are mostly well-formed (the right fields, odd values), so that they get past the schema
into the commands' own parsing, permissions and guardrails, where a 500 would hide."""
from __future__ import annotations

import collections
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.pipeline.test_hooks_fuzz import FUZZ, json_values

WORDS = st.text(alphabet="abcdehostvnwrkx=~!-.*()[]|/ 0123456789:+TZ", min_size=1, max_size=24)
USERS = st.sampled_from(["alice", "bob", "carol", "dave", "U01BOB", "mallory", " "])
MATCHERS = st.one_of(
    st.lists(st.sampled_from(["host=db-01", "host=~web-.*", "service=Disk Space", "env=production", "host=cache-01",
                              "source=nagios", "host=~(", "x!~.*", "host=~.*", "env!=staging"]), min_size=1, max_size=3),
    st.lists(WORDS, min_size=1, max_size=3))
DURATIONS = st.one_of(st.sampled_from(["2h", "30m", "8d", "1y", "until 18:00", "until tomorrow 09:00", "0m",
                                       "-1h", "99999999h", "2 hours", "until friday"]), WORDS)
TIMES = st.one_of(st.sampled_from(["2030-01-01T00:00:00Z", "2020-01-01T00:00:00Z", "2030-01-01T00:00:00",
                                   "9999-12-31T23:59:59+14:00", "2026-12-01T10:00:00+01:00"]), WORDS)
ALERTS = st.one_of(st.sampled_from(["web-01/HTTP", "500e70e", "5", "db-01/Disk Space", "nothing"]), WORDS)
ODD = st.one_of(json_values, WORDS)


def _body(required: dict, optional: dict):
    fixed = st.fixed_dictionaries(required, optional=optional)
    mangled = fixed.flatmap(lambda d: st.fixed_dictionaries(
        {**{k: st.just(v) for k, v in d.items()}, **{k: ODD for k in d if k != "user"}}))
    return st.one_of(fixed, fixed, fixed, mangled, json_values)    # mostly well-formed


_snooze_options = {"reason": WORDS, "room": st.sampled_from(["#ops", "#dev"])}
SNOOZE = st.one_of(*(_body({"user": USERS, **target, **when}, _snooze_options)
                     for target in ({"matchers": MATCHERS}, {"alert": ALERTS})
                     for when in ({"duration": DURATIONS}, {"ends_at": TIMES})),
                   _body({"user": USERS}, {"matchers": MATCHERS, "alert": WORDS, "duration": DURATIONS}))
END = _body({"user": USERS}, {"reason": WORDS})
DEPLOY = _body({"user": USERS, "app": st.sampled_from(["web-api", "", "x"]) | WORDS,
                "env": st.sampled_from(["production", "staging"]) | WORDS}, {"ref": WORDS})
WRITES = [("post", "/api/snoozes", SNOOZE), ("delete", "/api/snoozes/s1", END), ("post", "/api/deploys", DEPLOY),
          ("post", "/api/deploys/dp-abc234/approve", END), ("post", "/api/deploys/dp-abc234/deny", END)]
seen: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)


@pytest.mark.parametrize("method, path, bodies", WRITES, ids=[f"{m} {p}" for m, p, _ in WRITES])
@FUZZ
@given(data=st.data())
def test_random_bodies_never_5xx(client, alerts, method, path, bodies, data):
    body = data.draw(bodies)
    response = getattr(client, method)(path, data=json.dumps(body), content_type="application/json")
    seen[path][response.status_code] += 1
    assert response.status_code < 500, response.get_data(as_text=True)
    answer = response.get_json()
    if response.status_code >= 400:
        assert answer["status"] == response.status_code and answer["error"]
        assert "Traceback" not in answer["error"]


def test_the_fuzzing_got_past_the_schemas():
    """Guards the generators: random snoozes were made and refused, not only turned away as 400s."""
    if "/api/snoozes" not in seen:
        pytest.skip("run with the fuzz tests above")
    assert {201, 400, 403} <= set(seen["/api/snoozes"]), seen["/api/snoozes"]
