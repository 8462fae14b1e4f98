"""The daily digest: planner, outbox broadcaster, digest builder, rate limiter, Bot API client."""
