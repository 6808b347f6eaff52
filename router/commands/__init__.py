"""Chat commands (SPEC §6): one command layer for Slack, the built-in rooms and `sparky say`.

    parse        Slack markup and smart quotes undone, words split
    matchers     `label=value`, `label=~regex`, ...; alerts by id or fingerprint
    durations    `30m`, `2h`, `until tomorrow 09:00` in the caller's time zone
    permissions  people.yml + permissions.yml: who may run what, where, with which arguments
    registry     `@command(name)`: a function whose docstring is its help; `Reply`
    context      what a running command knows (who, where, rules data, clock)
    execute      `execute(conn, config, signal) -> Reply`, never raises, always audits
    channels     chat signals for the built-in rooms and the CLI; replies back to their channel
    jobs         the `run_command` RQ job; `enqueue_commands` for the evaluation job
    lifecycle    snooze reminders and endings (scheduled RQ jobs)
    help, alerts, snooze, ack, why   the commands (any other module here is loaded for its @commands)
"""
from router.commands.execute import execute
from router.commands.registry import REGISTRY, Refused, Reply, UsageError, command

__all__ = ["execute", "command", "Reply", "Refused", "UsageError", "REGISTRY"]
