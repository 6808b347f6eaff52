"""The shapes of the files in the rules dir (SPEC §4, §10), as strict marshmallow schemas.

Unknown keys are refused everywhere, with the nearest valid key suggested; `problems()` turns a
marshmallow error tree into `file:line: message` lines using the lines the YAML loader recorded.
`when:` maps are not described here: their keys are field paths, parsed by conditions.py.
"""
from __future__ import annotations

import datetime as dt
import zoneinfo

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from router.core import intervals
from router.engine import vocabulary
from router.engine.loader import Problem, did_you_mean, line_of

NAME = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_.:@/-]*$",
                       error="use letters, digits and - _ . : @ / (no spaces), starting with a letter or digit")
RULESET_NAME = validate.Regexp(r"^[a-z][a-z0-9_-]*$", error="use lower-case letters, digits, - and _")


class Strict(Schema):
    class Meta:
        unknown = RAISE


class StrictBool(fields.Boolean):
    truthy = {True}
    falsy = {False}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError("must be true or false")
        return value


class Int(fields.Integer):
    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)


class TimeZone(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValidationError(f'unknown time zone "{value}" (use e.g. Europe/Berlin, UTC)') from None
        return value


class When(fields.String):
    """A date or date-time as written in calendars: `2026-12-01` or `2026-12-01 14:00`."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, (dt.date, dt.datetime)):
            return value.isoformat()
        value = super()._deserialize(value, attr, data, **kwargs)
        try:
            dt.datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError(f'bad date "{value}" (use 2026-12-01 or 2026-12-01 14:00)') from None
        return value


class Cron(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        from croniter import croniter

        value = super()._deserialize(value, attr, data, **kwargs)
        if not croniter.is_valid(value):
            raise ValidationError(f'bad cron schedule "{value}" (five fields, e.g. "0 9 * * 1-5")')
        return value


class StrOrList(fields.Field):
    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return list(value)
        raise ValidationError("must be a name or a non-empty list of names")


# -- rulesets -------------------------------------------------------------------------------------

class RuleSchema(Strict):
    name = fields.String(required=True, validate=NAME)
    description = fields.String()
    when = fields.Dict(required=True)
    then = fields.List(fields.Raw(), required=True, validate=validate.Length(min=1, error="needs at least one action"))
    continue_ = StrictBool(data_key="continue", load_default=False)


def inline_brain_schema() -> Schema:
    """The brain-derived fields an inline test may pretend the brain holds (`brain:`): the
    registered fact fields (yes/no, counts or text), and `count`, the signals in every `count` window."""
    shape: dict[str, fields.Field] = {}
    for name, default in vocabulary.active().fields.items():
        shape[name] = (StrictBool() if isinstance(default, bool) else fields.String() if isinstance(default, str)
                       else Int(validate=validate.Range(min=0)))
    shape["count"] = Int(validate=validate.Range(min=0))  # this signal included
    return Schema.from_dict(shape, name="TestBrainSchema")(unknown=RAISE)


class _Brain(fields.Field):
    """`brain:` of an inline test, checked against the fact fields registered now."""

    def _deserialize(self, value, attr, data, **kwargs):
        return inline_brain_schema().load(value)


class TestSchema(Strict):
    name = fields.String()
    signal = fields.Dict(required=True)
    brain = _Brain(load_default=dict)
    at = When()
    expect = fields.List(fields.String(), required=True)


class IntervalEntry(fields.Raw):
    """One entry of a named time interval (router/core/intervals.py reads it)."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            intervals.entry(value)
        except intervals.IntervalError as exc:
            raise ValidationError(str(exc)) from None
        return value


class TimeIntervalSchema(Strict):
    """Alertmanager's `time_intervals:` item: a name and its entries (none: always)."""
    name = fields.String(required=True, validate=NAME)
    time_intervals = fields.List(IntervalEntry(), load_default=list)


class RulesetFileSchema(Strict):
    ruleset = fields.String(required=True, validate=RULESET_NAME)
    version = Int(load_default=1, validate=validate.OneOf([1], error="unsupported version (this Sparky reads version 1)"))
    description = fields.String()
    rules = fields.List(fields.Raw(), required=True)
    tests = fields.List(fields.Raw(), load_default=list)
    # Any ruleset may name time intervals; every ruleset may use them (`during:`, `mute_during:`).
    time_intervals = fields.List(fields.Nested(TimeIntervalSchema))


def ruleset_file_schema(ruleset: object) -> Schema:
    """The file schema for a ruleset, with the extra top-level keys its features registered."""
    extras = vocabulary.active().extras.get(ruleset if isinstance(ruleset, str) else "", {})
    if not extras:
        return RulesetFileSchema()
    return Schema.from_dict({**RulesetFileSchema._declared_fields, **extras},
                            name=f"{ruleset.title()}FileSchema")(unknown=RAISE)


# -- marshmallow errors -> problems ----------------------------------------------------------------

def _allowed(schema: Schema | None) -> list[str]:
    if schema is None:
        return []
    return [f.data_key or name for name, f in schema.fields.items()]


def _inner(field_: fields.Field | None, part: str) -> tuple[Schema | None, fields.Field | None]:
    """What describes `field_`'s children: (schema of a nested map, or the field of list items)."""
    if isinstance(field_, fields.Nested):
        return field_.schema, None
    if isinstance(field_, fields.List):
        return _inner(field_.inner, part) if isinstance(field_.inner, fields.Nested) else (None, field_.inner)
    if isinstance(field_, fields.Dict) and part == "value":
        return _inner(field_.value_field, part) if isinstance(field_.value_field, fields.Nested) \
            else (None, field_.value_field)
    return None, None


def problems(messages: object, node: object, display: str, prefix: str, schema: Schema | None,
             line: int = 0) -> list[Problem]:
    """Translate a marshmallow `ValidationError.messages` tree into problems with lines."""
    out: list[Problem] = []
    here = line_of(node, default=line)
    if isinstance(messages, list):
        for msg in messages:
            out.append(Problem(display, here, f"{prefix}{_lower(msg)}"))
        return out
    if not isinstance(messages, dict):
        return [Problem(display, here, f"{prefix}{messages}")]
    suggested = {did_you_mean(k, _allowed(schema))[len(' (did you mean "'):-len('"?)')]
                 for k, sub in messages.items() if sub == ["Unknown field."]} - {""}
    for key, sub in messages.items():
        if sub == ["Missing data for required field."] and key in suggested:
            continue  # "unknown key "rom" (did you mean "room"?)" says it already
        if key == "_schema":
            out += problems(sub, node, display, prefix, None, here)
            continue
        child = node.get(key) if isinstance(node, dict) else (
            node[key] if isinstance(node, list) and isinstance(key, int) and key < len(node) else None)
        key_line = line_of(node, key, here)
        field_ = schema.fields.get(_attr(schema, key)) if schema is not None and isinstance(key, str) else None
        if sub == ["Unknown field."]:
            out.append(Problem(display, key_line, f'{prefix}unknown key "{key}"{did_you_mean(key, _allowed(schema))}'))
        elif sub == ["Missing data for required field."]:
            out.append(Problem(display, here, f'{prefix}missing key "{key}"'))
        elif isinstance(sub, dict) and isinstance(node, list) and isinstance(key, int):
            out += problems(sub, child, display, prefix, schema, key_line)
        elif isinstance(sub, dict) and set(sub) <= {"key", "value"} and isinstance(node, dict):
            # a Dict field's entry: marshmallow reports {"key": [...]} / {"value": {...}}
            if "key" in sub:
                out += [Problem(display, key_line, f'{prefix}"{key}": {_lower(m)}') for m in sub["key"]]
            if "value" in sub:
                out += problems(sub["value"], child, display, f'{prefix}"{key}": ', schema, key_line)
        elif isinstance(sub, dict) and isinstance(field_, fields.Dict):
            out += _dict_entries(sub, child, display, prefix, field_, key_line, str(key))
        elif isinstance(sub, dict) and isinstance(field_, fields.List) and not isinstance(field_.inner, fields.Nested):
            for idx, msgs in sub.items():
                item = line_of(child, idx, key_line) if isinstance(idx, int) else key_line
                out += problems(msgs, None, display, f"{prefix}{key}: ", None, item)
        elif isinstance(sub, dict):
            inner_schema, _ = _inner(field_, "value")
            out += problems(sub, child, display, prefix if inner_schema is not None else f"{prefix}{key}: ",
                            inner_schema, key_line)
        else:
            for msg in sub:
                out.append(Problem(display, key_line, f"{prefix}{key}: {_lower(msg)}"))
    return out


SINGULAR = {"people": "person", "groups": "group", "apps": "app", "scans": "scan"}


def _dict_entries(sub: dict, node: object, display: str, prefix: str, field_: fields.Dict,
                  line: int, name: str = "") -> list[Problem]:
    out = []
    value_schema, _ = _inner(field_, "value")
    for entry, parts in sub.items():
        entry_line = line_of(node, entry, line)
        child = node.get(entry) if isinstance(node, dict) else None
        label = f'{prefix}{SINGULAR.get(name, name)} "{entry}": ' if name in SINGULAR else f'{prefix}{name}: "{entry}": '
        if "key" in parts:
            out += [Problem(display, entry_line, f'{label}{_lower(m)}') for m in parts["key"]]
        if "value" in parts:
            out += problems(parts["value"], child, display, label, value_schema, entry_line)
    return out


def _attr(schema: Schema, key: str) -> str:
    for name, f in schema.fields.items():
        if (f.data_key or name) == key:
            return name
    return key


def _lower(msg: object) -> str:
    text = str(msg)
    if text.endswith(".") and not text.endswith(".."):
        text = text[:-1]
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def load(schema: Schema, data: object, display: str, prefix: str = "") -> tuple[dict | None, list[Problem]]:
    """`schema.load(data)`, or None plus the problems with file lines."""
    if not isinstance(data, dict):
        kind = "nothing" if data is None else type(data).__name__
        return None, [Problem(display, line_of(data), f"{prefix}expected a map of keys, got {kind}")]
    try:
        return schema.load(data), []
    except ValidationError as exc:
        return None, problems(exc.messages, data, display, prefix, schema)
