"""digestbot: a Telegram bot that delivers a daily digest of scored, bilingual AI-news articles."""
