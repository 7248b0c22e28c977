# Two commands do all the set-up on a fresh machine (Python 3.11+):
#   make run    virtualenv, install the runtime, migrate SQLite, demo data, runserver
#               on $(PORT)
#   make test   virtualenv, install the runtime and the test tools, the whole suite
#   make bench  the speed benchmark on PostgreSQL (docs/contributors.md "Performance")
#   make fuzz   a longer, randomized Schemathesis run (docs/contributors.md "Tests and CI")
#   make client the typed TypeScript client from the OpenAPI schema, checked with
#               tsc --strict (docs/frontend.md "Typed client";
#               needs Node.js 20+ and npm)
PYTHON ?= python3
VENV ?= .venv
PORT ?= 8000
BIN := $(VENV)/bin
# Two stamps: `make run` needs only requirements.txt; `make test` and the tools also
# requirements-dev.txt (which includes it). .ci/run relies on `make test` and STAMP.
RUNTIME_STAMP := $(VENV)/.installed-runtime
STAMP := $(VENV)/.installed
# uv installs the pinned requirements in about a second from a warm cache, where pip
# took 24 s (docs/contributors.md "The first run"); pip is the fallback where uv
# cannot be had.
UV_VERSION := 0.13.9
PIP_INSTALL := $(BIN)/python -m pip install --quiet
define install_requirements
	if [ -x $(BIN)/uv ]; then $(BIN)/uv pip install --quiet --python $(BIN)/python -r $(1); \
	else $(PIP_INSTALL) -r $(1); fi
endef

.PHONY: run test fuzz client test-browser chromium wrk bench lint typecheck format migrate check-migrations

# The pip that venv brings is used as it is: upgrading it cost every fresh venv a
# round trip to the index and a reinstall.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) uv==$(UV_VERSION) || echo "uv unavailable: installing with pip"

$(RUNTIME_STAMP): requirements.txt | $(BIN)/python
	$(call install_requirements,requirements.txt)
	touch $@

$(STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(call install_requirements,requirements-dev.txt)
	touch $(RUNTIME_STAMP) $@

# DEBUG only here, for a server on loopback; random keys go into .env once, never
# replaced. With DEBUG, BASE_URL (links in emails) follows PORT unless it is set, so
# seed_demo, which prints where the server is, gets the server's environment.
LOCAL_SERVER_ENV := DEBUG=true PORT=$(PORT)
run: $(RUNTIME_STAMP)
	$(BIN)/python manage.py dev_secrets
	$(BIN)/python manage.py migrate --no-input
	$(LOCAL_SERVER_ENV) $(BIN)/python manage.py seed_demo
	$(LOCAL_SERVER_ENV) $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The schema fuzz tests for FUZZ_SECONDS per persona, with a new seed each run; CI
# runs them short and derandomized. They need PostgreSQL (the engine's own thread
# shares the test database).
FUZZ_SECONDS ?= 120
FUZZ_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/gatehouse_fuzz
fuzz: $(STAMP)
	FUZZ_SECONDS=$(FUZZ_SECONDS) DATABASE_URL=$(FUZZ_DATABASE_URL) \
	  $(BIN)/python -m pytest core/tests/test_schema_fuzz.py -s $(PYTEST_ARGS)

# The typed TypeScript client: the schema as the server publishes it (its own
# generator, no server needed), the types openapi-typescript makes of it, and the
# example compiled with tsc --strict, so a schema change that breaks frontends fails.
CLIENT := clients/typescript
client: $(STAMP) $(CLIENT)/node_modules/.package-lock.json
	@SECRET_KEY=$${SECRET_KEY:-schema} $(BIN)/python manage.py spectacular \
	  --format openapi-json --validate --file $(CLIENT)/openapi.json
	@cd $(CLIENT) && timeout 120 npm run --silent generate >/dev/null
	@cd $(CLIENT) && timeout 120 npm run --silent check
	@echo "make client: $(CLIENT)/schema.d.ts generated; the example passes tsc --strict"

$(CLIENT)/node_modules/.package-lock.json: $(CLIENT)/package.json $(CLIENT)/package-lock.json
	@command -v npm >/dev/null || { echo "make client needs Node.js 20+ and npm" >&2; exit 1; }
	@cd $(CLIENT) && timeout 300 npm ci --prefer-offline --no-audit --no-fund \
	  --loglevel=error >/dev/null

# The browser tests (core/tests/browser) drive the OS's Chromium through Playwright;
# without it they skip. `make chromium` installs Debian's package (root, or sudo).
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	@chromium --version

test-browser: $(STAMP) chromium
	$(BIN)/python -m pytest core/tests/browser $(PYTEST_ARGS)

# The benchmark drives the server with Debian's wrk (installed here when missing);
# settings come from BENCH_* variables (bench/run.py --help), BENCH_QUICK=1 is short.
wrk:
	@command -v wrk >/dev/null || { $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
	@wrk --version 2>&1 | head -n1 || true

bench: $(STAMP) wrk
	$(BIN)/python bench/run.py $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	SECRET_KEY=$${SECRET_KEY:-typecheck} $(BIN)/mypy $(TYPED_DIRS)

# mypy over the whole tree, also run by `make lint` and CI. The Django plugin imports
# config.settings, for which any SECRET_KEY does.
TYPED_DIRS := config core ops accounts console resources settings_app bench
typecheck: $(STAMP)
	SECRET_KEY=$${SECRET_KEY:-typecheck} $(BIN)/mypy $(TYPED_DIRS)

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check-migrations: $(STAMP)
	$(BIN)/python manage.py makemigrations --check --dry-run
