VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: run test bench bench-peer lint clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e '.[test]'
	touch $@

run: $(STAMP)
	mkdir -p var
	$(VENV)/bin/asyncgate serve --dev --host 127.0.0.1 --port 8080

# The test conftest starts its own throwaway PostgreSQL server for the second run.
# asyncgate's own bytecode is written first: where PYTHONDONTWRITEBYTECODE is set, each of the
# dozens of asyncgate processes the tests start would otherwise compile every module anew
# (half a second of CPU each).
test: lint
	scripts/ensure-system-packages.sh
	$(PY) -m compileall -q src
	ASYNCGATE_TEST_BACKEND=sqlite $(PY) -m pytest -n 2 -q $(PYTEST_ARGS)
	ASYNCGATE_TEST_BACKEND=postgresql $(PY) -m pytest -n 2 -q $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) benchmarks/run.py

# asyncgate next to a Celery + Redis peer; the set-up installs Redis and Celery for it alone.
bench-peer: $(STAMP)
	benchmarks/peer/setup.sh $(PY)
	$(PY) benchmarks/peer.py $(BENCH_ARGS)

# Part of `make test`: the rules in pyproject.toml, the code as ruff formats it, and the types.
lint: $(STAMP)
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis src/*.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
