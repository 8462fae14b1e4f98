"""Chats, articles, the one ranking entry point and operator reports, as plain data."""
