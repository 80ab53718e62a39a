"""Python client for the Vigil API (see docs/integrators.md in the Vigil repository)."""

from vigil_client.client import VigilClient, file_sha256, new_idempotency_key
from vigil_client.errors import IntegrityError, SignInError, VigilError, VigilNetworkError, VigilProblem

__all__ = [
    "IntegrityError",
    "SignInError",
    "VigilClient",
    "VigilError",
    "VigilNetworkError",
    "VigilProblem",
    "file_sha256",
    "new_idempotency_key",
]
