"""Deploy gates (SPEC §7): deploy from chat, decided by the `deploy` ruleset, carried out by the
`deploy` action, its progress and result posted back to the room.

Modules, in the order a deploy meets them:
    apps        deploy.yml's apps: `<app>[/<ref>]`, repo, environments, target, timeout
    github      refs resolved to a sha, default branches (cached in the brain)
    requests    the request record in the brain: ids, states, approvals, atomic updates
    calendar    freeze windows and business hours in a named time zone, DST-correct; releases
    facts       CI results, alerts and pushes kept for the gates when signals are evaluated
    locks       `lock <env>` by people; one running deploy per app and environment
    gates       the gate facts as labels of a `deploy` signal, run through the deploy ruleset
    verdict     what the ruleset decided: go, wait (for what), or refused (by which rule)
    targets     Jenkins remote build (with CSRF crumb) and GitHub deployments
    lifecycle   go / wait / refuse, start, finish, bypass; a new commit voids approvals
    progress    Jenkins builds and GitHub deployment statuses of running deploys; the timeout
    messages    what the room is told
    releases    `next release`, `how to release <repo>`
The chat commands are router/commands/deploy.py; the action is actions/deploy.py.
"""
