# Two commands matter: `make dev` (run Kassa on a local devnet) and `make test` (all tests).
# Both install what they need: a Python venv, the pinned npm tools, and for tests Debian's chromium.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: dev test setup serve migrate lint bench contracts migrations catalogs clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(BIN)/.installed node_modules/.installed

/usr/bin/chromium:
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium

# The gateway on the embedded default: SQLite, a local anvil chain, contract deployed, served.
dev: setup
	$(BIN)/kassa dev

# Every test, on SQLite and on PostgreSQL (skipped with a plain message when no server answers,
# unless KASSA_TEST_REQUIRE_POSTGRES=1). pytest's "no tests ran" (exit 5) counts as a failure.
test: setup /usr/bin/chromium
	$(BIN)/pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; \
	exit $$status

serve: setup
	$(BIN)/kassa migrate && $(BIN)/kassa serve

lint: setup
	$(BIN)/ruff check app plugins tests bench scripts
	$(BIN)/ruff format --check app plugins tests bench scripts
	$(BIN)/mypy app plugins

# The benchmarks' load generator (bench/api.py, bench/sse.py).
/usr/bin/wrk:
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq wrk

bench: setup /usr/bin/wrk
	$(BIN)/python bench/api.py
	$(BIN)/python bench/export.py

contracts: node_modules/.installed
	node contracts/build.mjs

# After changing app/models.py: regenerate aerich migrations for both dialects.
migrations: setup
	PYTHONPATH=. $(BIN)/python scripts/make_migrations.py $(or $(NAME),update)

# After changing a shopper-facing text (templates, plugins' templates, the checkout's Python):
# extract them all (babel.cfg), merge into each locale's .po (a new text arrives untranslated,
# and tests/checkout/test_i18n.py fails until it is translated), compile the .mo files Kassa
# reads. The .mo files are committed, like the contract artifacts: every install has them
# without a build step, and the test checks they match the .po files.
catalogs: setup
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext --no-location --sort-output --width 100 \
		--project Kassa --version 0.1.0 --copyright-holder "Kassa contributors" \
		--msgid-bugs-address "" -o app/translations/messages.pot app plugins templates
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations \
		--no-fuzzy-matching --ignore-obsolete --width 100
	$(BIN)/pybabel compile -d app/translations --statistics

clean:
	rm -rf $(VENV) node_modules .pytest_cache
