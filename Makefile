# Everything a bare machine with Python 3.10+ needs: `make demo`, `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# pytest-xdist workers; CI machines have 2 cores
WORKERS ?= auto

.PHONY: demo test lint typecheck check clean

$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	touch $@

$(VENV)/.examples: $(VENV)/.created pyproject.toml
	$(PY) -m pip install --quiet -e ".[examples]"
	touch $@

$(VENV)/.test: $(VENV)/.created pyproject.toml
	$(PY) -m pip install --quiet -e ".[test,examples,dev]"
	touch $@

demo: $(VENV)/.examples
	$(PY) -m jaxloss demo

test: $(VENV)/.test
	$(PY) -m pytest -n $(WORKERS) --doctest-modules jaxloss tests

lint: $(VENV)/.test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.test
	$(VENV)/bin/pyright

# what CI runs: lint, format check and type check, then the tests
check: lint typecheck test

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
