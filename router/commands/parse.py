"""Command text as people type it → clean words: Slack markup decoded, quotes normalised.

Pure functions, no Redis. What Slack does to text before Sparky sees it, and what is undone:
- `<@U01ALICE>` / `<@U01ALICE|alice>` (a mention) → `@U01ALICE` / `@alice`;
- `<#C04OPS|ops>` (a channel link) → `#ops`, `<#C04OPS>` → `#C04OPS`;
- `<mailto:a@example.com|a@example.com>` → what was typed, `a@example.com`;
- `<http://web-01.example.com|web-01.example.com>` (Slack links anything that looks like a
  host name) → what was typed; a bare `<http://x>` → `http://x`;
- `<!here>` → `@here`; `&lt;` `&gt;` `&amp;` → `<` `>` `&`;
- smart quotes (“ ” ‘ ’ „ « » …) → plain quotes, non-breaking and odd spaces → spaces.
Words are split like a shell would (quotes group words), falling back to plain whitespace when
the quotes do not balance, so `snooze host=web-01 for 2h because it's "deploying` still parses.
"""
from __future__ import annotations

import re
import shlex
import unicodedata

# <@U123>, <@U123|name>, <#C123|name>, <!here>, <!subteam^S123|@team>, <http://x|label>, <mailto:x|label>
MARKUP = re.compile(r"<([@#!]?)([^<>|]*)(?:\|([^<>]*))?>")
QUOTES = str.maketrans({
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u00ab": '"', "\u00bb": '"', "\u2033": '"',
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u2039": "'", "\u203a": "'",
    "\u2013": "-", "\u2014": "-", "\u2212": "-",
})
# What people put in front of a command out of habit: `!help`, `/sparky help`, `@sparky help`, `sparky: help`.
LEADING = re.compile(r"^\s*(?:[!/]+|@?sparky\b[\s:,]*|/sparky\b\s*)+", re.IGNORECASE)
MAX_TEXT = 2_000   # longer text is cut: no command needs more, and chat replies echo words back


def _markup(match: re.Match) -> str:
    sigil, target, label = match.group(1), match.group(2), match.group(3)
    if sigil == "@":
        return f"@{label}" if label else f"@{target}"
    if sigil == "#":
        return f"#{label}" if label else f"#{target}"
    if sigil == "!":
        if label:
            return label
        return f"@{target.split('^', 1)[0]}"
    if label:
        return label  # a link Slack made of what was typed: keep what was typed
    return target[len("mailto:"):] if target.startswith("mailto:") else target


def decode(text: str) -> str:
    """Slack markup and typography undone; control characters dropped; one line of words."""
    text = text[:MAX_TEXT]
    text = MARKUP.sub(_markup, text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    text = text.translate(QUOTES)
    out = []
    for ch in text:
        category = unicodedata.category(ch)
        if ch in "\t\n\r" or category == "Zs":
            out.append(" ")
        elif category.startswith("C"):
            continue  # control, format (zero-width), surrogate, private use
        else:
            out.append(ch)
    return "".join(out).strip()


def normalise(text: str) -> str:
    """`decode`, then the habitual prefixes (`!`, `/sparky`, `@sparky`) removed."""
    return LEADING.sub("", decode(text), count=1).strip()


def words(text: str) -> list[str]:
    """Shell-like split (quotes group words); plain whitespace split if the quotes do not balance."""
    try:
        return shlex.split(text, posix=True)
    except ValueError:
        return text.split()


def split_command(text: str) -> tuple[str, str]:
    """(command name in lower case, the rest of the text) of normalised text."""
    head, _, rest = normalise(text).partition(" ")
    return head.lower(), rest.strip()


def keyword_split(tokens: list[str], *keywords: str) -> tuple[list[str], str, list[str]]:
    """Split at the first token equal (case-insensitively) to one of `keywords`.

    Returns (before, the keyword found or "", after).
    """
    wanted = {k.lower() for k in keywords}
    for i, token in enumerate(tokens):
        if token.lower() in wanted:
            return tokens[:i], token.lower(), tokens[i + 1:]
    return tokens, "", []
