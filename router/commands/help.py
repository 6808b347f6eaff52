"""`help` and `help <command>`: only what the caller may run, where they are asking."""
from __future__ import annotations

from router.commands import permissions
from router.commands.context import Context
from router.commands.declare import Reply, command, one_of, suggest
from router.commands.packs import everything, find
from router.commands.parse import words


def runnable(ctx: Context) -> list[str]:
    """The commands the caller may run in this room (with some arguments)."""
    return [name for name in sorted(everything(ctx.data))
            if permissions.check(ctx.policy, ctx.who, name, ctx.rooms(), ctx.where()).allowed]


@command("help", aliases=("?", "commands"))
def help_(ctx: Context, args: str) -> Reply:
    """The commands you can run here, or how to use one.

    Usage: help [command]

    Examples:
      help
      help snooze
    """
    tokens = words(args)
    mine = runnable(ctx)
    if tokens:
        name = tokens[0].lower().lstrip("!/")
        found = find(ctx.data, name)
        if found is None:
            close = suggest(name, mine)
            hint = f" Did you mean {one_of(close)}?" if close else ""
            return Reply(f"There is no command `{name[:40]}`.{hint} `help` lists yours.", outcome="unknown")
        if found.name not in mine:
            verdict = permissions.check(ctx.policy, ctx.who, found.name, ctx.rooms(), ctx.where())
            return Reply(f"You cannot run `{found.name}` here: {verdict.reason}")
        return Reply(f"*{found.name}*: {found.help}")
    if not mine:
        verdict = permissions.check(ctx.policy, ctx.who, "help", ctx.rooms(), ctx.where())
        return Reply(f"There is no command you may run in {ctx.where()}. {verdict.reason}".strip())
    lines = [f"Commands {ctx.who.name} can run in {ctx.where()}:"]
    known = everything(ctx.data)
    lines += [f"• `{known[name].usage.splitlines()[0]}`: {known[name].summary}" for name in mine]
    lines.append("`help <command>` shows how to use one.")
    if not ctx.policy.configured:
        lines.append("(No permissions.yml in the rules dir: everyone may run every command.)")
    return Reply("\n".join(lines))
