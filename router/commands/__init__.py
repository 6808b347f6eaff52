"""Chat commands (SPEC §6): one command layer for Slack, the built-in rooms and `sparky say`.

    parse        Slack markup and smart quotes undone, words split
    permissions  people.yml + permissions.yml: who may run what, where, with which arguments
    declare      `@command(name)`: a function whose docstring is its help; `Reply`, `Refused`
    context      what a running command knows (who, where, rules data, clock)
    execute      `execute(conn, config, signal) -> Reply`, never raises, always audits
    channels     chat signals for the built-in rooms and the CLI; replies back to their channel
    jobs         the `run_command` RQ job; `enqueue_commands` for the evaluation job
    plugin       `register(registry)`: the commands below, the approvable kinds, the batch hook
    help, alerts, snooze, ack, why, deploy, approve, stale   the commands
"""
