# The two front-door commands: `make gate` and `make test`. Both create .venv
# and install cachechaos with its embedded and dev extras first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: gate test lint bench clean screenshots

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[embedded,dev]'
	touch $(STAMP)

# The main job on the embedded default: the production checklist against the sample backend on
# local processes (exit 0 all rows pass, 1 a row failed; reports under reports/).
gate: $(STAMP)
	$(BIN)/python -m cachechaos gate

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check cachechaos tests
	$(BIN)/mypy cachechaos

bench: $(STAMP)
	for b in tests/benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .cachechaos .pytest_cache .mypy_cache .ruff_cache

# The README's pictures, from a real run (needs tmux and chromium).
screenshots: $(STAMP)
	$(BIN)/python docs/images/make_screenshots.py
