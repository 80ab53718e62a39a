"""Operator commands behind the Makefile: tokens, jobs, seeding."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from shared.bootstrap import Container, default_container
from shared.domain.errors import DomainError
from shared.domain.tenancy import Role
from shared.domain.timestamps import from_iso
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
        stores = [s.id for s in container.directory.stores_of(org_id)] if role == Role.RETAILER_REPORTER else []
    claims = {"sub": user or f"{org_id}-{role.split('.')[-1].lower()}", "tid": org.idp_tenant_id, "roles": [role], "name": user or role}
    if stores:
        claims["stores"] = stores
    return container.local_keys.mint(claims, issuer=container.settings.auth_issuer, audience=container.settings.auth_audience)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vigil")
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("token", help="print a bearer token for the local stamp")
    t.add_argument("--org", required=True)
    t.add_argument("--role", required=True)
    t.add_argument("--user")
    t.add_argument("--stores", help="comma-separated store ids (store staff)")
    j = sub.add_parser("job", help="run one timer job for a moment")
    j.add_argument("--job", required=True)
    j.add_argument("--as-of", help="ISO 8601 time with offset; default now")
    sub.add_parser("seed", help="seed the demo directory")
    args = parser.parse_args(argv)

    container = default_container()
    seed_directory(container.records, container.clock, region=container.settings.region)
    try:
        if args.command == "token":
            stores = [s for s in args.stores.split(",") if s] if args.stores else None
            print(demo_token(container, args.org, args.role, user=args.user, stores=stores))
        elif args.command == "job":
            from functions import jobs

            jobs.load_all()
            if args.job not in jobs.TIMER_JOBS:
                print(f"unknown job {args.job!r}: one of {', '.join(sorted(jobs.TIMER_JOBS))}", file=sys.stderr)
                return 2
            as_of = from_iso(args.as_of) if args.as_of else datetime.now(UTC)
            report = jobs.run_job(container, args.job, as_of)
            print(json.dumps({"job": report.job, "as_of": as_of.isoformat(), "counts": report.counts, "notes": report.notes}, indent=2))
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
