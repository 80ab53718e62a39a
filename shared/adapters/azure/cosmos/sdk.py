"""Calling the Cosmos SDK: outages become `Unavailable`, undo steps stay quiet, retries back off."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from azure.core.exceptions import ServiceRequestError, ServiceResponseError
from azure.cosmos import exceptions

from shared.domain.errors import Unavailable


@contextmanager
def io() -> Iterator[None]:
    """Transport failures and Cosmos outages become `Unavailable`; 4xx stay with the caller."""
    try:
        yield
    except (ServiceRequestError, ServiceResponseError) as exc:
        raise Unavailable("The record store cannot be reached.") from exc
    except exceptions.CosmosHttpResponseError as exc:
        if exc.status_code in (429, 500, 502, 503, 504) and not isinstance(
            exc, (exceptions.CosmosResourceNotFoundError, exceptions.CosmosResourceExistsError, exceptions.CosmosAccessConditionFailedError)
        ):
            raise Unavailable(f"The record store answered {exc.status_code}.") from exc
        raise


def quiet(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Run an undo call; a missing item is already what undo wants."""
    try:
        fn(*args, **kwargs)
    except exceptions.CosmosResourceNotFoundError:
        pass


def backoff(attempt: int) -> None:
    """Sleep a little before retrying an ETag race (jittered, capped at 0.2 s)."""
    time.sleep(min(0.2, 0.005 * (2 ** min(attempt, 6))) * random.random())
