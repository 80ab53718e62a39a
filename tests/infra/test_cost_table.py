"""docs/deploy.md's timer costs are the code's schedules priced as Flex Consumption bills
them: every run at least one second of the instance's memory."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from functions import jobs, ncrontab
from tools import infra_check as ic

DEPLOY_MD = ic.ROOT / "docs" / "deploy.md"
GB_S_PRICE = 0.000026  # USD per GB-s, on demand
EXECUTION_PRICE = 0.40 / 1_000_000
MINIMUM_BILLED_SECONDS = 1


def _runs_a_month(expression: str) -> int:
    """Runs in a 30-day month: a day's runs times 30, for the daily-periodic schedules
    the code has (day, month and weekday fields all `*`), which is all of them."""
    assert expression.split()[3:] == ["*", "*", "*"], f"{expression}: count its runs over the month instead"
    start = datetime(2026, 1, 1, tzinfo=UTC)
    end = start + timedelta(days=1)
    at, runs = start - timedelta(microseconds=1), 0
    while (at := ncrontab.next_after(expression, at)) < end:
        runs += 1
    return runs * 30


def _documented_rows() -> dict[str, tuple[str, int, int, float]]:
    text = DEPLOY_MD.read_text(encoding="utf-8")
    section = text[text.index("#### What the timers cost") :]
    rows = {}
    for name, schedule, runs, gbs, price in re.findall(
        r"^\| `([a-z0-9-]+)` \| `([^`]+)` \| ([\d,]+) \| ([\d,]+) \| \$([\d.,]+) \|$", section, re.M
    ):
        rows[name] = (schedule, int(runs.replace(",", "")), int(gbs.replace(",", "")), float(price.replace(",", "")))
    return rows


def test_the_timer_cost_table_matches_the_code_and_the_templates():
    jobs.load_all()
    memory_gb = ic.parse(ic.MAIN)["parameters"]["functionInstanceMemoryMB"]["default"] / 1024
    deployed = ic.variables(ic.MAIN)["defaultSchedules"]
    documented = _documented_rows()
    assert set(documented) == set(jobs.TIMER_JOBS)
    for name, timer in jobs.TIMER_JOBS.items():
        schedule, runs, gbs, price = documented[name]
        assert schedule == timer.default_schedule == deployed[f"SCHEDULE_{name.upper().replace('-', '_')}"], name
        assert runs == _runs_a_month(schedule), name
        assert gbs == runs * MINIMUM_BILLED_SECONDS * memory_gb, name
        assert abs(price - (gbs * GB_S_PRICE + runs * EXECUTION_PRICE)) < 0.01, name
    total = re.search(
        r"^\| \*\*All timers\*\* \| \| \*\*([\d,]+)\*\* \| \*\*([\d,]+)\*\* \| \*\*\$([\d.]+)\*\* \|$", DEPLOY_MD.read_text(), re.M
    )
    assert total is not None
    assert int(total.group(1).replace(",", "")) == sum(r for _, r, _, _ in documented.values())
    assert int(total.group(2).replace(",", "")) == sum(g for _, _, g, _ in documented.values())


def test_the_outbox_relay_costs_what_the_docs_say_and_not_what_every_second_would():
    _, runs, gbs, price = _documented_rows()["outbox-relay"]
    assert runs == 86_400 and price < 5
    every_second = 30 * 24 * 3600
    assert every_second * 2 * GB_S_PRICE > 130  # the figure the issue measured: one timer, every second
