# Two entry points for a fresh machine (see README):
#   make run    install into .venv from the hashed lock file, then open the app on a sample project
#   make test   install the same way, then run the whole test suite
# Day to day: make test-fast (no tmux, nothing marked slow; under two minutes).
PYTHON ?= python3
VENV ?= .venv
SAMPLE ?= sample_projects/wellbeing-coaching
STAMP := $(VENV)/.ftd-installed

.PHONY: run test test-fast check bench lock clean

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(VENV)/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

run: $(STAMP)
	$(VENV)/bin/ftd $(SAMPLE)

# One worker per core (pytest-xdist): most of the suite's time is real subprocesses (the CLI,
# the detached baseline, tmux) importing litellm, which parallelises cleanly.
test: $(STAMP)
	$(VENV)/bin/python -m pytest -n auto

# What a change needs before a commit, not before a merge: `make test` still runs everything.
test-fast: $(STAMP)
	$(VENV)/bin/python -m pytest -n auto -m "not slow and not e2e"

check: $(STAMP)
	for p in sample_projects/*/; do $(VENV)/bin/ftd check $$p || exit 1; done

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/load_and_check.py

# Regenerate the lock (needs uv); commit the result.
lock:
	uv pip compile pyproject.toml scripts/build-requirements.in --extra test --universal \
	  --python-version 3.11 --generate-hashes --no-header --index-url https://pypi.org/simple \
	  -o requirements.lock

clean:
	rm -rf $(VENV)
