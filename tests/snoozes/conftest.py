"""The fixtures of the chat-command tests (tests/commands/conftest.py): rules dir, env, Slack signing."""
from tests.commands.conftest import *  # noqa: F401,F403
from tests.actions.conftest import fake_slack  # noqa: F401
