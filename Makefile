# The README's commands: `make demo` and `make test` (the two a newcomer runs), `make serve`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo serve test lint bench fuzz clean

$(BIN)/pausebot: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

setup: $(BIN)/pausebot

demo: setup
	$(BIN)/python scripts/demo.py

serve: setup
	$(BIN)/python scripts/serve.py $(SERVE_ARGS)

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check engine bot tests
	$(BIN)/ruff format --check engine bot tests

# Issue 7's fuzz run (slow): schemathesis on the OpenAPI document + generated bodies, SQLite and
# PostgreSQL. FUZZ_EXAMPLES (per operation, default 40) and FUZZ_BODIES (per route, default 60).
fuzz: setup
	$(BIN)/python -m pytest -q -s -m fuzz tests/bot/api/test_fuzz.py -p no:randomly

bench: setup
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
