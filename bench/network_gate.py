"""What the network-range check costs a request: `python bench/network_gate.py`.

In-process, on a seeded local stamp in a temp dir: the check as every signed-in request
runs it (`container.network.gate.admit`, ranges cached), for an organisation with no
ranges and for one with the most a list may hold (100), the caller's address in the last
range (the worst case for an admitted request). Prints microseconds per check and the
machine; no assertion (figures go in bench/README.md).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchkit import machine  # noqa: E402

from shared.bootstrap import Container  # noqa: E402
from shared.domain.network import MAX_RANGES, NetworkRangesIn  # noqa: E402
from shared.domain.tenancy import Role  # noqa: E402
from shared.services.seed import seed_directory  # noqa: E402
from shared.settings import Settings  # noqa: E402

CALLS = 200_000


def per_call_us(fn, calls: int = CALLS) -> float:
    for _ in range(1000):
        fn()
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e6


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="vigil-bench-net-") as tmp:
        c = Container(Settings(data_dir=Path(tmp)))
        seed_directory(c)
        tid = c.directory.organisation("devon-and-cornwall").idp_tenant_id
        officer = c.directory.principal_from_claims({"sub": "bench-officer", "tid": tid, "roles": ["Police.Officer"]})
        admin = officer.model_copy(update={"roles": frozenset({Role.POLICE_ADMIN}), "user_id": "bench-admin"})
        gate = c.network.gate
        claims: dict = {}

        unrestricted = per_call_us(lambda: gate.admit(officer, claims, "192.0.2.10", "GET /inbox"))
        ranges = [f"10.{i // 256}.{i % 256}.0/24" for i in range(MAX_RANGES - 1)] + ["192.0.2.0/24"]
        c.network.ranges.put(admin, "devon-and-cornwall", NetworkRangesIn(staff=ranges), None)
        full = per_call_us(lambda: gate.admit(officer, claims, "192.0.2.10", "GET /inbox"))
        c.close()
    print(f"network-range check, {CALLS} calls each, ranges cached:")
    print(f"  no ranges:                      {unrestricted:6.2f} µs per request")
    print(f"  {MAX_RANGES} ranges, address in the last: {full:6.2f} µs per request")
    print(f"machine: {machine()}")


if __name__ == "__main__":
    main()
