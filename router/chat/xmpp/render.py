"""A chat message for XMPP: a plain body every client shows, and XHTML-IM (XEP-0071) beside it.

Two steps, both pure. The worker makes the message's `parts` (text, small print, link, the people
to mention with their JIDs, the buttons as commands to type); `sparky xmpp` composes them when it
sends, because only it knows the nicks in the room: a person mentioned by people.yml `xmpp` is
named by their nick when they are in the room (clients highlight a message that starts with your
nick), else by their people.yml name.

Choices where nothing says how:
- Slack's emoji short codes (`:red_circle:`) become the Unicode emoji (EMOJI); unknown ones are dropped.
- Buttons become one "Reply:" line of commands, addressed to Sparky's nick in a room
  (`sparky: ack 3f9a2c1`), bare in a direct message.
- XHTML-IM is Deprecated at the XSF and many clients ignore it, so the plain body carries all of
  the message; the XHTML only adds emphasis and a real link. It uses XEP-0071's recommended
  profile only (p, strong, em, a, br).
- XMPP rooms have no threads: a resolution is posted in the room like any message.
"""
from __future__ import annotations

from html import escape

# Slack short code → Unicode emoji, for the codes Sparky's messages use.
EMOJI = {
    ":red_circle:": "🔴", ":large_orange_circle:": "🟠", ":large_blue_circle:": "🔵",
    ":white_check_mark:": "✅", ":eyes:": "👀", ":zzz:": "💤", ":alarm_clock:": "⏰",
    ":twisted_rightwards_arrows:": "🔀", ":rotating_light:": "🚨", ":broom:": "🧹", ":x:": "❌",
    ":no_entry:": "⛔", ":no_entry_sign:": "🚫", ":rocket:": "🚀", ":package:": "📦", ":gear:": "⚙️",
    ":hourglass_flowing_sand:": "⏳", ":arrows_counterclockwise:": "🔄",
}


def parts(message, mentions: list[tuple[str, str]], room: bool, nick: str) -> dict:
    """What the holder needs to compose `message` (a chat.Message): JSON-ready.

    `mentions`: (name, JID or "") per person to mention, from people.yml (router/core/people.py).
    """
    address = f"{nick}: " if room else ""
    return {"emoji": EMOJI.get(message.emoji, "") if message.emoji.startswith(":") else message.emoji,
            "mentions": [list(m) for m in mentions], "text": message.text, "context": message.context,
            "url": message.url, "hints": [address + (b.hint or b.value) for b in message.buttons]}


def _mentioned(mentions: list, nicks: dict[str, str]) -> list[str]:
    return list(dict.fromkeys(nicks.get(jid, "") or name for name, jid in mentions))


def compose(parts: dict, nicks: dict[str, str] | None = None) -> tuple[str, str]:
    """(plain body, XHTML-IM body) of a message's parts; `nicks`: real bare JID → nick in the room."""
    names = _mentioned(parts.get("mentions") or [], nicks or {})
    lead = f"{', '.join(names)}: " if names else ""
    emoji = f"{parts['emoji']} " if parts.get("emoji") else ""
    text, context, url = parts.get("text", ""), parts.get("context", ""), parts.get("url", "")
    hints = parts.get("hints") or []
    plain = [f"{emoji}{lead}{text}"]
    small = " · ".join(p for p in (context, url) if p)
    if small:
        plain.append(small)
    if hints:
        plain.append("Reply: " + " or ".join(hints))
    html = [f"<p>{escape(emoji)}" + (f"<strong>{escape(lead)}</strong>" if lead else "")
            + "<br/>".join(escape(line) for line in text.split("\n")) + "</p>"]
    if context or url:
        link = f'<a href="{escape(url)}">open</a>' if url else ""
        html.append("<p>" + " · ".join(p for p in (f"<em>{escape(context)}</em>" if context else "", link) if p)
                    + "</p>")
    if hints:
        html.append("<p>Reply: " + " or ".join(f"<strong>{escape(h)}</strong>" for h in hints) + "</p>")
    return "\n".join(plain), "".join(html)
