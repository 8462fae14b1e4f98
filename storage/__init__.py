"""Tables and queries. Every function takes an explicit session; nothing is created at import."""
