"""One adapter per signal source (SPEC §3): verify, then parse a request into signals.

Every adapter module exposes:
    NAME                      the source name signals carry
    AUTH                      "token" (SPARKY_HOOK_TOKENS), "github" or "slack"
    load(raw, headers)        bytes + headers -> payload (dict or list); raises common.Refused(400/415)
    parse(payload, headers)   payload -> list[Signal]; raises common.Refused(400) naming the field
and may expose:
    PATHS                     path -> how, when not `/hooks/<name>` (router/pipeline/hooks.py)
    BODIES                    the media types `load` reads, for /openapi.json (default: JSON only)
Adapters import neither Flask nor Redis: a test feeds a file straight in. `register(registry)`
adds them to the process's registry, where the hooks (router/pipeline/hooks.py) and `sparky rules
test` find them — as a plugin's own source will be.
"""
from sources import alertmanager, generic, github, jenkins, nagios, runscope, slack, traffic

# endpoint name (`sparky rules test SOURCE`, `/hooks/<name>`) -> adapter
ADAPTERS = {
    "nagios": nagios,
    "alertmanager": alertmanager,
    "jenkins": jenkins,
    "github": github,
    "runscope": runscope,
    "generic": generic,
    "slack": slack,
    "traffic": traffic,
}


def register(registry) -> None:
    for name, adapter in ADAPTERS.items():
        registry.add_source(name, adapter)
