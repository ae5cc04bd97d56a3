# gaitpf — the two Quickstart commands (`make demo`, `make test`) work on a fresh Debian + Python 3.11.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
PIP     = $(VENV)/bin/pip

.PHONY: demo test install install-test bench validate clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

demo: $(VENV)/.installed
	$(VENV)/bin/gaitpf demo

test: $(VENV)/.installed-test
	bash .ci/system-deps
	$(PY) -m pytest -q

bench: $(VENV)/.installed-test
	$(PY) benchmarks/bench_analysis.py

validate: $(VENV)/.installed
	$(PY) benchmarks/validate_physionet.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
