"""Import formats, feeds, scoring and language detection: articles come in here."""
