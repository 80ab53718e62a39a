"""The composition root: the one place that chooses adapters from settings.

Everything is built lazily on first use: in Azure, FastAPI's lifespan runs only on
the first HTTP request, never before a timer or queue trigger, so nothing may depend
on it having run.
"""

from __future__ import annotations

import threading
from functools import cached_property
from pathlib import Path

from shared.ports import Clock, RecordStore, TokenVerifier
from shared.settings import Settings, get_settings


class Container:
    def __init__(self, settings: Settings | None = None, *, clock: Clock | None = None):
        self.settings = settings or get_settings()
        self._clock = clock
        self._lock = threading.RLock()

    # ---- adapters --------------------------------------------------------------
    @cached_property
    def clock(self) -> Clock:
        if self._clock is not None:
            return self._clock
        from shared.adapters.clock import SystemClock

        return SystemClock()

    @property
    def data_dir(self) -> Path:
        return Path(self.settings.data_dir)

    @cached_property
    def records(self) -> RecordStore:
        s = self.settings
        if s.backend == "local":
            from shared.adapters.local.sqlite_records import SqliteRecordStore

            return SqliteRecordStore(self.data_dir / s.region / "records.sqlite")
        from shared.adapters.azure.cosmos_records import CosmosRecordStore

        return CosmosRecordStore.from_settings(s, clock=self.clock)

    @cached_property
    def queue(self):
        """Message queues: SQLite locally, Service Bus in Azure."""
        s = self.settings
        if s.backend == "local":
            from shared.adapters.local.sqlite_queue import SqliteQueue

            return SqliteQueue(self.data_dir / s.region / "queue.sqlite")
        from shared.adapters.azure.service_bus import ServiceBusQueue

        return ServiceBusQueue.from_settings(s)

    @cached_property
    def local_keys(self):
        from shared.adapters.local.signing import LocalSigningKeys

        return LocalSigningKeys(self.data_dir / "keys").ensure()

    @cached_property
    def token_verifier(self) -> TokenVerifier:
        from shared.adapters.tokens import JwtVerifier, LocalJwksSource, RemoteJwksSource

        s = self.settings
        source = RemoteJwksSource(s.auth_jwks_url) if s.auth_jwks_url else LocalJwksSource(self.local_keys.jwks_path)
        return JwtVerifier(source, issuer=s.auth_issuer, audience=s.auth_audience, algorithms=s.auth_algorithms, leeway=s.auth_leeway_seconds)

    # ---- services --------------------------------------------------------------
    @cached_property
    def directory(self):
        from shared.services.directory import Directory

        return Directory(self.records, region=self.settings.region, region_base_urls=self.settings.region_base_urls)

    @cached_property
    def audit(self):
        from shared.services.audit import AuditTrail

        return AuditTrail(self.records, self.clock)

    @cached_property
    def incidents(self):
        from shared.services.incidents import IncidentService

        return IncidentService(records=self.records, clock=self.clock, directory=self.directory, audit=self.audit)

    def readiness(self) -> dict[str, str]:
        """Each backing store's readiness, by name: "ok" or a short reason."""
        checks = {}
        ok, why = self.records.ready()
        checks["records"] = "ok" if ok else why
        return checks

    def close(self) -> None:
        if "records" in self.__dict__:
            self.records.close()


_default: Container | None = None
_default_lock = threading.Lock()


def default_container() -> Container:
    """The process-wide container built from environment settings."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Container()
        return _default
