"""The dashboard's reading aids: Slack mrkdwn as safe HTML (escape first, then format), relative
times from a pinned `now` with the absolute time in the reader's zone on hover."""
from __future__ import annotations

import zoneinfo

import pytest

from router.core.times import epoch_of
from router.dashboard.show import absolute, mrkdwn, relative

NOW = epoch_of("2026-11-30T01:33:20Z")      # a fixed instant, never the clock


@pytest.mark.parametrize("text, html", [
    ("*bold* and _italic_ and ~gone~", "<b>bold</b> and <i>italic</i> and <s>gone</s>"),
    ("run `ack 3f9a2c1`", "run <code>ack 3f9a2c1</code>"),
    ("```\nline *one*\n```", "<pre>line *one*\n</pre>"),
    ("`*not bold*`", "<code>*not bold*</code>"),
    (":red_circle: CRITICAL :unknown_code:", "🔴 CRITICAL :unknown_code:"),
    ("<https://ci.example/job/1?a=1&b=2|build 1>",
     '<a href="https://ci.example/job/1?a=1&amp;b=2" rel="noreferrer noopener" target="_blank">build 1</a>'),
    ("<https://x.example/>", '<a href="https://x.example/" rel="noreferrer noopener" target="_blank">https://x.example/</a>'),
    ("ping <@U01ALICE> and <!here>", 'ping <span class="mention">@U01ALICE</span> and <span class="mention">!here</span>'),
    ("snake_case_name and 2*3*4 and file_a.txt", "snake_case_name and 2*3*4 and file_a.txt"),
    ("at 10:00:00", "at 10:00:00"),
])
def test_mrkdwn_formats(text, html):
    assert str(mrkdwn(text)) == html


@pytest.mark.parametrize("hostile", [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(2)">',
    "*<script>alert(3)</script>*",
    "`<script>alert(4)</script>`",
    "```<svg onload=alert(5)>```",
    "<javascript:alert(6)|click me>",
    '<https://ok.example/" onmouseover="alert(7)|x>',
    "<https://ok.example/|<img src=x onerror=alert(8)>>",
    "_<b onclick=alert(9)>_",
    "<data:text/html,<script>alert(10)</script>|x>",
])
def test_mrkdwn_never_lets_markup_through(hostile):
    shown = str(mrkdwn(hostile))
    for tag in ("<script", "<img", "<svg", "<b onclick", "onerror=\"", "onmouseover=\"", "href=\"javascript",
                "href=\"data"):
        assert tag not in shown, shown
    assert "&lt;" in shown                     # what was markup is shown as text


def test_relative_times_from_a_pinned_now():
    twelve_minutes_ago = "2026-11-30T01:21:20.000Z"
    shown = str(relative(twelve_minutes_ago, NOW, prefix="for ", suffix=""))
    assert shown == ('<time datetime="2026-11-30T01:21:20.000Z" title="2026-11-30 01:21:20 UTC">for 12m</time>')
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    assert 'title="2026-11-30 02:21:20 CET">12m ago<' in str(relative(twelve_minutes_ago, NOW, berlin))
    assert ">in 1h30m<" in str(relative("2026-11-30T03:03:20Z", NOW))
    assert str(relative("not a time", NOW)) == "not a time"
    assert absolute("2026-07-01T12:00:00Z", berlin) == "2026-07-01 14:00:00 CEST"
    assert str(relative('"><script>', NOW)) == "&#34;&gt;&lt;script&gt;"
