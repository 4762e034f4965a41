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
# The report.html files `make demo` wrote, for its closing lines.
DEMO_REPORTS := $(VENV)/demo-reports.txt
export PYTHONDONTWRITEBYTECODE := 1
# Never let a user-level SFDOCTOR_DEMO_URL leak into tests or the demo.
unexport SFDOCTOR_DEMO_URL

.PHONY: help setup demo test lab bench bench-fleet clean system-deps bytecode lock golden

help:
	@echo "make demo   - set up .venv, list the demo scenarios, run each runbook against the demo world, then a 12-org fleet"
	@echo "make test   - set up .venv (and chromium, jsforce), run the whole test suite"
	@echo "make lab    - open JupyterLab on notebooks/ (start-here.ipynb: paste an error, get its runbook run)"
	@echo "make bench  - run the benchmarks in bench/ (figures and ratios)"
	@echo "make lock   - re-resolve $(LOCK) after a dependency change (UPGRADE=1: every package to its newest allowed), then run the suite"
	@echo "make bench-fleet - 1,000 org-runbooks (250 demo orgs x 4) local and on Dask, beside one sfdoctor run"
	@echo "make golden - rerun every built-in scenario (en, ja) and rewrite tests/golden/ (only for intended changes)"

$(STAMP): pyproject.toml $(LOCK)
	@test -x $(BIN)/python || { echo "[1/3] creating $(VENV) with $(PY)"; $(PY) -m venv $(VENV); }
	@echo "[2/3] updating pip in $(VENV)"
	@$(BIN)/python -m pip install --quiet --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
	@echo "[3/3] installing sfdoctor and the versions in $(LOCK) (extras $(EXTRAS)): a few minutes on a fresh machine, one line per package"
	@$(BIN)/python -m pip install --progress-bar off -c $(LOCK) -e '.[$(EXTRAS)]' 2>&1 | awk '\
	  /^Collecting /                      { print "  fetching " $$2; fflush(); next } \
	  /^Building (editable|wheel)/        { if (!built++) { print "  building sfdoctor itself"; fflush() }; next } \
	  /^Installing collected packages: /  { n = split(substr($$0, 32), names, ","); \
	                                        print "  installing " n " packages (the longest step, about a minute, without output)"; fflush(); next } \
	  /^Successfully installed /          { print "  installed"; fflush(); next } \
	  /^(ERROR|error)/                    { print; fflush() }' || true
	@$(BIN)/python -c "import sfdoctor, papermill, simple_salesforce, ipykernel, apprise, distributed" || { echo "install failed"; exit 1; }
	@echo "$(VENV) is ready"
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

# One line per run (runbook, demo world, outcome, the report to open); a run's own progress
# lines go to a log shown only when the run could not start. The reports to open are
# listed again at the very end ($(DEMO_REPORTS)).
demo: $(STAMP) bytecode
	@echo "the built-in demo worlds (sfdoctor demo list):"
	@$(BIN)/sfdoctor demo list
	@echo "running each runbook against its default demo world:"
	@log=$$(mktemp); : > $(DEMO_REPORTS); for run in $$($(BIN)/python -c "from sfdoctor import runbooks; \
	    print(*(f'{s.id}:{s.default_scenario}' for s in runbooks.all_specs() if s.default_scenario))"); do \
	  folder=$$($(BIN)/sfdoctor run $${run%%:*} --org demo:$${run#*:} --out reports 2>$$log); rc=$$?; \
	  case $$rc in 0) outcome=healthy;; 1) outcome="problems found";; 3) outcome=inconclusive;; \
	    *) cat $$log; rm -f $$log; exit $$rc;; esac; \
	  printf '  %-26s %-28s %s\n' "$${run%%:*}" "demo:$${run#*:}" "$$outcome"; \
	  echo "$$(realpath $$folder)/report.html" >> $(DEMO_REPORTS); \
	done; rm -f $$log
	@echo "the history (sfdoctor reports list):"
	@$(BIN)/sfdoctor reports list
	@echo "a fleet: 12 demo orgs, each runbook, on this machine (sfdoctor fleet run):"
	@log=$$(mktemp); $(BIN)/sfdoctor demo fleet --orgs 12 --out .demo-fleet >$$log 2>&1 || { cat $$log; rm -f $$log; exit 2; }; rm -f $$log
	@$(BIN)/sfdoctor fleet run --orgs .demo-fleet/orgs.toml --out reports; \
	  rc=$$?; if [ $$rc -eq 2 ] || [ $$rc -gt 3 ]; then exit $$rc; fi
	@echo "the reports of the runs above (open in a browser, they work offline):"
	@sed 's/^/  /' $(DEMO_REPORTS)
	@echo "every run, with filters and a chart: $$(pwd)/reports/index.html"

test: $(STAMP) bytecode system-deps $(NODE_STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile -q

# Golden findings (tests/golden/README.md): only when a change alters findings on purpose,
# in the same commit, said in its message. SCENARIOS="a b" limits it to some scenarios.
golden: $(STAMP) bytecode
	$(BIN)/python tests/golden/update.py $(SCENARIOS)

# jupyter-config/ (added to Jupyter's config path, whatever JUPYTER_CONFIG_DIR says) turns off
# JupyterLab's news pop-up for this project; root (a container, a fresh VM) needs --allow-root.
# LAB_ARGS adds options, LAB_DIR serves another folder (the browser tests start JupyterLab so).
LAB_DIR ?= notebooks/
lab: $(STAMP)
	@JUPYTER_CONFIG_PATH="$(CURDIR)/jupyter-config$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}" \
	  $(BIN)/jupyter lab --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate \
	  $$([ "$$(id -u)" = 0 ] && echo --allow-root) $(LAB_ARGS) $(LAB_DIR)

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
