# Vigil: `make run` serves the whole platform locally; `make test` runs every test.
# Both create the virtual environment and install what they need themselves.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EMULATORS := tools/emulators/node_modules/.installed
export PYTHONPATH := $(CURDIR)

.PHONY: run test venv emulators token job bench clean verify-package replay-dead-letters

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q --upgrade pip
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt -r requirements-dev.txt
	@touch $@

venv: $(STAMP)

$(EMULATORS): tools/emulators/package.json tools/emulators/package-lock.json
	cd tools/emulators && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

emulators: $(EMULATORS)

# make run is a local stamp: alert webhooks may reach loopback and private addresses
# (the reference receiver on 127.0.0.1, docs/anpr.md). Override with
# `make run VIGIL_WEBHOOK_ALLOW_PRIVATE_NETWORKS=false`; the code's default and Azure refuse them.
run: $(STAMP)
	VIGIL_WEBHOOK_ALLOW_PRIVATE_NETWORKS=$${VIGIL_WEBHOOK_ALLOW_PRIVATE_NETWORKS:-true} $(PY) -m functions.local_runner

test: $(STAMP) $(EMULATORS)
	$(PY) -m pytest -n 2 --dist loadgroup

token: $(STAMP)
	@$(PY) -m functions.cli token --org "$(ORG)" --role "$(ROLE)" $(if $(filter command line,$(origin USER)),--user "$(USER)") $(if $(STORES),--stores "$(STORES)")

# make job JOB=<job> [AS_OF=<ISO 8601 with offset>] [DRY_RUN=1]: one timer job, for a moment.
job: $(STAMP)
	@$(PY) -m functions.cli job --job "$(JOB)" $(if $(AS_OF),--as-of "$(AS_OF)") $(if $(filter 1 true yes,$(DRY_RUN)),--dry-run)

# Put dead-lettered D2P dispatch messages back on their queue (IDS=a,b for only those).
replay-dead-letters: $(STAMP)
	@$(PY) -m functions.d2p_jobs "$(IDS)"

bench: $(STAMP)
	$(PY) bench/intake.py

# Check a court evidence package offline: names any file changed, added or removed.
verify-package: $(STAMP)
	@test -n "$(FILE)" || (echo "usage: make verify-package FILE=package.zip" && exit 2)
	@$(PY) tools/verify_package.py "$(FILE)"

clean:
	rm -rf $(VENV) var tools/emulators/node_modules
