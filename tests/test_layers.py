"""The layers point down (docs/architecture.md): import-linter's contracts in setup.cfg, run here.

A new upward import — a feature imported by the engine, Flask outside the HTTP edges — fails the
suite with import-linter's report, which names the importing module, the line and the chain.
"""
from __future__ import annotations

from pathlib import Path

from importlinter import cli

ROOT = Path(__file__).resolve().parent.parent


def test_every_import_linter_contract_is_kept(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code = cli.lint_imports(config_filename=str(ROOT / "setup.cfg"), no_cache=True)
    report = capsys.readouterr().out
    assert code == 0, report
    assert "Contracts: 4 kept, 0 broken." in report
