# Two commands do all setup on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean golden mutate

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

DEMO_DIR := $(shell mktemp -u /tmp/rollback-plan-demo.XXXXXX)

demo: $(STAMP)
	@$(BIN)/python examples/demo_repo.py $(DEMO_DIR) >/dev/null
	@echo "Built an example app repository in $(DEMO_DIR) and reverted a schema change:"
	@git -C $(DEMO_DIR) log --oneline | sed 's/^/    /'
	@echo
	@$(BIN)/rollback-plan plan --repo $(DEMO_DIR) --commit HEAD; rc=$$?; echo; \
	if [ $$rc -eq 1 ]; then echo "(exit status 1: the plan needs approval or is refused, so a CI job would stop here)"; \
	elif [ $$rc -ne 0 ]; then exit $$rc; fi

test: $(STAMP)
	$(BIN)/ruff check bot tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q

# Rewrite the golden cases' expected downs after an intended change; review `git diff` after.
golden: $(STAMP)
	$(BIN)/python -m tests.golden.regen $(CASES)

# Mutation testing of the modules where a silent break costs most ([tool.mutmut] in
# pyproject.toml). Slow (not in CI); narrow it with MUTANTS="bot.core.down*".
mutate: $(STAMP)
	$(BIN)/mutmut run --max-children 2 $(MUTANTS)
	$(BIN)/mutmut results

bench: $(STAMP)
	$(BIN)/python bench/replay.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
