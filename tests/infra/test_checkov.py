"""checkov's Bicep security checks, run in their own environment (.venv-checkov/, made
once by tools/infra_check.py: checkov pins an older pycep-parser than ours).

Fails on any file checkov cannot parse (it would otherwise skip the file and pass), on
any failed check not skipped inline with a reason, and on stale inline skips."""

from __future__ import annotations

import time

import pytest

from tools import infra_check as ic

# One worker runs all three on one report (make test uses `-n 2 --dist loadgroup`).
pytestmark = pytest.mark.xdist_group("checkov")


@pytest.fixture(scope="module")
def report():
    exe = ic.ensure_checkov()
    started = time.monotonic()
    result = ic.run_checkov(exe)
    result["_seconds"] = time.monotonic() - started
    return result


def test_checkov_parses_every_template(report):
    assert not report["results"].get("parsing_errors"), "checkov's parser cannot read these files"
    assert report["summary"].get("resource_count", 0) > 0


def test_checkov_passes_or_skips_with_a_reason(report):
    problems = ic.checkov_problems(report)
    assert not problems, "\n".join(problems)


def test_checkov_is_quick(report):
    # About 8 s on an idle 2-core machine; the bound is loose because make test shares
    # the cores with other suites. Much more means it is scanning what it should not.
    assert report["_seconds"] < 240
