"""The newsroom: an OpenAI-compatible model fills what imported articles lack.

``schema`` decides what an article lacks and checks answers, ``prompts`` holds the versioned
prompt files, ``client`` talks to the server through the official ``openai`` client,
``worker`` works the durable queue within the budgets, ``dedup`` finds one story told by
several feeds. See docs/newsroom.md.
"""
