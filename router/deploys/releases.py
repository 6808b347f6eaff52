"""Release information (the seed's `next release`, `how to release <repo>`).

- `next release`: the next dates of deploy.yml's `calendar.releases`, in the calendar's time zone
  and the asker's, and the freeze in force or coming (date windows) — what people ask before a
  release.
- `how to release <repo>` (a repo `owner/name` or an app name): the repo's default branch from the
  GitHub API (cached in the brain for an hour) and the app's `release_steps` from deploy.yml.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from redis import Redis

from router.core.config import Config
from router.deploys import apps, calendar, github


def _when(moment: dt.datetime, viewer: ZoneInfo, now: float) -> str:
    """`Tue 2026-12-01 14:00 CET (Tue 08:00 EST for you) (in 3 days)`."""
    text = calendar.show(moment)
    theirs = moment.astimezone(viewer)
    if theirs.tzname() != moment.tzname():
        text += f" ({theirs:%a %H:%M} {theirs.tzname()} for you)"
    days = (moment.date() - dt.datetime.fromtimestamp(now, moment.tzinfo).date()).days
    return text + (" (today)" if days == 0 else " (tomorrow)" if days == 1 else f" (in {days} days)")


def next_release(data: dict, now: float, viewer: ZoneInfo) -> str:
    cal = data.get("calendar") or {}
    if not cal:
        return "deploy.yml has no release calendar (`calendar: {timezone, releases, freeze}`)."
    ahead = calendar.releases(cal, now)
    lines = [f"Next release: {_when(ahead[0], viewer, now)}." if ahead
             else "No release is planned in deploy.yml's calendar."]
    if len(ahead) > 1:
        lines.append("After that: " + ", ".join(calendar.show(r) for r in ahead[1:4]) + ".")
    frozen = calendar.freeze_at(cal, "", now)
    if frozen:
        lines.append(f"Deploy freeze now: {frozen.reason}, until {calendar.show(frozen.end)}.")
    else:
        upcoming = _next_dated_freeze(cal, now)
        if upcoming:
            start, end, reason = upcoming
            lines.append(f"Next freeze: {reason} from {calendar.show(start)} to {calendar.show(end)}.")
    return "\n".join(lines)


def _next_dated_freeze(cal: dict, now: float) -> tuple[dt.datetime, dt.datetime, str] | None:
    tz = calendar.zone(cal)
    current = dt.datetime.fromtimestamp(now, tz)
    found = []
    for window in cal.get("freeze") or []:
        if "from" not in window:
            continue
        wtz = calendar.zone(cal, window)
        start, end = calendar.moment(window["from"], wtz), calendar.moment(window["to"], wtz, end_of_day=True)
        if start > current:
            found.append((start, end, str(window.get("reason") or "deploy freeze")))
    return min(found) if found else None


def how_to_release(conn: Redis, config: Config, data: dict, name: str) -> str:
    app = apps.find(data, name)
    repo = app.repo if app else name
    if "/" not in repo:
        known = ", ".join(sorted(apps.apps(data))) or "none"
        raise ValueError(f"`{name}` is neither an app of deploy.yml (known: {known}) nor a repo `owner/name`.")
    try:
        branch = f"default branch `{github.default_branch(conn, config, repo)}`"
    except github.GitHubError as exc:
        branch = f"default branch unknown ({exc})"
        if app and app.branch:
            branch += f"; deploy.yml says `{app.branch}`"
    title = f"*{repo}*" + (f" (app `{app.name}`, deploys to {', '.join(app.environments)})" if app else "")
    lines = [f"{title}: {branch}."]
    if app and app.release_steps:
        lines.append("Release steps:")
        lines += [f"{i}. {step}" for i, step in enumerate(app.release_steps, 1)]
    else:
        lines.append("No release steps for it in deploy.yml (`apps.<app>.release_steps`).")
    return "\n".join(lines)
