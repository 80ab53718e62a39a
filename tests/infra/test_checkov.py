"""checkov's Bicep security checks, run in their own environment (.venv-checkov/, made
once by tools/infra_check.py: checkov pins an older pycep-parser than ours).

Fails on any file checkov cannot parse (it would otherwise skip the file and pass), on
any failed check not skipped inline with a reason, and on stale inline skips."""

from __future__ import annotations

import pytest

from tools import infra_check as ic

# One worker runs all three on one report (make test uses `-n 2 --dist loadgroup`).
pytestmark = pytest.mark.xdist_group("checkov")


@pytest.fixture(scope="module")
def report():
    return ic.run_checkov(ic.ensure_checkov())


def test_checkov_parses_every_template(report):
    assert not report["results"].get("parsing_errors"), "checkov's parser cannot read these files"
    assert report["summary"].get("resource_count", 0) > 0


def test_checkov_passes_or_skips_with_a_reason(report):
    problems = ic.checkov_problems(report)
    assert not problems, "\n".join(problems)


def test_checkov_reports_only_on_the_templates_in_infra(report):
    """checkov reads infra/ and nothing else (no vendored, generated or stray files)."""
    ours = {"/" + path.relative_to(ic.INFRA).as_posix() for path in ic.bicep_files()}
    results = report["results"]
    reported = {check["file_path"] for kind in ("passed_checks", "failed_checks", "skipped_checks") for check in results.get(kind) or []}
    assert reported, "checkov reported no checks"
    assert reported <= ours, f"checkov reported on files outside infra/'s templates: {sorted(reported - ours)}"
