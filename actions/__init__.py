"""What rules can make happen (SPEC §4 `then:`): one module per effect, and the catalogue.

    catalogue    each action's parameter schema and function; `register(registry)`
    notify       post a signal to a room (`drop`: record it, nothing else)
    group        alerts with the same `by` values within `wait` become one message
    escalate     re-post with a mention unless acknowledged within `after`
    webhook      POST the signal and its decision as JSON
    setfact      `set`: write a fact into the brain
    deploy       carry out the deploy ruleset's verdict
    nag          ask a stale item's owner to act (nag_delivery: one message or a digest)
They run on workers through router/jobs/runner.py, which reads the catalogue from the registry.
"""
