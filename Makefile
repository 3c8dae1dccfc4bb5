# The two set-up commands (see README): `make run` and `make test`.
PY ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
BABEL_KEYWORDS = -k lazy -k N_ -k invalid_value -k _t -k sms_text

.PHONY: run test install install-test messages bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'

# The service on its embedded default (SQLite, in-process delivery) with demo data.
run: install
	$(BIN)/booking demo
	$(BIN)/booking serve

# The whole test suite against PostgreSQL and Redis (started by .ci/run in CI), plus the
# SQLite smoke run; then the browser tests (Chromium), in a run of their own.
test: install-test
	$(BIN)/pytest -n 2 --dist loadfile
	$(BIN)/pytest --browser

# Re-extract translatable messages and merge them into the catalogs.
messages: install
	$(BIN)/pybabel extract -F pyproject.toml $(BABEL_KEYWORDS) --no-location --sort-output \
		--omit-header -o booking/i18n/messages.pot booking
	$(BIN)/pybabel update -i booking/i18n/messages.pot -d booking/i18n/locales --no-fuzzy-matching \
		--ignore-obsolete --width 0

bench: install-test
	$(BIN)/python bench/release_rush.py
