# Every target that needs Python creates .venv first, so a fresh clone needs nothing but python3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test readiness bench bench-quick bench-callgrind soak clean docs mutate mutate-report explore

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# A fresh run (no audit trail of an earlier run is left to be reported), then its HTML report,
# also when a scenario failed (that is when it is read); bad input (exit 2) stops before it.
run: $(STAMP)
	@rm -rf build/audit
	@status=0; \
	$(BIN)/peak-trade scenario run scenarios --audit-dir build/audit --evidence-dir evidence \
		|| status=$$?; \
	test $$status -le 1 || exit $$status; \
	echo; \
	$(BIN)/peak-trade report scenarios --audit-dir build/audit --evidence-dir evidence \
		--output build/report/index.html || { code=$$?; test $$status -ne 0 || status=$$code; }; \
	exit $$status

# lint-imports checks the layering contracts of pyproject.toml [tool.importlinter]: a static
# check of the source like ruff (no test process needed, its report names the import that breaks
# a contract, line and chain), so it runs beside ruff, in under a second.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo --no-cache
	$(BIN)/peak-trade scenario validate --strict
	@$(BIN)/python -m tests.report.chromium
	$(BIN)/pytest -q

# The readiness pack (docs/readiness.md): every scenario twice, the credential scan, the checklist;
# readiness/READINESS-YYYYMMDD.md and .json. Necessary, not sufficient, for going live.
readiness: $(STAMP)
	$(BIN)/peak-trade readiness --output readiness

clean:
	rm -rf $(VENV) build mutants

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

# Instructions (callgrind Ir) per B1 order, free of machine noise; BASE=REV also counts another
# commit's src/ with the same workload and prints the ratio (docs/benchmarks.md). Needs valgrind.
BASE ?=
bench-callgrind:
	@test -x $(BIN)/python || { echo "no $(VENV): run 'make test' first"; exit 2; }
	$(BIN)/python -m benchmarks.callgrind_b1 $(if $(BASE),--base $(BASE))

# The fault explorer (docs/explore.md) over every landed scenario: minutes, never part of `make
# test` or CI. EXPLORE_BUDGET variants in all, EXPLORE_SEED; report in build/explore/.
EXPLORE_BUDGET ?= 2000
EXPLORE_SEED ?= 1
explore: $(STAMP)
	$(BIN)/peak-trade explore scenarios --budget $(EXPLORE_BUDGET) --seed $(EXPLORE_SEED) \
		--output build/explore

# Soak (docs/reliability.md): the session state machine under the hypothesis `soak` profile,
# thousands of examples; minutes, so not part of `make test` (which runs the fast `ci` profile).
soak: $(STAMP)
	HYPOTHESIS_PROFILE=soak $(BIN)/pytest -q --hypothesis-show-statistics \
		tests/reliability/test_session_stateful.py

# Mutation testing (docs/reliability.md, "Mutation testing"): mutmut over the safety-critical
# modules listed in pyproject.toml [tool.mutmut]; each mutant runs only the targeted tests that
# reach the mutated function. Tens of minutes for every module, so never part of `make test` or CI.
# One module: `make mutate MODULE=book` (state, book, rails, redaction, audit_verify, model,
# order_lifecycle). MUTATE_CHILDREN bounds the parallel test processes (default 2).
MUTATE_STAMP := $(VENV)/.installed-mutate
MUTATE_CHILDREN ?= 2
MODULE ?=
# MODULE names the module by its short name; where it lives (tools/mutation_report.py, MODULES):
mutate_path.state := execution.live.state
mutate_path.book := execution.live.book
mutate_path.rails := execution.live.rails.rules
mutate_path.redaction := execution.live.audit_trail.redaction
mutate_path.audit_verify := execution.live.audit_trail.verify
mutate_path.model := execution.broker.model
mutate_path.order_lifecycle := execution.broker.order_lifecycle
mutate_glob = $(if $(mutate_path.$(1)),peak_trade.$(mutate_path.$(1)).*,$(error MODULE=$(1) is not one of: state book rails redaction audit_verify model order_lifecycle))
MUTATE_GLOBS = $(if $(MODULE),$(call mutate_glob,$(MODULE)),$(foreach m,state book rails redaction audit_verify model order_lifecycle,$(call mutate_glob,$(m))))

$(MUTATE_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,mutate]'
	touch $(MUTATE_STAMP)

# The test-to-function map is rebuilt on every run (tests change), and every mutant of the chosen
# modules is tested again: the figures are always those of the code and tests as they are.
mutate: $(MUTATE_STAMP)
	rm -f mutants/mutmut-stats.json
	$(BIN)/mutmut run --max-children $(MUTATE_CHILDREN) $(MUTATE_GLOBS)
	$(BIN)/python -m tools.mutation_report $(MODULE)

# The figures of the last campaign per module, and every survivor not judged equivalent.
mutate-report:
	$(BIN)/python -m tools.mutation_report $(MODULE)
