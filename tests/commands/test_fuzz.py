"""Hypothesis: whatever anyone types, Sparky answers, and never with an internal error."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router.assembly import build
from router.commands.channels import chat_signal
from router.commands.execute import execute
from router.core import brain
from tests.commands.conftest import fire

_BUILT = build()
WORDS = sorted(_BUILT.commands) + sorted(_BUILT.aliases) + ["for", "until", "because", "tomorrow", "09:00", "2h", "1d", "s1",
                                               "web-01/HTTP", "host=web-01", "env=production", "=~", "!~", "deploy"]
ODD = st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Z", "Cc", "Cf"))
MARKUP = st.sampled_from(["<@U01ALICE>", "<#C04OPS|ops>", "<mailto:a@b.c|a@b.c>", "<http://x|x>", "<!here>", "&lt;",
                          "“", "”", "’", "\u00a0", "\u200b", "<", ">", "|", "\"", "'", "\\", "`"])
TOKEN = st.one_of(st.sampled_from(WORDS), st.text(ODD, max_size=12), MARKUP,
                  st.builds(lambda k, op, v: f"{k}{op}{v}", st.sampled_from(["host", "env", "service", "labels.x", ""]),
                            st.sampled_from(["=", "!=", "=~", "!~"]), st.text(ODD, max_size=8)))
COMMAND_TEXT = st.one_of(st.text(ODD, max_size=300),
                         st.lists(TOKEN, max_size=10).map(" ".join))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=COMMAND_TEXT, who=st.sampled_from(["alice", "dave", "U01BOB", "nobody", ""]),
       room=st.sampled_from(["#ops", "#dev", "", "C04OPS"]),
       channel=st.sampled_from(["slash", "mention", "room", "cli", "button"]))
def test_any_text_gets_an_answer_and_never_an_error(redis, config, env, text, who, room, channel):
    if not redis.exists(brain.key_firing()):
        fire(redis, "web-01/HTTP", env="production")
        fire(redis, "db-01/Disk Space", env="staging")
    before = redis.xlen(brain.key_audit())
    reply = execute(redis, config, chat_signal(channel, text, room, who).to_dict())
    assert reply.outcome in ("ok", "refused", "usage", "unknown"), (text, reply.text)
    assert reply.text.strip() and "Traceback" not in reply.text
    assert redis.xlen(brain.key_audit()) > before   # every command is audited, whatever it was
