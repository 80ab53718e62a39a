"""Operator commands behind the Makefile: tokens, jobs, seeding, onboarding."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.bootstrap import Container, default_container
from shared.domain.errors import DomainError
from shared.domain.tenancy import PLATFORM_TENANT, OrgKind, Principal, Role
from shared.services.seed import seed_directory


def demo_token(container: Container, org_id: str, role: str, *, user: str | None = None, stores: list[str] | None = None) -> str:
    """A token from the local stamp's own issuer for a seeded organisation."""
    org = container.directory.organisation(org_id)
    if org is None:
        raise SystemExit(
            f"unknown organisation {org_id!r}: seeded ones are northwind, contoso, koala-mart, devon-and-cornwall, avon-and-somerset, vigil-platform"
        )
    try:
        Role(role)
    except ValueError:
        raise SystemExit(f"unknown role {role!r}: one of {', '.join(r.value for r in Role)}") from None
    if stores is None:
        # Store staff and camera systems act for named stores: by default all of the organisation's.
        scoped = role in (Role.RETAILER_REPORTER, Role.DEVICE_ANPR)
        stores = [s.id for s in container.directory.stores_of(org_id)] if scoped else []
    claims = {"sub": user or f"{org_id}-{role.split('.')[-1].lower()}", "tid": org.idp_tenant_id, "roles": [role], "name": user or role}
    if stores:
        claims["stores"] = stores
    return container.local_keys.mint(claims, issuer=container.settings.auth_issuer, audience=container.settings.auth_audience)


JOB_USAGE = "usage: make job JOB=<job> [AS_OF=2026-11-23T12:00:00+00:00] [DRY_RUN=1]"


class FixedClock:
    """The clock of a job run for a moment: everything the job decides or records is
    dated `as_of` (tombstones, audit entries, evidence protection checks), as when the
    timer fires at that moment."""

    def __init__(self, at: datetime):
        self.at = at

    def now(self) -> datetime:
        return self.at


def _usage_error(message: str) -> int:
    print(message, file=sys.stderr)
    return 2


def _parse_as_of(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"AS_OF is not an ISO 8601 time: {text!r}; e.g. 2026-11-23T12:00:00+00:00") from None
    if moment.tzinfo is None:
        raise ValueError(f"AS_OF needs a UTC offset: {text!r}; e.g. {moment.replace(tzinfo=UTC).isoformat()}")
    return moment.astimezone(UTC)


def run_job_command(job: str, as_of_text: str | None, dry_run: bool) -> int:
    """`make job`: check the request before opening anything, then run the job for AS_OF."""
    from functions import jobs

    jobs.load_all()
    names = ", ".join(sorted(jobs.TIMER_JOBS))
    if not job.strip():
        return _usage_error(f"{JOB_USAGE}; JOB is one of: {names}")
    if job not in jobs.TIMER_JOBS:
        return _usage_error(f"unknown job {job!r}: JOB is one of: {names}")
    try:
        as_of = _parse_as_of(as_of_text) if as_of_text else None
    except ValueError as exc:
        return _usage_error(str(exc))
    if dry_run and job not in jobs.DRY_RUNS:
        offered = ", ".join(sorted(jobs.DRY_RUNS)) or "none yet"
        return _usage_error(f"DRY_RUN is not available for {job!r} (jobs with a dry run: {offered}); nothing was run")
    # With AS_OF, the whole job runs on a clock stopped at that moment, not only its selection.
    container = Container(clock=FixedClock(as_of)) if as_of else default_container()
    moment = as_of or container.clock.now()
    try:
        seed_directory(container)
        report = (jobs.DRY_RUNS[job] if dry_run else jobs.run_job)(container, job, moment)
        print(
            json.dumps(
                {"job": report.job, "as_of": moment.isoformat(), "dry_run": dry_run, "counts": report.counts, "notes": report.notes},
                indent=2,
            )
        )
    except DomainError as exc:
        print(f"{exc.title}: {exc.detail}", file=sys.stderr)
        return 1
    finally:
        container.close()
    return 0


ONBOARD_USAGE = "usage: make onboard FILE=<onboarding file, .json (or .yaml with PyYAML installed)> [AS=<your operator user id>]"


def _read_description(path: Path) -> Any:
    """The file's data: JSON, or YAML when it is named .yaml/.yml and PyYAML is installed."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml  # type: ignore[import-untyped]
        except ImportError:
            raise ValueError(f"{path}: reading YAML needs PyYAML, which is not installed here; write the file as JSON") from None
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ValueError(f"{path}: not valid YAML: {exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None


def run_onboard_command(file: str, operator: str | None, container: Container | None = None) -> int:
    """`make onboard`: apply an onboarding file through the onboarding service, printing
    what each item did (created, changed, unchanged); 1 naming the item and field on a refusal."""
    from shared.services.onboarding.files import parse_description

    if not file.strip():
        return _usage_error(ONBOARD_USAGE)
    path = Path(file)
    if not path.is_file():
        return _usage_error(f"no such file: {file}; {ONBOARD_USAGE}")
    try:
        data = _read_description(path)
    except ValueError as exc:
        return _usage_error(str(exc))
    # The operator the audit trail names: who ran the command, as they sign in elsewhere.
    principal = Principal(
        user_id=operator or f"cli:{getpass.getuser()}",
        organisation_id=PLATFORM_TENANT,
        organisation_kind=OrgKind.PLATFORM,
        roles=frozenset({Role.PLATFORM_OPERATOR}),
    )
    own = container is None
    c = container or default_container()
    try:
        results = c.onboarding.files.apply(principal, parse_description(data))
    except DomainError as exc:
        print(f"{exc.title}: {exc.detail}", file=sys.stderr)
        for e in exc.errors:
            where = " ".join(str(e[k]) for k in ("item", "field") if e.get(k))
            print(f"  {where}: {e.get('message', 'invalid')}", file=sys.stderr)
        return 1
    finally:
        if own:
            c.close()
    for r in results:
        print(f"{r.item}: {r.outcome}")
    return 0


def run_rebuild_counters_command(force: str, first_text: str, last_text: str) -> int:
    """`make d2p-counters`: recompute a force's D2P evaluation counters for days first..last
    from its dispatches and outcomes (the backfill of a force's history, or a repair)."""
    from datetime import date

    try:
        first, last = date.fromisoformat(first_text), date.fromisoformat(last_text)
    except ValueError:
        return _usage_error("usage: make d2p-counters FORCE=<force id> FROM=<YYYY-MM-DD> TO=<YYYY-MM-DD>")
    if not force or last < first:
        return _usage_error("usage: make d2p-counters FORCE=<force id> FROM=<YYYY-MM-DD> TO=<YYYY-MM-DD> (TO not before FROM)")
    container = default_container()
    try:
        print(
            json.dumps(
                {"force": force, "from": first.isoformat(), "to": last.isoformat(), **container.d2p.counters.rebuild(force, first, last)}
            )
        )
    finally:
        container.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vigil")
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("token", help="print a bearer token for the local stamp")
    t.add_argument("--org", required=True)
    t.add_argument("--role", required=True)
    t.add_argument("--user")
    t.add_argument("--stores", help="comma-separated store ids (store staff and camera systems; default all the organisation's)")
    j = sub.add_parser("job", help="run one timer job for a moment")
    j.add_argument("--job", default="")
    j.add_argument("--as-of", help="ISO 8601 time with offset; default now")
    j.add_argument("--dry-run", action="store_true", help="list what the job would do without doing it (where offered)")
    sub.add_parser("seed", help="seed the demo directory")
    o = sub.add_parser("onboard", help="onboard organisations, stores, devices and members from a file")
    o.add_argument("file", nargs="?", default="")
    o.add_argument("--as", dest="operator", help="the operator's user id the audit trail names (default cli:<login>)")
    r = sub.add_parser("d2p-counters", help="rebuild a force's D2P evaluation counters from its dispatches and outcomes")
    r.add_argument("--force", default="")
    r.add_argument("--from", dest="first", default="")
    r.add_argument("--to", dest="last", default="")
    args = parser.parse_args(argv)
    if args.command == "d2p-counters":
        return run_rebuild_counters_command(args.force, args.first, args.last)
    if args.command == "job":
        return run_job_command(args.job, args.as_of, args.dry_run)
    if args.command == "onboard":
        # No demo seed here: this is how a real stamp is onboarded.
        return run_onboard_command(args.file, args.operator)

    container = default_container()
    seed_directory(container)
    try:
        if args.command == "token":
            stores = [s for s in args.stores.split(",") if s] if args.stores else None
            print(demo_token(container, args.org, args.role, user=args.user, stores=stores))
        elif args.command == "seed":
            print("seeded")
    except DomainError as exc:
        print(f"{exc.title}: {exc.detail}", file=sys.stderr)
        return 1
    finally:
        container.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
