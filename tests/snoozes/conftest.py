"""The fixtures of the chat-command tests (tests/commands/conftest.py): rules dir, env, Slack signing."""
from tests.actions.conftest import fake_slack  # noqa: F401
from tests.commands.conftest import *  # noqa: F401,F403
