# Everything a bare machine with Python 3.10+ needs: `make demo`, `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# pytest-xdist workers; CI machines have 2 cores
WORKERS ?= auto
# the wheel check's scratch folder (a fresh virtual environment and the wheel)
WHEEL_DIR ?= build/wheel-check
# the TPU compile check's virtual environment
TPU_DIR ?= build/tpu-check

.PHONY: demo test lint typecheck docs wheel-check tpu-check check clean

$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	touch $@

$(VENV)/.examples: $(VENV)/.created pyproject.toml
	$(PY) -m pip install --quiet -e ".[examples]"
	touch $@

$(VENV)/.test: $(VENV)/.created pyproject.toml
	$(PY) -m pip install --quiet -e ".[test,examples,dev,docs]"
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

# the documentation site, warnings as errors; open build/docs/index.html
docs: $(VENV)/.test
	$(PY) -m sphinx -b html -W --keep-going -q docs build/docs

# the wheel as a user gets it: built without dependencies, installed into a fresh
# virtual environment with the runtime dependencies only (from pip's cache), and
# the command line run there, outside the source tree
wheel-check: $(VENV)/.test
	rm -rf $(WHEEL_DIR)
	$(PY) -m pip wheel --quiet --no-deps --no-build-isolation -w $(WHEEL_DIR) .
	$(PY) -c "import glob, sys, zipfile; \
		names = zipfile.ZipFile(glob.glob('$(WHEEL_DIR)/jaxloss-*.whl')[0]).namelist(); \
		sys.exit(0 if 'jaxloss/py.typed' in names and any(n.endswith('LICENSE') for n in names) \
		else 'py.typed or LICENSE missing from the wheel')"
	$(PYTHON) -m venv $(WHEEL_DIR)/venv
	$(WHEEL_DIR)/venv/bin/python -m pip install --quiet --disable-pip-version-check \
		$(WHEEL_DIR)/jaxloss-*.whl
	cd $(WHEEL_DIR) && ./venv/bin/python -m jaxloss --help
	cd $(WHEEL_DIR) && ./venv/bin/python -c "import jaxloss, sys; \
		bad = [m for m in ('flax', 'optax', 'torch', 'matplotlib', 'rich') if m in sys.modules]; \
		sys.exit(f'optional packages imported: {bad}' if bad else 0)"
	cd $(WHEEL_DIR) && ./venv/bin/jaxloss --help > help.txt && ! grep -qE "bench|demo" help.txt
	cd $(WHEEL_DIR) && ! ./venv/bin/jaxloss demo 2> demo.txt && test "$$(wc -l < demo.txt)" = 1
	cd $(WHEEL_DIR) && ./venv/bin/jaxloss list > list.txt && tail -n 1 list.txt
	cd $(WHEEL_DIR) && ./venv/bin/jaxloss recommend --task binary --positive-rate 0.05
	cd $(WHEEL_DIR) && ./venv/bin/jaxloss recommend --task segmentation --imbalance severe

# every registered loss compiled for a TPU v5e topology by XLA's TPU compiler
# (libtpu), in a virtual environment of its own with the same jax as $(VENV), in
# one process (libtpu locks itself to one); an install that fails (no network)
# skips the check, a compile that fails fails
tpu-check: $(VENV)/.test
	rm -rf $(TPU_DIR)
	$(PYTHON) -m venv $(TPU_DIR)/venv
	if $(TPU_DIR)/venv/bin/python -m pip install --quiet --disable-pip-version-check \
		"jax[tpu]==$$($(PY) -c 'import jax; print(jax.__version__)')" chex numpy \
		pytest; then \
		PYTHONPATH=. $(TPU_DIR)/venv/bin/python -m pytest -q -p no:cacheprovider \
			tests/test_tpu_compile.py -k "tpu and not export"; \
	else echo "tpu-check: libtpu could not be installed; skipped"; fi

# what CI runs: lint, format check, type check, the docs, the wheel, the TPU
# compile, then the tests
check: lint typecheck docs wheel-check tpu-check test

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache build
