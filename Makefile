# digestbot — `make run` sets up and runs the bot; `make test` sets up and runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test setup lint typecheck pytest i18n i18n-extract i18n-update i18n-compile bench clean

# Setup prints one line (a first run takes a minute or two and must not look hung), its log
# goes to .venv/install.log; then the bot's own first line says which mode it runs in.
$(STAMP): pyproject.toml
	@echo "digestbot: setting up $(VENV) (first run only, 1-2 minutes; log in $(VENV)/install.log)..."
	@$(PYTHON) -m venv $(VENV)
	@{ $(BIN)/pip install --upgrade pip && $(BIN)/pip install -e '.[dev,postgres]'; } \
		> $(VENV)/install.log 2>&1 || { cat $(VENV)/install.log; exit 1; }
	@touch $(STAMP)

setup: $(STAMP) i18n-compile

run: setup
	@$(BIN)/digestbot run

test: setup lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy bot storage handlers

pytest: $(STAMP) i18n-compile
	$(BIN)/python -m pytest -q

# Translations: extract msgids from the code, merge them into each catalog, compile to .mo.
i18n: i18n-extract i18n-update i18n-compile

i18n-extract: $(STAMP)
	$(BIN)/pybabel extract --no-location --sort-by-file -k _ -k N_ -k ngettext:1,2 \
		-o locales/messages.pot bot handlers

# Every catalog of bot.views.i18n.CATALOGS; a missing one is created first (e.g. zh_Hant).
CATALOG_LOCALES := en zh_Hans zh_Hant

i18n-update: $(STAMP)
	@for l in $(CATALOG_LOCALES); do \
		test -f locales/$$l/LC_MESSAGES/messages.po || \
			$(BIN)/pybabel init -i locales/messages.pot -d locales -D messages -l $$l; \
	done
	$(BIN)/pybabel update --no-fuzzy-matching -i locales/messages.pot -d locales -D messages

i18n-compile: $(STAMP)
	@$(BIN)/pybabel --quiet compile -d locales -D messages

bench: setup
	$(BIN)/python benchmarks/ranking.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
