"""Nagios / Icinga notification scripts: macros (form or JSON) → one `alert` signal.

Senders differ wildly (SPEC §3, corpus README quirk 8): full environment dumps or whitelists,
`NAGIOS_`/`ICINGA_` prefixes or none, random order, every value a string, and JSON built by shell
templates that may be invalid. Keys are normalised (prefix stripped, upper-cased, aliases mapped
onto macro names) before anything is read.

Choices where SPEC is silent:
- Notification types outside the status table (FLAPPINGSTOP, FLAPPINGEND, FLAPPINGDISABLED,
  CUSTOM, unknown or missing) are `firing` in a problem state and `resolved` in OK/UP.
- With no state name, the state id (`SERVICESTATEID`/`HOSTSTATEID`, "2" or "2.0") is used; with
  neither, severity is `warning` for a firing signal and `info` otherwise.
- Unparseable `TIMET` is ignored (occurred_at falls back to the time of receipt), as is any other
  malformed optional macro: only a missing host name is refused.
- summary: "<STATE> <subject>: <output>", prefixed by the notification type unless it is PROBLEM.
- actor: the notification/acknowledgement author (set for ACKNOWLEDGEMENT, DOWNTIME*, CUSTOM).
- Labels beyond SPEC's: address, hostgroup, notification_type; empty values are left out.
- When a macro arrives twice (prefixed and not), the first non-empty value wins.

Delivery key (duplicates): Nagios numbers notifications per instance, starts again at 1 when it
restarts without its retention file, and two Nagios/Icinga servers hand out the same numbers, so
the notification id alone would make new notifications "duplicates" and lose them. The key is
the notification id together with what the notification is about and when it was sent: host,
service, notification type, state, `TIMET` (else `LONGDATETIME`/`SHORTDATETIME`) and, when the
sender passes it, `PROCESSSTARTTIME` (which changes when Nagios restarts). The same notification
posted again (a script's retry, or one post per contact) has the same key and is a duplicate;
without a notification id there is no key and nothing is treated as a duplicate.
"""
from __future__ import annotations

import json
from typing import Mapping

from router.core.signal import Signal
from sources.common import (
    Refused,
    decode_form,
    decode_json,
    epoch_iso,
    first_line,
    is_form,
    is_json,
    media_type,
    text,
)

NAME = "nagios"
AUTH = "token"
BODIES = ("application/x-www-form-urlencoded", "application/json")   # what it reads (/openapi.json)

PREFIXES = ("NAGIOS_", "ICINGA_")

# Field names used by JSON templates (Keep's curl template, Icinga 2 scripts) → Nagios macro names.
# STATE, OUTPUT, ... are not Nagios macros: they stand for the service's or the host's, whichever
# the notification is about (see PER_CHECK).
ALIASES = {
    "HOST_NAME": "HOSTNAME",
    "HOST": "HOSTNAME",
    "HOST_ADDRESS": "HOSTADDRESS",
    "HOST_ALIAS": "HOSTALIAS",
    "HOST_STATE": "HOSTSTATE",
    "SERVICE_DESCRIPTION": "SERVICEDESC",
    "SERVICE_NAME": "SERVICEDESC",
    "SERVICENAME": "SERVICEDESC",
    "SERVICE_STATE": "SERVICESTATE",
    "NOTIFICATION_TYPE": "NOTIFICATIONTYPE",
    "TIMESTAMP": "TIMET",
    "STATE_TYPE": "STATETYPE",
    "PLUGIN_OUTPUT": "OUTPUT",
    "LONG_PLUGIN_OUTPUT": "LONGOUTPUT",
    "ACKNOWLEDGEMENT_AUTHOR": "ACKAUTHOR",
    "ACKNOWLEDGEMENT_COMMENT": "ACKCOMMENT",
    "NOTIFICATION_ID": "NOTIFICATIONID",
}

# What the notification is about, read from the service macro, the host macro, or the neutral alias.
PER_CHECK = {
    "state": ("SERVICESTATE", "HOSTSTATE", "STATE"),
    "state_id": ("SERVICESTATEID", "HOSTSTATEID", "STATEID"),
    "state_type": ("SERVICESTATETYPE", "HOSTSTATETYPE", "STATETYPE"),
    "output": ("SERVICEOUTPUT", "HOSTOUTPUT", "OUTPUT"),
    "long_output": ("LONGSERVICEOUTPUT", "LONGHOSTOUTPUT", "LONGOUTPUT"),
    "ack_author": ("SERVICEACKAUTHOR", "HOSTACKAUTHOR", "ACKAUTHOR"),
    "notification_id": ("SERVICENOTIFICATIONID", "HOSTNOTIFICATIONID", "NOTIFICATIONID"),
}

NOTIFICATION_STATUS = {
    "PROBLEM": "firing",
    "RECOVERY": "resolved",
    "ACKNOWLEDGEMENT": "acknowledged",
    "FLAPPINGSTART": "flapping",
    "DOWNTIMESTART": "downtime",
    "DOWNTIMEEND": "downtime_end",
    "DOWNTIMECANCELLED": "downtime_end",
    "DOWNTIMEREMOVED": "downtime_end",  # Icinga 2's name for a cancelled downtime
}

STATE_SEVERITY = {
    "CRITICAL": "critical",
    "DOWN": "critical",
    "WARNING": "warning",
    "UNKNOWN": "warning",
    "UNREACHABLE": "warning",
    "OK": "info",
    "UP": "info",
}

# States that are a problem: decide firing/resolved for notification types outside the table.
PROBLEM_STATES = frozenset({"CRITICAL", "DOWN", "WARNING", "UNKNOWN", "UNREACHABLE"})

SERVICE_STATE_IDS = {"0": "OK", "1": "WARNING", "2": "CRITICAL", "3": "UNKNOWN"}
HOST_STATE_IDS = {"0": "UP", "1": "DOWN", "2": "UNREACHABLE"}

# Types after which severity no longer reflects the carried state.
ALWAYS_INFO = frozenset({"RECOVERY"})
WITH_AUTHOR = frozenset({"ACKNOWLEDGEMENT", "DOWNTIMESTART", "DOWNTIMEEND", "DOWNTIMECANCELLED",
                         "DOWNTIMEREMOVED", "CUSTOM"})


def load(raw: bytes, headers: Mapping[str, str]) -> dict:
    """Decode a form or JSON body of macros; refuse other content types."""
    if is_form(headers):
        return decode_form(raw)
    if is_json(headers) or (not media_type(headers) and raw.lstrip().startswith(b"{")):
        data = decode_json(raw)
        if not isinstance(data, dict):
            raise Refused(400, f"expected a JSON object of macros, got {type(data).__name__}")
        return data
    if not media_type(headers):
        return decode_form(raw)
    raise Refused(415, f"unsupported content type {media_type(headers)!r}; send form-encoded macros or JSON")


def macros(payload: Mapping) -> dict[str, str]:
    """Normalise keys to bare upper-case macro names; values become strings."""
    found: dict[str, str] = {}
    for key, value in payload.items():
        name = str(key).strip().upper()
        for prefix in PREFIXES:
            if name.startswith(prefix):
                name = name[len(prefix):]
                break
        name = ALIASES.get(name, name)
        value = text(value).strip() if isinstance(value, (str, int, float, bool)) else ""
        if value and not found.get(name):
            found[name] = value
    return found


def parse(payload: object, headers: Mapping[str, str]) -> list[Signal]:
    """One alert signal from one notification."""
    if not isinstance(payload, dict):
        raise Refused(400, f"expected an object of macros, got {type(payload).__name__}")
    m = macros(payload)
    host = m.get("HOSTNAME", "")
    if not host:
        raise Refused(400, "HOSTNAME: missing")
    service = m.get("SERVICEDESC", "")
    pick = 0 if service else 1  # index into PER_CHECK: the service's macro or the host's
    view = {key: m.get(names[pick]) or m.get(names[2], "") for key, names in PER_CHECK.items()}

    state = view["state"].upper()
    if not state:
        ids = SERVICE_STATE_IDS if service else HOST_STATE_IDS
        state = ids.get(view["state_id"].split(".")[0], "")
    ntype = m.get("NOTIFICATIONTYPE", "").upper()
    status = NOTIFICATION_STATUS.get(ntype) or ("firing" if state in PROBLEM_STATES or not state
                                                else "resolved")
    if ntype in ALWAYS_INFO:
        severity = "info"
    else:
        severity = STATE_SEVERITY.get(state) or ("warning" if status == "firing" else "info")

    subject = f"{host}/{service}" if service else host
    output = view["output"]
    # "CRITICAL web-01/HTTP: <output>"; other types say so first: "RECOVERY OK web-01/HTTP: ..."
    words = [w for w in (ntype if ntype != "PROBLEM" else "", state, subject) if w]
    summary = " ".join(words) + (f": {output}" if output else "")
    actor = ""
    if ntype in WITH_AUTHOR:
        actor = m.get("NOTIFICATIONAUTHOR") or view["ack_author"]

    labels = {
        "host": host,
        "service": service,
        "state": state,
        "state_type": view["state_type"].upper(),
        "address": m.get("HOSTADDRESS", ""),
        "hostgroup": m.get("HOSTGROUPNAME", ""),
        "notification_type": ntype,
    }
    return [Signal(
        source=NAME,
        kind="alert",
        status=status,
        severity=severity,
        subject=subject,
        fingerprint=subject,
        labels={k: v for k, v in labels.items() if v},
        summary=first_line(summary),
        # Nagios passes multi-line plugin output with literal "\n" (two characters).
        text=view["long_output"].replace("\\n", "\n"),
        actor=actor,
        occurred_at=epoch_iso(m.get("TIMET")),
        dedup=delivery_key(m, view["notification_id"], host, service, ntype, state),
    )]


def delivery_key(m: Mapping[str, str], notification_id: str, host: str, service: str, ntype: str,
                 state: str) -> str:
    """What identifies one notification of one object (see the module docstring); "" without an id."""
    if not notification_id:
        return ""
    sent = m.get("TIMET") or m.get("LONGDATETIME") or m.get("SHORTDATETIME") or ""
    # JSON keeps the parts apart whatever characters a service name holds.
    return json.dumps([notification_id, host, service, ntype, state, sent, m.get("PROCESSSTARTTIME", "")],
                      ensure_ascii=False, separators=(",", ":"))
