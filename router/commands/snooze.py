"""`snooze`, `snoozes`, `unsnooze`: silencing alerts from chat, within the suppression guardrails.

A snooze is a fact in the brain (router/core/brain/engine.py documents its shape); the rules engine reads
the active ones for the `snoozed` field and the suppression ruleset drops what they match, so
matching signals are recorded and not posted. Guardrails come from `guardrails.snooze` in the
suppression ruleset (rules/suppression.yml):
- `max_duration`: per environment (`labels.env`), with a `default`;
- `reason_required`: true, false, or the environments that need a `because <reason>`;
- `max_matches`: a snooze that would hit more firing alerts is refused with the preview;
- `require_label`: a matcher must pick out alerts by a label (or fingerprint/subject), not only
  by source/severity/status, and not with a regex that matches anything.
A snooze's environments are those its matchers pin (`env=production`) plus those of the firing
alerts it matches now; the strictest limit among them applies, and permissions.yml `args: {env: ...}`
entries are checked against each of them.
`create` and `end` are the checks plus the work, without chat's parsing: `POST /api/snoozes` and
`DELETE /api/snoozes/<id>` (router/api/snoozes.py) call them too.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from redis import Redis

from router.alerts import lookup
from router.alerts.lines import covering, name_of, preview
from router.commands.context import Context
from router.commands.declare import Refused, Reply, UsageError, command
from router.commands.parse import keyword_split, words
from router.core import brain, matchers
from router.core.durations import DurationError, Until, humanize, local_time, resolve, seconds_of
from router.core.durations import parse as parse_rule_duration
from router.core.times import from_epoch
from router.snoozes import lifecycle, upstream

DEFAULTS = {"max_duration": {"default": "7d"}, "reason_required": False, "max_matches": 20, "require_label": True}
SNOOZE_ID = re.compile(r"^(?:#|s|S)?(\d+)$")
GUARDRAILS = "suppression.yml guardrails"     # the rule a guardrail refusal names in the audit trail


@dataclass(frozen=True)
class Guardrails:
    max_duration: dict[str, float]
    reason_required: bool | tuple[str, ...]
    max_matches: int
    require_label: bool

    def limit(self, envs: list[str]) -> tuple[float, str]:
        """The strictest maximum among `envs` (seconds, and which env set it)."""
        options = [(self.max_duration.get(e, self.max_duration["default"]), e if e in self.max_duration else "default")
                   for e in envs or ["default"]]
        return min(options)

    def needs_reason(self, envs: list[str]) -> bool:
        if isinstance(self.reason_required, bool):
            return self.reason_required
        return any(e in self.reason_required for e in envs)


def guardrails(data: dict) -> Guardrails:
    given = ((data.get("guardrails") or {}).get("snooze") or {})
    merged = {**DEFAULTS, **given}
    limits = {str(k): parse_rule_duration(str(v)) for k, v in (merged["max_duration"] or {}).items()}
    limits.setdefault("default", parse_rule_duration("7d"))
    required = merged["reason_required"]
    return Guardrails(limits, required if isinstance(required, bool) else tuple(str(e) for e in required),
                      int(merged["max_matches"]), bool(merged["require_label"]))


def _split(args: str) -> tuple[list[str], str, list[str], str]:
    """(target words, "for"/"until", duration words, reason) of `<target> for <duration> because <reason>`."""
    tokens = words(args)
    head, because, reason_words = keyword_split(tokens, "because")
    reason = " ".join(reason_words).strip()
    if because and not reason:
        raise UsageError("`because` needs a reason after it.")
    target, keyword, when = keyword_split(head, "for", "until")
    if not keyword and len(head) >= 2:  # forgiving: `snooze web-01/HTTP 2h`
        try:
            seconds_of(head[-1])
            target, keyword, when = head[:-1], "for", head[-1:]
        except DurationError:
            pass
    if not target:
        raise UsageError("Snooze what? Give a matcher (host=web-01 service=HTTP) or an alert id from `alerts`.")
    if not keyword:
        raise UsageError("For how long? Add e.g. `for 2h` or `until 18:00`.")
    return target, keyword, when, reason


def by_matchers(target: list[str]) -> tuple[list[dict], str]:
    """(matchers as stored in a snooze, how to show them) for matcher words; UsageError if not."""
    try:
        parsed = [m.as_dict() for m in matchers.parse(target)]
    except matchers.MatcherError as exc:
        raise UsageError(str(exc)) from None
    return parsed, matchers.render(parsed)


def by_alert(ctx: Context, ref: str, firing: list[dict]) -> tuple[list[dict], str]:
    """The snooze matcher (its fingerprint) of the one alert a reference names; UsageError if not one."""
    found = lookup.find(ctx.conn, ref, firing)
    if not found:
        raise UsageError(f"No alert `{ref}` is known. Use an id from `alerts`, a fingerprint, "
                         "or a matcher such as host=web-01.")
    if len(found) > 1:
        ids = ", ".join(f"`{a['id']}` {a.get('subject') or a['fingerprint']}" for a in found[:5])
        raise UsageError(f"`{ref}` could be several alerts: {ids}. Use one id.")
    fingerprint = found[0]["fingerprint"]
    return [{"name": "fingerprint", "op": "=", "value": fingerprint}], f"fingerprint={fingerprint}"


def _target(ctx: Context, target: list[str], firing: list[dict]) -> tuple[list[dict], str]:
    if all(matchers.looks_like_matcher(w) for w in target):
        return by_matchers(target)
    return by_alert(ctx, " ".join(target), firing)


def envs_of(snooze_matchers: list[dict], hits: list[dict]) -> list[str]:
    pinned = {m["value"] for m in snooze_matchers if m["name"] == "env" and m["op"] == "="}
    seen = {(a.get("labels") or {}).get("env", "") for a in hits}
    return sorted((pinned | seen) - {""})


def create(ctx: Context, snooze_matchers: list[dict], shown: str, until: Until, reason: str,
           firing: list[dict], how_to_give_reason: str) -> tuple[dict, list[dict]]:
    """Make a snooze, within permissions.yml and the suppression guardrails: the one path for
    chat and `POST /api/snoozes`. Returns (the stored snooze, the firing alerts it matches now);
    raises Refused (kind `forbidden` or `guardrail`), with the preview in the reason."""
    hits = [a for a in firing if lookup.matches(snooze_matchers, a, ctx.now)]
    envs = envs_of(snooze_matchers, hits)
    ctx.authorize(env=envs)

    rails = guardrails(ctx.data)
    what = f"Right now it matches {preview(hits)}."
    if rails.require_label and not any(matchers.Matcher(**m).constrains() for m in snooze_matchers):
        raise Refused(f"`{shown}` names no label, so it could silence every alert of its kind. {what} "
                      "Add a label such as host=web-01 or alertname=HighLatency.", GUARDRAILS, "guardrail")
    if len(hits) > rails.max_matches:
        raise Refused(f"`{shown}` would silence {len(hits)} firing alerts, more than the limit of "
                      f"{rails.max_matches}. {what} Narrow the matcher.", GUARDRAILS, "guardrail")
    limit, env = rails.limit(envs)
    if until.seconds > limit + 1:
        scope = "snoozes" if env == "default" else f"{env} snoozes"
        raise Refused(f"{scope} last at most {humanize(limit)}; `{until.written}` is {humanize(until.seconds)}. "
                      f"{what}", GUARDRAILS, "guardrail")
    if rails.needs_reason(envs) and not reason:
        raise Refused(f"snoozing {', '.join(e for e in envs if rails.needs_reason([e]))} alerts needs a reason: "
                      f"{how_to_give_reason}. {what}", GUARDRAILS, "guardrail")

    record = {
        "id": brain.next_snooze_id(ctx.conn), "matchers": snooze_matchers, "ends_at": until.ends_at,
        "created_by": ctx.who.name, "reason": reason, "created_at": from_epoch(ctx.now),
        "starts_at": ctx.now, "text": shown, "envs": envs, "room": ctx.room, "where": ctx.where(),
        "transport": "rooms" if ctx.channel in ("room", "cli") else "chat", "channel": ctx.channel,
        "user": ctx.labels.get("user", ""), "signal": ctx.signal.get("id", ""), "tz": ctx.tz.key,
    }
    remind_at = lifecycle.reminder_time(record) if ctx.room else None
    if remind_at:
        record["remind_at"] = remind_at
    brain.put_snooze(ctx.conn, record)
    lifecycle.schedule(ctx.conn, record)
    upstream.follow(ctx.conn, ctx.config, record)     # a silence in Alertmanager too, when configured
    ctx.audit("snooze.created", what=f"snooze {record['id']}: {shown} until {from_epoch(until.ends_at)}",
              snooze=record["id"], matchers=shown, ends_at=from_epoch(until.ends_at), reason=reason,
              outcome="ok", rule=ctx.rule, matched=len(hits))
    return record, hits


@command("snooze", public=True)
def snooze(ctx: Context, args: str) -> Reply:
    """Silence alerts for a while: they are recorded, not posted; when it ends, what still fires is posted again.

    Usage: snooze <matcher or alert id> for <duration> [because <reason>]
           snooze <matcher or alert id> until <time> [because <reason>]

    A matcher is one or more of label=value, label!=value, label=~regex, label!~regex (regexes
    match the whole value); an alert id is the short id `alerts` shows, or a fingerprint.
    Durations: 30m, 2h, 1d, 1h30m; times: `until 18:00`, `until tomorrow 09:00`,
    `until friday 17:00`, in your time zone (people.yml `tz`).
    The answer lists what the snooze matches now. The suppression ruleset's guardrails apply:
    a maximum duration per environment, a reason where required, at most N matching alerts,
    and a matcher must name a label. Long snoozes get a reminder in the room before they end.

    Examples:
      snooze host=web-01 for 2h because deploying 1.4
      snooze 3f9a2c1 for 30m
      snooze alertname=DiskFilling env=staging until tomorrow 09:00
    """
    target, keyword, when, reason = _split(args)
    firing = lookup.firing(ctx.conn)
    snooze_matchers, shown = _target(ctx, target, firing)
    try:
        until = resolve(when, ctx.now, ctx.tz, keyword)
    except DurationError as exc:
        raise UsageError(str(exc)) from None
    again = f"snooze {' '.join(target)} {keyword} {' '.join(when)} because <reason>"
    record, hits = create(ctx, snooze_matchers, shown, until, reason, firing, f"say `{again}`")
    ends = local_time(until.ends_at, ctx.tz, ctx.now)
    text = (f"Snoozed `{record['id']}`: `{shown}` until {ends} ({humanize(until.seconds)})"
            + (f" because {reason}" if reason else "") + f", by {ctx.who.name}. Right now it matches {preview(hits)}."
            + " Matching alerts are recorded, not posted; what still fires when it ends is posted again.")
    if record.get("remind_at"):
        text += f" I'll remind {ctx.where()} {humanize(until.ends_at - record['remind_at'])} before it ends."
    return Reply(text + f" End it early with `unsnooze {record['id']}`.", public=True)


def describe(snooze: dict, ctx: Context, firing: list[dict] | None = None) -> str:
    parts = [f"`{snooze['id']}` `{snooze.get('text') or matchers.render(snooze.get('matchers') or [])}`",
             f"by {snooze.get('created_by') or '?'}",
             f"until {local_time(snooze['ends_at'], ctx.tz, ctx.now)} (in {humanize(snooze['ends_at'] - ctx.now)})"]
    if snooze.get("reason"):
        parts.append(f"because {snooze['reason']}")
    if firing is not None:
        hits = [a for a in firing if lookup.matches(snooze.get("matchers") or [], a, ctx.now)]
        parts.append(f"silencing {len(hits)} firing")
    return " · ".join(parts)


@command("snoozes")
def snoozes(ctx: Context, args: str) -> Reply:
    """The active snoozes: what they match, who made them, why, and when they end.

    Usage: snoozes

    End one with `unsnooze <id>`.
    """
    active = sorted(brain.active_snoozes(ctx.conn, ctx.now), key=lambda s: s["ends_at"])
    if not active:
        return Reply("No active snoozes.")
    firing = lookup.firing(ctx.conn)
    lines = [f"{len(active)} active snooze{'s' if len(active) != 1 else ''}:"]
    lines += [describe(s, ctx, firing) for s in active[:20]]
    if len(active) > 20:
        lines.append(f"… and {len(active) - 20} more, ending later")
    return Reply("\n".join(lines))


def normalise_id(text: str) -> str | None:
    """`s12`, `12`, `#12`, `S12` → `s12`; None when it is not a snooze id."""
    match = SNOOZE_ID.match(text.strip())
    return f"s{match.group(1)}" if match else None


def find_snooze(conn: Redis, snooze_id: str, now: float) -> tuple[dict | None, str]:
    """(the snooze, `active` | `ended`), or (None, "") when there never was one (or it is forgotten)."""
    found = brain.load_snooze(conn, snooze_id)
    if found is not None and brain.is_active_snooze(conn, snooze_id) and found["ends_at"] > now:
        return found, "active"
    ended = brain.ended_snooze(conn, snooze_id) or found
    return (ended, "ended") if ended else (None, "")


def end(ctx: Context, found: dict, note: str) -> list[dict]:
    """End an active snooze now, within permissions.yml (for its environments): the one path for
    chat and `DELETE /api/snoozes/<id>`. Returns the alerts it silenced that still fire and are
    covered by no other snooze (posted again by the end job)."""
    firing = lookup.firing(ctx.conn)
    hits = [a for a in firing if lookup.matches(found["matchers"], a, ctx.now)]
    ctx.authorize(env=sorted(set(found.get("envs") or []) | set(envs_of(found["matchers"], hits))))
    lifecycle.end_now(ctx.conn, found, ctx.who.name, note, ctx.now)
    upstream.unfollow(ctx.conn, ctx.config, found)
    ctx.audit("snooze.deleted", what=f"unsnooze {found['id']}: {found.get('text', '')}", snooze=found["id"],
              reason=note, outcome="ok", rule=ctx.rule)
    others = [s for s in brain.active_snoozes(ctx.conn, ctx.now) if s["id"] != found["id"]]
    return [a for a in hits if not covering(a, others, ctx.now)]


@command("unsnooze", public=True)
def unsnooze(ctx: Context, args: str) -> Reply:
    """End a snooze now; the alerts it silenced that still fire are posted again.

    Usage: unsnooze <snooze id> [reason]

    Examples:
      unsnooze s12
      unsnooze 12 deploy finished early
    """
    tokens = words(args)
    if not tokens:
        raise UsageError("Which snooze? `snoozes` lists them with their ids.")
    snooze_id = normalise_id(tokens[0])
    if snooze_id is None:
        raise UsageError(f"`{tokens[0][:40]}` is not a snooze id (they look like s12).")
    note = " ".join(tokens[1:])
    found, state = find_snooze(ctx.conn, snooze_id, ctx.now)
    # Nothing was ended: a refusal, so a terminal's `sparky say` exits 1 and the API answers 404/409.
    if state == "ended":
        raise Refused(f"Snooze `{snooze_id}` has already ended"
                      + (f" ({found.get('ended_at')})." if found.get("ended_at") else "."), kind="conflict")
    if found is None:
        raise Refused(f"There is no snooze `{snooze_id}`. `snoozes` lists the active ones.", kind="missing")
    still = end(ctx, found, note)
    tail = (f" Still firing, posted again shortly: {', '.join(name_of(a) for a in still[:10])}." if still
            else " Nothing it matched is firing.")
    return Reply(f"Ended snooze `{snooze_id}` (`{found.get('text', '')}`, by {found.get('created_by', '?')})"
                 + (f": {note}." if note else ".") + tail, public=True)
