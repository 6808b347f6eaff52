"""The layers point down (docs/architecture.md): import-linter's contracts in setup.cfg, run here.

A new upward import — a feature imported by the engine, Flask outside the HTTP edges — fails the
suite with import-linter's report, which names the importing module, the line and the chain.
"""
from __future__ import annotations

import logging
from pathlib import Path

from importlinter import cli

ROOT = Path(__file__).resolve().parent.parent


def test_every_import_linter_contract_is_kept(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    # import-linter configures logging with dictConfig, which disables every logger that exists:
    # Sparky's own would then log nothing for the tests that run after this one in the process.
    loggers = [logger for logger in logging.root.manager.loggerDict.values()
               if isinstance(logger, logging.Logger) and not logger.disabled]
    try:
        code = cli.lint_imports(config_filename=str(ROOT / "setup.cfg"), no_cache=True)
    finally:
        for logger in loggers:
            logger.disabled = False
    report = capsys.readouterr().out
    assert code == 0, report
    assert "Contracts: 4 kept, 0 broken." in report
