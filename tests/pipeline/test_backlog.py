"""The backlog counts signals, not requests: a cap per request, and a share of the backlog per
source so one flooding sender cannot starve the others. Over real HTTP, into a real Redis."""
from __future__ import annotations

import pytest
import requests

from router.app import create_app
from router.core import brain
from tests.liveserver import serving


def alert(n: int, source: str = "sparky") -> dict:
    return {"source": source, "kind": "alert", "status": "firing", "subject": f"host-{n}/Disk",
            "fingerprint": f"host-{n}/Disk", "labels": {"host": f"host-{n}"}}


def am_alert(n: int) -> dict:
    return {"labels": {"alertname": "DiskFull", "instance": f"web-{n}"}, "startsAt": "2026-11-25T10:00:00Z"}


@pytest.fixture
def live(config, redis):
    def start(**changes):
        return serving(create_app(config.with_(**changes)))
    return start


def test_a_request_over_the_signal_cap_is_413_naming_cap_and_count_and_kept(live, redis):
    with live(max_signals=5) as url:
        five = requests.post(f"{url}/hooks/generic", json=[alert(i) for i in range(5)])
        six = requests.post(f"{url}/hooks/generic", json=[alert(i) for i in range(6)])
        v2 = requests.post(f"{url}/api/v2/alerts", json=[am_alert(i) for i in range(20)])
    assert five.status_code == 202 and five.json()["accepted"] == 5
    assert six.status_code == 413
    error = six.json()["error"]
    assert "6 signals" in error and "SPARKY_MAX_SIGNALS (5)" in error
    assert v2.status_code == 413 and "20 signals" in v2.json()["error"]
    letters = brain.dead_letters(redis, 10)
    assert [(d["status"], d["endpoint"]) for d in letters] == [(413, "/api/v2/alerts"), (413, "/hooks/generic")]
    assert letters[1]["id"] == six.json()["dead_letter"] and '"host-5/Disk"' in letters[1]["body"]
    assert redis.zcard(brain.key_pending()) == 5   # nothing of the refused requests was stored


def test_the_backlog_bound_counts_the_signals_of_a_request(live, redis):
    with live(max_backlog=10, source_share=1.0) as url:
        post = lambda n: requests.post(f"{url}/hooks/generic", json=[alert(i) for i in range(n)])  # noqa: E731
        first, too_many, one_more = post(8), post(3), post(1)
    assert first.status_code == 202
    # 8 pending + 3 > 10: refused whole, nothing stored; one more still fits (the drain job may
    # count as 1 of the 10)
    assert too_many.status_code == 503 and too_many.headers["Retry-After"]
    assert "backlog" in too_many.json()["error"] and "bound of 10" in too_many.json()["error"]
    assert one_more.status_code == 202
    assert redis.zcard(brain.key_pending()) == 9


def test_a_flooding_source_gets_503_while_the_others_are_still_taken(live, redis, run_jobs):
    with live(max_backlog=100, source_share=0.5) as url:
        flood = [requests.post(f"{url}/hooks/generic", json=[alert(i * 10 + j) for j in range(10)])
                 for i in range(6)]
        others = requests.post(f"{url}/api/v2/alerts", json=[am_alert(i) for i in range(30)])
        more = requests.post(f"{url}/hooks/generic", json=alert(99))
        assert [r.status_code for r in flood] == [202] * 5 + [503]
        refused = flood[-1]
        assert refused.headers["Retry-After"]
        assert "source generic has 50 signals waiting, its share of the backlog is 50" in refused.json()["error"]
        assert more.status_code == 503                # still the flooding source
        assert others.status_code == 200 and others.json()["accepted"] == 30
        assert brain.pending_by_source(redis) == {"generic": 50, "alertmanager": 30}
        metrics = requests.get(f"{url}/metrics").text
        assert 'sparky_pending_signals_by_source{source="generic"} 50.0' in metrics

        run_jobs()    # the drain evaluates them and gives each source its share back
        assert brain.pending_by_source(redis) == {}
        again = requests.post(f"{url}/hooks/generic", json=[alert(100 + j) for j in range(10)])
        assert again.status_code == 202
        assert brain.pending_by_source(redis) == {"generic": 10}


def test_re_deliveries_do_not_count_against_the_share(live, redis):
    """Alertmanager re-sends every firing alert each group interval: a source at its share may
    still re-send what it has (nothing new is stored), but not add one more."""
    with live(max_backlog=40, source_share=0.5) as url:
        fill = requests.post(f"{url}/api/v2/alerts", json=[am_alert(i) for i in range(20)])
        resend = requests.post(f"{url}/api/v2/alerts", json=[am_alert(i) for i in range(20)])
        new = requests.post(f"{url}/api/v2/alerts", json=[am_alert(i) for i in range(1, 21)])  # 19 re-sent, 1 new
    assert fill.status_code == 200 and fill.json()["accepted"] == 20
    assert resend.status_code == 200 and resend.json()["accepted"] == 0
    assert new.status_code == 503 and "source alertmanager" in new.json()["error"]
    assert brain.pending_by_source(redis) == {"alertmanager": 20}


def test_a_request_that_could_never_fit_the_share_is_413_not_503_forever(live, redis):
    with live(max_backlog=20, source_share=0.5, max_signals=1000) as url:
        answer = requests.post(f"{url}/hooks/generic", json=[alert(i) for i in range(11)])
    assert answer.status_code == 413
    assert answer.json()["error"].startswith("request carries 11 signals, over SPARKY_SOURCE_SHARE of "
                                             "SPARKY_MAX_BACKLOG (10)")


def test_the_counts_per_source_heal_when_ids_leave_without_settling(config, redis):
    """Ids taken off the pending set some other way (a drain of an older version) must not hold
    a source at its share for ever: no count exceeds the pending set, and an empty set resets them."""
    from router.core.signal import Signal
    from router.pipeline.reception import Backpressure, accept

    config = config.with_(max_backlog=10, source_share=0.5)
    signals = lambda n: [Signal(source="x", kind="alert", status="firing", subject=f"s{i}") for i in range(n)]  # noqa: E731
    accept(redis, config, "generic", signals(5))
    with pytest.raises(Backpressure):
        accept(redis, config, "generic", signals(1))
    redis.zremrangebyrank(brain.key_pending(), 0, 2)       # 3 of the 5 gone, unsettled
    assert len(accept(redis, config, "generic", signals(3)).ids) == 3   # counted as 2 + 3, not 5 + 3
    redis.delete(brain.key_pending())                       # all gone, unsettled
    assert len(accept(redis, config, "generic", signals(5)).ids) == 5
    assert brain.pending_by_source(redis) == {"generic": 5}
