"""The README is the front door: it must name every setting and every endpoint Sparky serves."""
from __future__ import annotations

import re
from pathlib import Path

from router.core.config import DEFAULTS

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_every_configuration_variable_is_documented():
    missing = [name for name in DEFAULTS if f"`{name}`" not in README]
    assert not missing, f"README.md does not document {missing}"


def test_every_endpoint_is_documented(app):
    served = {re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"<\1>", r.rule)
              for r in app.url_map.iter_rules() if r.endpoint != "static"}
    missing = sorted(path for path in served if f"`{path}`" not in README and f" {path}`" not in README)
    assert not missing, f"README.md does not document {missing}"


def test_both_commands_are_the_front_door():
    assert "make run" in README and "make test" in README
