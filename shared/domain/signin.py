"""Where a browser may be sent back to after signing in."""

from __future__ import annotations

# Long enough for any console deep link (a case, an evidence item, a search with filters);
# the flow state carrying it lives in a cookie, which browsers cap at about 4 KB.
MAX_NEXT_PATH = 1024


def safe_next_path(next_path: str | None) -> str:
    """The console path to return to after sign-in: `next_path` when it is a path on this
    site, "/" otherwise.

    A deep link (the D2P email's case link) survives the sign-in round trip through this,
    and nothing else does: an absolute URL, a scheme-relative `//host` or `/\\host` (which
    browsers read as another host), or control characters would turn the sign-in page into
    an open redirect that phishing mail could borrow Vigil's address for.
    """
    if not isinstance(next_path, str) or not next_path.startswith("/") or len(next_path) > MAX_NEXT_PATH:
        return "/"
    if next_path.startswith(("//", "/\\")) or any(ord(ch) < 0x20 or ord(ch) == 0x7F or ch == "\\" for ch in next_path):
        return "/"
    return next_path
