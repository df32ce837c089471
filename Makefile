# Every target that needs Python creates .venv first, so a fresh clone needs nothing but python3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench bench-quick soak clean docs

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/peak-trade scenario run scenarios --audit-dir build/audit --evidence-dir evidence

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/peak-trade scenario validate --strict
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) build

# Regenerate the generated sections of docs/scenarios.md, docs/state-machine.md and
# docs/order-lifecycle.md.
docs: $(STAMP)
	$(BIN)/python -m peak_trade.harness.schema_docs

# Benchmarks (docs/benchmarks.md). Nothing is installed here: `.venv/bin/pip install -e '.[bench]'`
# first for the NautilusTrader peer and the plot; without them B2 is skipped and says so.
bench:
	@test -x $(BIN)/python || { echo "no $(VENV): run 'make test' first"; exit 2; }
	mkdir -p build/bench
	$(BIN)/python -m benchmarks --save build/bench/results.json --plot build/bench/per-order.png

bench-quick:
	@test -x $(BIN)/python || { echo "no $(VENV): run 'make test' first"; exit 2; }
	$(BIN)/python -m benchmarks --quick

# Soak (docs/reliability.md): the session state machine under the hypothesis `soak` profile,
# thousands of examples; minutes, so not part of `make test` (which runs the fast `ci` profile).
soak: $(STAMP)
	HYPOTHESIS_PROFILE=soak $(BIN)/pytest -q --hypothesis-show-statistics \
		tests/reliability/test_session_stateful.py
