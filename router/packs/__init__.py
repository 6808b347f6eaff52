"""Command packs: chat commands a team adds by dropping a YAML file in the rules dir's `commands/`
(docs/extending.md). model.py reads and checks them, formats.py matches what was typed, run.py
does the one thing each command does, examples.py runs their `examples:` offline."""
