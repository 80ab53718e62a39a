# Vigil: `make run` serves the whole platform locally; `make test` runs the quality gates
# (ruff, mypy) and every test with coverage. Both create the virtual environment and
# install what they need themselves.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EMULATORS := tools/emulators/node_modules/.installed
# The browser tests' Chromium (tests/browser); point it elsewhere with VIGIL_TEST_CHROMIUM.
VIGIL_TEST_CHROMIUM ?= /usr/bin/chromium
export VIGIL_TEST_CHROMIUM
export PYTHONPATH := $(CURDIR)

.PHONY: FORCE run test venv emulators chromium token job onboard smoke bench clean verify-package replay-dead-letters lock d2p-counters

# The stamps hold a digest of what was installed: a fresh checkout (as CI's) gives unchanged
# requirement files new dates, and installing again (pip, or npm ci, which starts from an
# empty node_modules) would cost a minute or more of every `make test`.
REQUIREMENTS_SUM := $(shell cat requirements.txt requirements-dev.txt 2>/dev/null | sha256sum | cut -d' ' -f1)
EMULATORS_SUM := $(shell cat tools/emulators/package.json tools/emulators/package-lock.json 2>/dev/null | sha256sum | cut -d' ' -f1)
ifneq ($(shell cat $(STAMP) 2>/dev/null),$(REQUIREMENTS_SUM))
$(STAMP): FORCE
endif
ifneq ($(shell cat $(EMULATORS) 2>/dev/null),$(EMULATORS_SUM))
$(EMULATORS): FORCE
endif
FORCE:

# The function app's locked requirements (hashes checked), then the tools and test
# libraries: pip refuses to mix hashed and unhashed requirements in one call.
$(STAMP):
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q --upgrade pip
	$(PY) -m pip install --disable-pip-version-check -q --require-hashes -r requirements.txt
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	@echo $(REQUIREMENTS_SUM) > $@

venv: $(STAMP)

$(EMULATORS):
	cd tools/emulators && npm ci --no-audit --no-fund --loglevel=error
	@echo $(EMULATORS_SUM) > $@

emulators: $(EMULATORS)

# Debian's Chromium for the browser tests: Playwright cannot download its own browser
# build here. Installed as root (CI runs as root); anyone else is told how.
$(VIGIL_TEST_CHROMIUM):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Chromium for the browser tests (apt-get install chromium)"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -q chromium >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }; \
	else \
		echo "The browser tests need Chromium at $@: install it (sudo apt-get install chromium), or set VIGIL_TEST_CHROMIUM to a Chromium or Chrome binary"; \
		exit 1; \
	fi
	@test -x $@ || { echo "Chromium was installed but $@ is not there: set VIGIL_TEST_CHROMIUM to its path"; exit 1; }

chromium: $(VIGIL_TEST_CHROMIUM)

# make run is a local stamp: alert webhooks may reach loopback and private addresses
# (the reference receiver on 127.0.0.1, docs/anpr.md). Override with
# `make run VIGIL_WEBHOOK_ALLOW_PRIVATE_NETWORKS=false`; the code's default and Azure refuse them.
run: $(STAMP)
	VIGIL_WEBHOOK_ALLOW_PRIVATE_NETWORKS=$${VIGIL_WEBHOOK_ALLOW_PRIVATE_NETWORKS:-true} $(PY) -m functions.local_runner

# Cheapest first: lint, formatting, types, then the tests under coverage (settings and
# the coverage floor in pyproject.toml), the browser tests among them (CONTRIBUTING.md).
test: $(STAMP) $(EMULATORS) $(VIGIL_TEST_CHROMIUM)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m pytest -n 2 --dist loadgroup --cov --cov-report=term:skip-covered

token: $(STAMP)
	@$(PY) -m functions.cli token --org "$(ORG)" --role "$(ROLE)" $(if $(filter command line,$(origin USER)),--user "$(USER)") $(if $(STORES),--stores "$(STORES)")

# make d2p-counters FORCE=<force> FROM=<YYYY-MM-DD> TO=<YYYY-MM-DD>: rebuild the force's D2P
# evaluation counters for those days from its dispatches and outcomes (docs/d2p.md, Evaluation).
d2p-counters: $(STAMP)
	@$(PY) -m functions.cli d2p-counters --force "$(FORCE)" --from "$(FROM)" --to "$(TO)"

# make onboard FILE=<file.json> [AS=<operator user id>]: organisations, stores, devices and
# members through the onboarding service; a second run prints "unchanged" for each item.
onboard: $(STAMP)
	@$(PY) -m functions.cli onboard "$(FILE)" $(if $(AS),--as "$(AS)")

# make job JOB=<job> [AS_OF=<ISO 8601 with offset>] [DRY_RUN=1]: one timer job, for a moment.
job: $(STAMP)
	@$(PY) -m functions.cli job --job "$(JOB)" $(if $(AS_OF),--as-of "$(AS_OF)") $(if $(filter 1 true yes,$(DRY_RUN)),--dry-run)

# Put dead-lettered D2P dispatch messages back on their queue (IDS=a,b for only those).
replay-dead-letters: $(STAMP)
	@$(PY) -m functions.d2p_jobs "$(IDS)"

# make smoke URL=<stamp URL> TENANT=<Entra tenant id, or local>: the checks an operator runs
# after deploying (tools/smoke.py, docs/deploy.md); credentials come from VIGIL_SMOKE_* variables.
smoke: $(STAMP)
	@test -n "$(URL)" -a -n "$(TENANT)" || (echo "usage: make smoke URL=https://... TENANT=<tenant id or local>" && exit 2)
	@$(PY) tools/smoke.py --url "$(URL)" --tenant "$(TENANT)"

bench: $(STAMP)
	$(PY) bench/intake.py

# Check a court evidence package offline: names any file changed, added or removed.
verify-package: $(STAMP)
	@test -n "$(FILE)" || (echo "usage: make verify-package FILE=package.zip" && exit 2)
	@$(PY) tools/verify_package.py "$(FILE)"

# Re-lock the function app's requirements after editing requirements.in: resolves every
# package and records its hashes in requirements.txt. Machine-local pip settings (extra
# indexes, wheel folders) are ignored so the lock names only public releases.
lock: $(STAMP)
	PIP_CONFIG_FILE=/dev/null PIP_FIND_LINKS= CUSTOM_COMPILE_COMMAND="make lock" \
		$(PY) -m piptools compile --quiet --generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links \
		--output-file requirements.txt requirements.in

clean:
	rm -rf $(VENV) var tools/emulators/node_modules
