"""Pack commands (commands/*.yml in the rules dir, router/packs/) as chat commands.

The built-in commands are registered once at start-up; a pack's come with the rules in force and
change when they are reloaded, so `everything(data)` and `find(data, name)` read both: `help`,
did-you-mean, permissions and `execute` see one list. Each pack command word becomes a `Command`
whose function picks the form the words fit, checks that form's grant, and does its one thing.
"""
from __future__ import annotations

import datetime as dt
import os
from functools import lru_cache

from router.commands.context import Context
from router.commands.declare import Command, Refused, Reply, UsageError, commands, lookup
from router.commands.parse import words
from router.packs import live
from router.packs.formats import Mismatch
from router.packs.run import Call, NoForm, choose, perform


def everything(data: dict) -> dict[str, Command]:
    """Every chat command in force: the built-in and plugin ones, then the packs'."""
    packs = data.get("packs") or {}
    if not packs:
        return commands()
    return {**{word: _command(forms) for word, forms in packs.items()}, **commands()}


def find(data: dict, name: str) -> Command | None:
    found = lookup(name)
    if found is not None:
        return found
    forms = (data.get("packs") or {}).get(name.lower())
    return _command(forms) if forms else None


@lru_cache(maxsize=256)
def _command(forms: tuple) -> Command:
    word = forms[0].word
    usage = "\n".join(fmt.usage() for form in forms for fmt in form.formats)
    lines = [forms[0].description, "", f"Usage: {usage.splitlines()[0]}"]
    lines += [f"       {more}" for more in usage.splitlines()[1:]]
    lines += ["", "Forms:"] + [f"  {fmt.usage()}: {form.description}" for form in forms for fmt in form.formats]
    lines += ["", f"(from the command pack {forms[0].file})"]

    def run(ctx: Context, args: str) -> Reply:
        return _run(ctx, forms, args)

    return Command(name=word, func=run, summary=forms[0].description, help="\n".join(lines), usage=usage,
                   public=forms[0].public)


def _run(ctx: Context, forms: tuple, args: str) -> Reply:
    today = dt.datetime.fromtimestamp(ctx.now, ctx.tz).date()
    try:
        chosen, params = choose(forms, words(args), today)
    except (NoForm, Mismatch) as exc:
        raise UsageError(str(exc)) from None
    ctx.authorize(form=chosen.name)
    if chosen.rooms and not chosen.permission and not any(r.lstrip("#").lower() in ctx.rooms() for r in chosen.rooms):
        raise Refused(f"`{chosen.word}` may be run only in {', '.join(chosen.rooms)}.", chosen.where)
    secrets = [os.environ[n] for n in chosen.env if os.environ.get(n)]
    text, outcome = perform(chosen, params, Call(who=ctx.who.name, room=ctx.where(), now=ctx.now, today=today),
                            live.store(ctx.conn, chosen), live.fetcher(ctx.conn, chosen, secrets),
                            live.poster(ctx.conn, ctx.config, chosen, ctx.who.name))
    ctx.audit("pack", pack=chosen.pack, command=chosen.name, outcome=outcome)
    return Reply(text, outcome="ok" if outcome == "ok" else "error", public=chosen.public)
