"""One adapter per signal source (SPEC §3): verify, then parse a request into signals.

Every adapter module exposes:
    NAME                      the source name signals carry
    AUTH                      "token" (SPARKY_HOOK_TOKENS), "github" or "slack"
    load(raw, headers)        bytes + headers -> payload (dict or list); raises common.Refused(400/415)
    parse(payload, headers)   payload -> list[Signal]; raises common.Refused(400) naming the field
Adapters import neither Flask nor Redis: a test feeds a file straight in.
"""
from sources import alertmanager, generic, github, jenkins, nagios, runscope, slack

# endpoint name -> adapter; router/pipeline/hooks.py maps URLs onto these.
ADAPTERS = {
    "nagios": nagios,
    "alertmanager": alertmanager,
    "jenkins": jenkins,
    "github": github,
    "runscope": runscope,
    "generic": generic,
    "slack": slack,
}
