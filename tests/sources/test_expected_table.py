"""The expectation tables cover every stored body file, in the format the HTTP tests rely on."""
from __future__ import annotations

import pytest

from router.core.signal import SignalSchema
from sources import ADAPTERS, alertmanager
from tests.sources.expected import API_V2, EXPECTED, PAYLOADS, REFUSED, VARIANTS, read

SOURCES = ("nagios", "alertmanager", "jenkins", "github", "runscope", "slack")
BODIES = sorted(f"{source}/{path.name}" for source in SOURCES for path in (PAYLOADS / source).iterdir()
                if not path.name.endswith(".headers.json") and ".decoded." not in path.name)
KEYS = {"kind", "status", "severity", "subject", "fingerprint", "labels"}


def test_every_body_file_has_an_expectation():
    tables = {**EXPECTED, **VARIANTS, **API_V2, **REFUSED}
    assert [name for name in BODIES if name not in tables] == []
    assert not set(EXPECTED) & set(VARIANTS)


@pytest.mark.parametrize("name", BODIES)
def test_every_body_file_has_headers(name):
    assert read(name)[1], f"{name} has no headers file"


@pytest.mark.parametrize("name", sorted({**EXPECTED, **VARIANTS, **API_V2}))
def test_entry_format_and_signals_are_valid(name):
    wanted = {**EXPECTED, **VARIANTS, **API_V2}[name]
    assert isinstance(wanted, list)
    for entry in wanted:
        assert set(entry) == KEYS
        assert all(isinstance(v, str) for v in entry["labels"].values())
    raw, headers = read(name)
    source = name.split("/")[0]
    if name in API_V2:
        signals = alertmanager.parse_v2(alertmanager.load_v2(raw, headers), headers)
    else:
        signals = ADAPTERS[source].parse(ADAPTERS[source].load(raw, headers), headers)
    for signal in signals:
        assert signal.source == ("chat" if source == "slack" else source)
        SignalSchema().load(signal.to_dict())
