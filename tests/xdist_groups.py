"""`--dist loadgroup` with pytest 9: tests marked `xdist_group(name)` run on one worker.

pytest-xdist (3.8) sends a group to one worker by suffixing each marked item's node id with
`@name` on the worker, which it does by setting `item._nodeid`. pytest 9 keeps the node id
in `item._id` and no longer reads `_nodeid`, so the suffix is lost and every group is
spread over both workers: each starts its own live stamp, Cosmos DB emulator, Chromium.
This puts the suffix where pytest 9 reads it. It steps aside when xdist already did
(the id ends with the group), and does nothing off the workers or without loadgroup.
"""

from __future__ import annotations

import pytest

try:
    from _pytest.nodeid import NodeId
except ImportError:  # pytest before 9: xdist's own suffix works there
    NodeId = None  # type: ignore[assignment,misc]


def group_of(item: pytest.Item) -> str | None:
    names = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in item.iter_markers("xdist_group")})
    return "_".join(names) or None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if NodeId is None or not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        group = group_of(item)
        if group is None or item.nodeid.endswith(f"@{group}") or not hasattr(item, "_id"):
            continue
        item._id = NodeId.parse(f"{item.nodeid}@{group}")
