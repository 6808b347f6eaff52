"""Sparky's core: app factory, signal model, reception, rules, dispatch, brain, config, CLI."""
