"""The plugin's own tests, written as a plugin author would: say a command, assert the reply."""


def test_hello_greets_and_counts(sparky_bot):
    assert sparky_bot.say("hello world") == "Hello, world! (the first time)"
    assert sparky_bot.say("hello world", user="bob") == "Hello, world! (2 times now)"
    assert sparky_bot.say("hello") == "Hello, alice! (the first time)"


def test_hello_is_listed_in_help_and_refuses_a_long_name(sparky_bot):
    assert "• `hello [name]`: Say hello" in sparky_bot.say("help")
    reply = sparky_bot.reply("hello a b c d")
    assert reply.outcome == "usage" and reply.text.startswith("Name one person")
