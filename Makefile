# The two set-up commands of the README: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: run test install clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[embedded,test]"
	touch $@

install: $(VENV)/.installed

run: install
	$(PY) scripts/launch.py run

test: install
	$(PY) scripts/launch.py test $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .local .pytest_cache
