"""The fixtures of the action tests (tests/actions/conftest.py): fake Slack, rooms, clocks."""
from tests.actions.conftest import *  # noqa: F401,F403
from tests.commands.conftest import env  # noqa: F401,E402 (the chat commands' worker environment)
