"""Acting where you look: an alert row's Ack, Snooze (with its preview), Unsnooze and Why run the
chat command's own function as "You are" — permissions.yml, the suppression guardrails and the
audit trail as in chat — behind the CSRF check, as plain forms with post/redirect/get. The rules
are the chat commands' (tests/commands/conftest.py): dave may ack but not snooze, production
snoozes need a reason and last at most 24h, a snooze may match at most 3 alerts."""
from __future__ import annotations

import re

from router.core import brain
from router.core.signal import SIGNAL_FIELDS
from router.dashboard import pages
from tests.api import conftest as api_fixtures
from tests.api.conftest import audit, fire
from tests.dashboard.conftest import named, page, post, text_of

rules_dir, env, config, slack_clock, alerts = (api_fixtures.rules_dir, api_fixtures.env, api_fixtures.config,
                                               api_fixtures.slack_clock, api_fixtures.alerts)

WEB01 = brain.alert_id("web-01/HTTP")
DB01 = brain.alert_id("db-01/Disk Space")


def test_each_row_has_the_forms_to_act_on_it(client, alerts):
    named(client, "bob")
    html = page(client.get("/"))
    row = html[html.index(f'id="alert-{WEB01}"'):]
    row = row[:row.index("</tr>")]
    assert f'action="/alerts/{WEB01}/ack"' in row and f'action="/alerts/{WEB01}/snooze"' in row
    assert f'action="/alerts/{WEB01}/why"' in row and 'name="csrf"' in row
    # the snooze form previews what each choice matches now (SPEC §6)
    shown = text_of(row)
    assert "this alert matches 1 firing alert: web-01/HTTP" in shown
    assert "host=web-01 matches 1 firing alert: web-01/HTTP" in shown
    assert "service=HTTP matches 2 firing alerts: web-01/HTTP, web-02/HTTP" in shown


def test_ack_from_a_row_acts_as_you_and_comes_back_with_the_answer(client, redis, alerts):
    named(client, "bob")
    answer = post(client, f"/alerts/{WEB01}/ack", reason="looking into it", next="/?severity=critical")
    assert (answer.status_code, answer.headers["Location"]) == (302, f"/?severity=critical#alert-{WEB01}")
    html = page(client.get(answer.headers["Location"]))
    shown = text_of(html)
    assert f"bob acked {WEB01} web-01/HTTP: looking into it" in shown            # the command's own reply
    row = html[html.index(f'id="alert-{WEB01}"'):]
    assert f"bob acked <code>{WEB01}</code> web-01/HTTP: looking into it" in row[:row.index("</tr>")]  # in its row
    assert "acked by bob: looking into it" in shown
    assert brain.load_alert(redis, "web-01/HTTP")["acked_by"] == "bob"
    (entry,) = audit(redis, event="command", command="ack")
    assert (entry["who"], entry["channel"], entry["outcome"]) == ("bob", "api", "ok")
    assert entry["what"] == f"ack {WEB01} looking into it"
    assert [e["who"] for e in audit(redis, event="alert.acked")] == ["bob"]
    # acked: the row offers no second ack
    row = page(client.get("/"))
    row = row[row.index(f'id="alert-{WEB01}"'):]
    assert f'/alerts/{WEB01}/ack"' not in row[:row.index("</tr>")]


def test_a_reason_with_quotes_and_words_like_for_stays_the_reason(client, redis, alerts):
    named(client, "bob")
    post(client, f"/alerts/{WEB01}/ack", reason="it's down for 'real' because; `rm -rf`")
    assert brain.load_alert(redis, "web-01/HTTP")["ack_reason"] == "it's down for 'real' because; `rm -rf`"
    (entry,) = audit(redis, event="command", command="ack")
    assert entry["what"] == f"ack {WEB01} it's down for 'real' because; `rm -rf`"       # as typed


def test_snooze_from_a_row_within_the_guardrails(client, redis, alerts):
    named(client, "alice")
    answer = post(client, f"/alerts/{DB01}/snooze", target="host=db-01", duration="2h", reason="disk cleanup",
                  next="/", do="snooze")
    assert (answer.status_code, answer.headers["Location"]) == (302, f"/#alert-{DB01}")
    shown = text_of(page(client.get("/")))
    assert "Snoozed s1: host=db-01 until" in shown and "Right now it matches 1 firing alert: db-01/Disk Space" in shown
    assert re.search(r"snoozed by alice \(s1\) ends in (2h|1h59m): disk cleanup", shown)
    (entry,) = audit(redis, event="snooze.created")
    assert (entry["who"], entry["matchers"], entry["reason"]) == ("alice", "host=db-01", "disk cleanup")
    # and Unsnooze from the same row
    answer = post(client, "/snoozes/s1/end", alert=DB01, reason="done early", next="/")
    assert (answer.status_code, answer.headers["Location"]) == (302, f"/#alert-{DB01}")
    shown = text_of(page(client.get("/")))
    assert "host=db-01, by alice): done early." in shown and "Ended snooze s1" in shown
    assert "snoozed by alice" not in shown
    assert [e["who"] for e in audit(redis, event="snooze.deleted")] == ["alice"]


def test_snooze_guardrails_and_permissions_are_chats(client, redis, alerts):
    named(client, "alice")
    # from the dashboard alice may not snooze production: permissions.yml allows it from #ops only
    refused = post(client, f"/alerts/{WEB01}/snooze", target=WEB01, duration="2h", reason="x", do="snooze")
    assert refused.status_code == 403
    # an alert posted in #ops is acted on from #ops, as a click on its message there would be
    redis.hset(brain.key_alert_threads("web-01/HTTP"), "#ops", "m1")
    # production needs a reason: the guardrail's refusal, with the preview, status 422
    refused = post(client, f"/alerts/{WEB01}/snooze", target=WEB01, duration="2h", reason="", do="snooze")
    assert refused.status_code == 422
    assert "snoozing production alerts needs a reason" in text_of(page(refused))
    # longer than production's 24h
    refused = post(client, f"/alerts/{WEB01}/snooze", target=WEB01, duration="3d", reason="x", do="snooze")
    assert refused.status_code == 422 and "production snoozes last at most 1d" in text_of(page(refused))
    # dave may ack, not snooze
    named(client, "dave")
    refused = post(client, f"/alerts/{DB01}/snooze", target="host=db-01", duration="1h", reason="x", do="snooze")
    assert refused.status_code == 403 and "dave is not one of them" in text_of(page(refused))
    assert not brain.active_snoozes(redis, 0)
    assert [e["outcome"] for e in audit(redis, event="command", command="snooze")] == ["refused"] * 4
    # a bad duration is a usage error, 400
    named(client, "alice")
    refused = post(client, f"/alerts/{DB01}/snooze", target="host=db-01", duration="soon", reason="x", do="snooze")
    assert refused.status_code == 400


def test_preview_shows_what_a_snooze_would_match_and_snoozes_nothing(client, redis, alerts):
    named(client, "alice")
    answer = post(client, f"/alerts/{DB01}/snooze", target="service=~.*Space", duration="1h", do="preview",
                  next=f"/alerts/{DB01}")
    assert answer.status_code == 200
    assert ("service=~.*Space matches 2 firing alerts: db-01/Disk Space, db-02/Disk Space right now."
            in text_of(page(answer)))
    assert not brain.active_snoozes(redis, 0) and not audit(redis, event="command")
    answer = post(client, f"/alerts/{DB01}/snooze", target="host=~(", duration="1h", do="preview")
    assert answer.status_code == 200 and "host=~(:" in text_of(page(answer))


def test_why_is_answered_on_the_alerts_page(client, redis, alerts):
    named(client, "dave")
    answer = post(client, f"/alerts/{WEB01}/why", next="/")
    assert answer.status_code == 200
    shown = text_of(page(answer))
    assert f"Alert {WEB01} web-01/HTTP (firing), its latest signal:" in shown
    # live.js keeps the page fresh from its GET address, not the form's
    assert f'data-live-url="/alerts/{WEB01}"' in answer.get_data(as_text=True)
    assert 'data-live-url="/?severity=critical"' in page(client.get("/?severity=critical"))
    assert [e["outcome"] for e in audit(redis, event="command", command="why")] == ["ok"]


def test_acting_needs_a_name_and_this_dashboards_form(client, redis, alerts):
    named(client)
    refused = post(client, f"/alerts/{WEB01}/ack")
    assert refused.status_code == 400 and 'Say who you are first' in text_of(page(refused))
    named(client, "bob")
    for form in ({}, {"csrf": "forged"}):
        refused = client.post(f"/alerts/{WEB01}/ack", data=form)
        assert refused.status_code == 400
        assert "This form has expired or was not sent from this dashboard" in text_of(page(refused))
    assert not brain.load_alert(redis, "web-01/HTTP").get("acked_by")
    assert not audit(redis, event="command")
    # a redirect never leaves the site
    answer = post(client, f"/alerts/{WEB01}/ack", next="//evil.example/")
    assert answer.headers["Location"] == f"/#alert-{WEB01}"


def test_unknown_alert_and_snooze(client, redis, alerts):
    named(client, "bob")
    refused = post(client, "/alerts/zzzzzzz/ack")
    assert refused.status_code == 400 and "No alert zzzzzzz is known" in text_of(page(refused))
    named(client, "alice")
    refused = post(client, "/snoozes/s99/end")
    assert refused.status_code == 404 and "There is no snooze s99" in text_of(page(refused))
    assert client.get("/alerts/zzzzzzz").status_code == 404


def test_filters_and_grouping_live_in_the_url(client, redis, alerts):
    fire(redis, "web-03/Load", severity="warning")
    shown = text_of(page(client.get("/?severity=warning")))
    assert "Firing 0 of 6" in shown or "No firing alert matches" in shown
    shown = text_of(page(client.get("/?match=env%3Dstaging")))
    assert "Firing 2 of 6" in shown and "db-01/Disk Space" in shown and "web-01/HTTP" not in shown
    shown = text_of(page(client.get("/?source=nagios&match=host%3Dweb-01")))
    assert "Firing 1 of 6" in shown
    html = page(client.get("/?group=host"))
    assert "host=db-01 1 firing" in text_of(html) and 'value="host" selected' not in html
    assert "<option selected>host</option>" in html
    answer = client.get("/?match=host%3D~(")
    assert answer.status_code == 200 and "Matcher:" in text_of(page(answer))


def test_the_snooze_choices_are_labels_so_their_preview_is_what_a_snooze_matches():
    # pages.label_index counts label equalities; a signal field would be matched differently
    assert not set(pages.SNOOZE_BY) & set(SIGNAL_FIELDS)


def test_an_answer_about_an_alert_not_on_the_page_is_shown_at_the_top(client, redis, alerts):
    named(client, "bob")
    answer = post(client, f"/alerts/{WEB01}/ack", next="/?severity=warning")       # the row is filtered out
    html = page(client.get(answer.headers["Location"]))
    top = html[:html.index("<section")]
    assert f"bob acked <code>{WEB01}</code> web-01/HTTP" in top, top[-800:]
