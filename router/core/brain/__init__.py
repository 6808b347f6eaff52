"""The brain: every Redis key Sparky uses is built in this package, with the caps and TTLs that
bound it — one module per noun, all re-exported here so callers say `brain.key_signal(...)`.

A grep for "sparky:" hits router/core/brain/base.py only. Functions take an explicit `conn` (as rq's
`Queue(connection=...)` does); nothing here holds a global connection.
"""
# Re-exports: the package is the interface, the modules are how it is filed.
from router.core.brain.accept import *  # noqa: F401,F403
from router.core.brain.actions import *  # noqa: F401,F403
from router.core.brain.base import PREFIX, digest, script  # noqa: F401
from router.core.brain.commands import *  # noqa: F401,F403
from router.core.brain.deploys import *  # noqa: F401,F403
from router.core.brain.engine import *  # noqa: F401,F403
from router.core.brain.oncall import *  # noqa: F401,F403
from router.core.brain.packs import *  # noqa: F401,F403
from router.core.brain.shared import *  # noqa: F401,F403
from router.core.brain.signals import *  # noqa: F401,F403
from router.core.brain.stale import *  # noqa: F401,F403
from router.core.brain.xmpp import *  # noqa: F401,F403
