"""Command text → (command word, the words after it), decoded the way chat commands are."""
from __future__ import annotations

import re
import shlex

LEADING = re.compile(r"^\s*(?:[!/]+|@?sparky\b[\s:,]*)+", re.IGNORECASE)


def split(text: str) -> tuple[str, list[str]]:
    text = LEADING.sub("", text or "", count=1).strip()
    try:
        words = shlex.split(text, posix=True)
    except ValueError:
        words = text.split()
    return (words[0].lower(), words[1:]) if words else ("", [])
