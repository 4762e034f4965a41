# sfdoctor — every target sets itself up first: a fresh machine needs only Python 3.11, pip, make and apt.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The set of versions the suite last passed with (see `make lock`); pip installs exactly these.
LOCK := requirements/lock.txt
# The extras a working checkout installs (all of them are in the lock).
EXTRAS := demo,test,dask
# The lock's maker, pinned like everything else: uv's resolver writes a file plain pip reads.
UV_VERSION := 0.13.9
NODE_STAMP := tests/node/node_modules/.installed
export PYTHONDONTWRITEBYTECODE := 1
# Never let a user-level SFDOCTOR_DEMO_URL leak into tests or the demo.
unexport SFDOCTOR_DEMO_URL

.PHONY: help setup demo test lab bench bench-fleet clean system-deps bytecode lock

help:
	@echo "make demo   - set up .venv, list the demo scenarios, run each runbook against the demo world, then a 12-org fleet"
	@echo "make test   - set up .venv (and chromium, jsforce), run the whole test suite"
	@echo "make lab    - open JupyterLab on notebooks/"
	@echo "make bench  - run the benchmarks in bench/ (figures and ratios)"
	@echo "make lock   - re-resolve $(LOCK) after a dependency change (UPGRADE=1: every package to its newest allowed), then run the suite"
	@echo "make bench-fleet - 1,000 org-runbooks (250 demo orgs x 4) local and on Dask, beside one sfdoctor run"

$(STAMP): pyproject.toml $(LOCK)
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e '.[$(EXTRAS)]' 2>&1 | grep -v '^WARNING: Location' || true
	@$(BIN)/python -c "import sfdoctor, papermill, simple_salesforce, ipykernel, apprise, distributed" || { echo "install failed"; exit 1; }
	@touch $(STAMP)

setup: $(STAMP)

# Every runbook kernel imports lib/sfdoctor; pip compiles an installed package's bytecode but
# not an editable one's, and this environment may forbid writing it on import. Compiling
# once (only what changed) spares every kernel ~0.08 s of compiling from source.
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q lib >/dev/null

# Debian's chromium for the browser tests, and Japanese fonts so ja reports render; installed only when missing.
system-deps:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  echo "installing chromium (apt)"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	fi

$(NODE_STAMP): tests/node/package.json
	@command -v npm >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nodejs npm >/dev/null; }
	cd tests/node && npm install --no-audit --no-fund --silent
	@touch $(NODE_STAMP)

demo: $(STAMP) bytecode
	$(BIN)/sfdoctor demo list
	@for run in $$($(BIN)/python -c "from sfdoctor import runbooks; \
	    print(*(f'{s.id}:{s.default_scenario}' for s in runbooks.all_specs() if s.default_scenario))"); do \
	  echo "$(BIN)/sfdoctor run $${run%%:*} --org demo:$${run#*:} --out reports"; \
	  $(BIN)/sfdoctor run $${run%%:*} --org demo:$${run#*:} --out reports; \
	  rc=$$?; if [ $$rc -gt 1 ]; then exit $$rc; fi; \
	done
	$(BIN)/sfdoctor reports list
	$(BIN)/sfdoctor demo fleet --orgs 12 --out .demo-fleet >/dev/null
	$(BIN)/sfdoctor fleet run --orgs .demo-fleet/orgs.toml --out reports; \
	  rc=$$?; if [ $$rc -eq 2 ] || [ $$rc -gt 3 ]; then exit $$rc; fi
	@echo "fleet page: $$(pwd)/reports/fleet.html"

test: $(STAMP) bytecode system-deps $(NODE_STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile -q

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

bench: $(STAMP) bytecode
	$(BIN)/python bench/run.py

# Re-resolve the lock from pyproject.toml (every extra, every platform, Python 3.11 and up),
# keeping the versions already locked unless UPGRADE=1; then install it and run the suite,
# which must pass before the new lock is committed.
lock:
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet 'uv==$(UV_VERSION)' 2>&1 | grep -v '^WARNING: Location' || true
	@grep -v '^#' $(LOCK) > $(LOCK).new 2>/dev/null || true
	$(BIN)/uv pip compile pyproject.toml --all-extras --universal --python-version 3.11 --native-tls \
	  --no-header --annotation-style line $(if $(UPGRADE),--upgrade) --quiet -o $(LOCK).new
	@{ echo "# The versions sfdoctor's suite last passed with: made by \`make lock\` (uv $(UV_VERSION)), installed by make."; \
	   cat $(LOCK).new; } > $(LOCK) && rm -f $(LOCK).new
	$(MAKE) test
bench-fleet: $(STAMP) bytecode
	$(BIN)/python bench/fleet.py

clean:
	rm -rf $(VENV) tests/node/node_modules .pytest_cache
