"""Prometheus Alertmanager webhooks (version 4) and the `/api/v2/alerts` push API → `alert` signals.

One signal per alert; labels pass through untouched. The fingerprint is Alertmanager's own when the
payload has one, else the one Alertmanager would compute from the label set (see `fingerprint`), so
an alert pushed by Prometheus to `/api/v2/alerts` and the same alert relayed by Alertmanager to
`/hooks/alertmanager` share one identity.

Choices where SPEC is silent:
- subject: alertname, then the `instance` label, or `job` when there is no instance.
- summary: annotation `summary`, else `description`, else the alertname; text: `description`.
- occurred_at: `endsAt` for a resolved alert (when it stopped), `startsAt` otherwise; a zero
  (`0001-01-01`, what `amtool alert add` sends) or missing `startsAt` means "now", as in Alertmanager.
- A webhook alert without `status` takes the group's status; an unknown status is refused.
- A v2 alert is resolved when `endsAt` is set (not Go's zero time) and not after the receipt time.
  A firing v2 alert lives only while it is re-sent: its signal carries `endsAt` to reception
  (`Signal.ends_at`), which resolves it at `endsAt`, or SPARKY_RESOLVE_TIMEOUT after its last
  resend when it has none (router/alerts/expiry.py). Webhook alerts resolve when Alertmanager says so.
- Label values must be strings (Alertmanager guarantees it); anything else is refused, since the
  fingerprint would otherwise depend on how a number happened to be written.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Mapping

from router.core.signal import Signal
from router.core.times import iso, parse_time, utcnow
from sources.common import (
    Refused,
    decode_json,
    first_line,
    is_json,
    json_object,
    media_type,
    obj,
    string,
    time_iso,
)

NAME = "alertmanager"
AUTH = "token"
# Where it is posted (router/pipeline/hooks.py): Alertmanager's webhook, and Prometheus pushing to
# Sparky as if it were its Alertmanager, which expects 200.
PATHS = {"/hooks/alertmanager": {}, "/api/v2/alerts": {"load": "load_v2", "parse": "parse_v2", "ok_status": 200}}

ALERT_STATUS = {"firing": "firing", "resolved": "resolved"}

SEVERITY = {"critical": "critical", "page": "critical", "warning": "warning", "info": "info"}

# Prometheus model.LabelSet.Fingerprint(): FNV-1a 64 over sorted name/value pairs, 0xff separated.
FNV_OFFSET = 14695981039346656037
FNV_PRIME = 1099511628211
SEPARATOR = 0xFF
MASK64 = 2**64 - 1


def fingerprint(labels: Mapping[str, str]) -> str:
    """The fingerprint Prometheus and Alertmanager give a label set, as 16 hex digits."""
    value = FNV_OFFSET
    for name in sorted(labels):
        for part in (name, labels[name]):
            # surrogatepass: JSON may carry a lone "\ud800"; hash it rather than fail on it
            for byte in part.encode("utf-8", "surrogatepass") + bytes([SEPARATOR]):
                value = ((value ^ byte) * FNV_PRIME) & MASK64
    return f"{value:016x}"


def load(raw: bytes, headers: Mapping[str, str]) -> dict:
    """Decode a webhook body (a JSON object)."""
    return json_object(raw, headers)


V2_TIMES = ("startsAt", "endsAt")


def load_v2(raw: bytes, headers: Mapping[str, str]) -> list:
    """Decode a `/api/v2/alerts` body (a JSON list of postable alerts); its times must be times.

    A JSON body is taken whatever the Content-Type says, as Alertmanager does: `curl -d @alerts.json`
    (which its own example script uses) labels it a form. Another type is a 415 only when the body
    does not look like JSON either (it starts with neither `[` nor `{`).
    """
    if media_type(headers) and not is_json(headers) and not raw.lstrip().startswith((b"[", b"{")):
        raise Refused(415, f"unsupported content type {media_type(headers)!r} and the body is not JSON; "
                           "send a JSON list of alerts")
    data = decode_json(raw)
    if not isinstance(data, list):
        raise Refused(400, f"expected a JSON list of alerts, got {type(data).__name__}")
    for index, alert in enumerate(data):
        for name in V2_TIMES if isinstance(alert, dict) else ():
            value = alert.get(name)
            if value not in (None, "") and not _is_time(value):
                shown = json.dumps(value, ensure_ascii=False)
                shown = shown if len(shown) <= 60 else shown[:59] + "…"
                raise Refused(400, f"[{index}].{name}: {shown} is not an RFC 3339 time")
    return data


def _is_time(value: object) -> bool:
    """True for a time string that can be placed in UTC (Go's zero time included: it means unset)."""
    if not isinstance(value, str):
        return False
    try:
        parse_time(value).astimezone(dt.timezone.utc)
    except (ValueError, OverflowError):
        return False
    return True


def parse(payload: object, headers: Mapping[str, str]) -> list[Signal]:
    """One signal per alert of a webhook notification (firing and resolved may be mixed)."""
    if not isinstance(payload, dict):
        raise Refused(400, f"expected a JSON object, got {type(payload).__name__}")
    alerts = payload.get("alerts")
    if not isinstance(alerts, list):
        raise Refused(400, "alerts: missing" if alerts is None else "alerts: not a list")
    group_status = string(payload, "status")
    signals = []
    for index, alert in enumerate(alerts):
        where = f"alerts[{index}]"
        if not isinstance(alert, dict):
            raise Refused(400, f"{where}: not an object")
        raw_status = string(alert, "status") or group_status or "firing"
        status = ALERT_STATUS.get(raw_status)
        if status is None:
            raise Refused(400, f"{where}.status: unknown {raw_status!r}")
        signals.append(_signal(alert, where, status, utcnow()))
    return signals


def parse_v2(payload: object, headers: Mapping[str, str]) -> list[Signal]:
    """One signal per postable alert pushed by Prometheus."""
    if not isinstance(payload, list):
        raise Refused(400, f"expected a JSON list of alerts, got {type(payload).__name__}")
    signals = []
    for index, alert in enumerate(payload):
        where = f"[{index}]"
        if not isinstance(alert, dict):
            raise Refused(400, f"{where}: not an object")
        received = utcnow()
        ends = _set_time(string(alert, "endsAt"))
        status = "resolved" if ends and ends <= parse_time(received) else "firing"
        signal = _signal(alert, where, status, received)
        signal.ends_at = iso(ends) if ends else ""
        signals.append(signal)
    return signals


def _set_time(value: str) -> dt.datetime | None:
    """A time Alertmanager considers set: parseable, placeable in UTC (load_v2 refuses one that is
    not; a payload handed to parse_v2 directly may hold one), and not Go's zero time (0001-01-01)."""
    try:
        moment = parse_time(value).astimezone(dt.timezone.utc) if value else None
    except (ValueError, OverflowError):
        return None
    return moment if moment and moment.year > 1 else None


def _labels(alert: dict, where: str) -> dict[str, str]:
    labels = alert.get("labels")
    if not isinstance(labels, dict) or not labels:
        raise Refused(400, f"{where}.labels: missing")
    for name, value in labels.items():
        if not isinstance(value, str):
            raise Refused(400, f"{where}.labels.{name}: not a string")
    return labels


def _signal(alert: dict, where: str, status: str, received: str) -> Signal:
    labels = _labels(alert, where)
    name = labels.get("alertname", "")
    where_from = labels.get("instance") or labels.get("job") or ""
    subject = f"{name} {where_from}".strip() or "alert"
    annotations = obj(alert, "annotations")
    description = string(annotations, "description")
    starts = string(alert, "startsAt")
    began = starts if _set_time(starts) else received  # zero or missing: now
    ends = string(alert, "endsAt") if _set_time(string(alert, "endsAt")) else ""
    identity = string(alert, "fingerprint") or fingerprint(labels)
    return Signal(
        source=NAME,
        kind="alert",
        status=status,
        severity=SEVERITY.get(labels.get("severity", "").lower(), "warning"),
        subject=subject,
        fingerprint=identity,
        labels=dict(labels),
        summary=first_line(string(annotations, "summary") or description or subject),
        text=description,
        url=string(alert, "generatorURL"),
        occurred_at=time_iso(ends if status == "resolved" and ends else began),
        received_at=received,
        dedup=f"{identity}:{status}:{starts}",
    )
