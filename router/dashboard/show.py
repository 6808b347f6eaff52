"""How the dashboard shows things a person reads at a glance: times and Slack's mrkdwn.

- Times: "12m ago" / "for 1h5m" measured from a `now` the caller passes (tests pin it), with the
  absolute time in the person's zone (people.yml `tz`, else UTC) in the element's `title`, so a
  hover or a long tap shows it; `datetime` keeps the ISO time for scripts and screen readers.
- mrkdwn: room messages are written for Slack (`*bold*`, `_italic_`, `~strike~`, `` `code` ``,
  fenced blocks, `<url|text>`, `:red_circle:`). Alert text inside them comes from outside, so
  the text is HTML-escaped FIRST and only then formatted: the formatting adds a fixed set of
  tags and never un-escapes anything; a link is made only of an http(s) URL.
"""
from __future__ import annotations

import datetime as dt
import re
import zoneinfo

from markupsafe import Markup, escape

from router.core.durations import humanize
from router.core.times import epoch_of

UTC = zoneinfo.ZoneInfo("UTC")

# The short codes Sparky's own messages and common alert templates use; others stay as written.
EMOJI = {
    "red_circle": "🔴", "large_green_circle": "🟢", "green_circle": "🟢", "yellow_circle": "🟡",
    "large_orange_circle": "🟠", "orange_circle": "🟠", "large_blue_circle": "🔵", "white_check_mark": "✅",
    "heavy_check_mark": "✔️", "x": "❌", "warning": "⚠️", "rotating_light": "🚨", "fire": "🔥",
    "zzz": "💤", "bell": "🔔", "no_bell": "🔕", "eyes": "👀", "rocket": "🚀", "construction": "🚧",
    "information_source": "ℹ️", "hourglass": "⌛", "hourglass_flowing_sand": "⏳", "tada": "🎉",
    "thumbsup": "👍", "+1": "👍", "thumbsdown": "👎", "-1": "👎", "sos": "🆘", "skull": "💀",
    "arrow_right": "➡️", "repeat": "🔁", "lock": "🔒", "robot_face": "🤖", "boom": "💥",
}
# Symbols for severities, so colour is not the only sign (WCAG 1.4.1): plain Unicode shapes that
# every system font has, unlike emoji (a phone without an emoji font would show boxes).
SEVERITY_ICON = {"critical": "✖", "error": "✖", "warning": "▲", "info": "ℹ", "ok": "✔"}


def severity_icon(severity: str) -> str:
    return SEVERITY_ICON.get((severity or "").lower(), "•")


def local(epoch: float, tz: zoneinfo.ZoneInfo) -> str:
    """`2026-03-01 11:00:00 CET` in `tz`."""
    moment = dt.datetime.fromtimestamp(epoch, tz)
    return f"{moment:%Y-%m-%d %H:%M:%S} {moment.tzname() or tz.key}"


def absolute(iso: str, tz: zoneinfo.ZoneInfo = UTC) -> str:
    """An ISO time as the person reads it (their zone); the text itself when it is not a time."""
    epoch = epoch_of(iso)
    return local(epoch, tz) if epoch is not None else (iso or "")


def relative(iso: str, now: float, tz: zoneinfo.ZoneInfo = UTC, prefix: str = "", suffix: str = " ago") -> Markup:
    """`<time datetime=… title="2026-03-01 11:00:00 CET">12m ago</time>` (a future time: "in 12m")."""
    epoch = epoch_of(iso)
    if epoch is None:
        return Markup(escape(iso or ""))
    seconds = now - epoch
    words = f"{prefix}{humanize(seconds)}{suffix}" if seconds >= 0 else f"in {humanize(-seconds)}"
    return Markup('<time datetime="%s" title="%s">%s</time>') % (iso, local(epoch, tz), words)


# mrkdwn, applied to already-escaped text. Code first (its content is not formatted further).
_FENCE = re.compile(r"```(?:\n)?(.*?)```", re.S)
_CODE = re.compile(r"`([^`\n]+)`")
# <https://x|text>, <https://x>, <@U123>, <!here>, <#C123|name>: escaped, `<` is `&lt;`.
_ANGLE = re.compile(r"&lt;([^\s&|]+?(?:&amp;[^\s&|]*?)*)(?:\|([^\n]*?))?&gt;")
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~(?=\S)([^~\n]*?\S)~(?![\w~])")
_EMOJI = re.compile(r":([a-z0-9_+\-]+):")
_HOLE = "\x00{}\x00"          # where a code span waits while the rest is formatted
_HOLES = re.compile("\x00(\\d+)\x00")


def _link(match: re.Match) -> str:
    target, label = match.group(1), match.group(2)
    raw = target.replace("&amp;", "&")
    if re.match(r"https?://", raw, re.I):
        shown = label if label is not None else target
        # `target` is already escaped (quotes included), so it is safe inside href="…".
        return f'<a href="{target}" rel="noreferrer noopener" target="_blank">{shown}</a>'
    if target.startswith(("@", "!", "#")):
        return f"<span class=\"mention\">{label or target}</span>"
    return match.group(0)


def mrkdwn(text: str) -> Markup:
    """Slack mrkdwn as safe HTML: escape everything, then add <b>, <i>, <s>, <code>, <pre>, <a>."""
    escaped = str(escape(text or ""))
    held: list[str] = []

    def hold(html: str) -> str:
        held.append(html)
        return _HOLE.format(len(held) - 1)

    escaped = _FENCE.sub(lambda m: hold(f"<pre>{m.group(1)}</pre>"), escaped)
    escaped = _CODE.sub(lambda m: hold(f"<code>{m.group(1)}</code>"), escaped)
    escaped = _ANGLE.sub(lambda m: hold(_link(m)), escaped)
    escaped = _BOLD.sub(r"<b>\1</b>", escaped)
    escaped = _ITALIC.sub(r"<i>\1</i>", escaped)
    escaped = _STRIKE.sub(r"<s>\1</s>", escaped)
    escaped = _EMOJI.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), escaped)
    while _HOLES.search(escaped):
        escaped = _HOLES.sub(lambda m: held[int(m.group(1))], escaped)
    return Markup(escaped)
