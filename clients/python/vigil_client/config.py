"""Configuration: environment variables over a config file, so the same till, bridge or
script moves from a local stamp to production by configuration, not code changes.

The file is `<config dir>/config.toml` (VIGIL_CONFIG_FILE to name another); its top-level
keys are the defaults and `[profiles.<name>]` tables override them for `--profile`."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from vigil_client.auth import ClientCredentials, DeviceCode, LocalStampToken, StaticToken, TokenProvider, config_dir
from vigil_client.errors import SignInError

AUTH_MODES = ("token", "local", "client-credentials", "device-code", "none")

# config key -> environment variable
ENV = {
    "url": "VIGIL_API_URL",
    "auth": "VIGIL_AUTH_MODE",
    "token": "VIGIL_TOKEN",
    "authority": "VIGIL_AUTHORITY",
    "client_id": "VIGIL_APP_CLIENT_ID",
    "client_secret": "VIGIL_APP_CLIENT_SECRET",
    "certificate": "VIGIL_APP_CERT_FILE",
    "thumbprint": "VIGIL_APP_CERT_THUMBPRINT",
    "scopes": "VIGIL_SCOPES",
    "local_org": "VIGIL_LOCAL_ORG",
    "local_role": "VIGIL_LOCAL_ROLE",
    "local_stores": "VIGIL_LOCAL_STORES",
    "local_user": "VIGIL_LOCAL_USER",
    "local_repo": "VIGIL_LOCAL_REPO",
    "local_python": "VIGIL_LOCAL_PYTHON",
    "data_dir": "VIGIL_DATA_DIR",
    "queue": "VIGIL_QUEUE_FILE",
    "token_cache": "VIGIL_TOKEN_CACHE",
    "validate_authority": "VIGIL_VALIDATE_AUTHORITY",
}


@dataclass
class Settings:
    """Where the API is and how to sign in (see ENV for each key's variable)."""

    url: str = "http://127.0.0.1:7071"
    auth: str = "token"
    token: str | None = None
    authority: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    certificate: str | None = None
    thumbprint: str | None = None
    scopes: str | None = None
    local_org: str | None = None
    local_role: str | None = None
    local_stores: str | None = None
    local_user: str | None = None
    local_repo: str | None = None
    local_python: str | None = None
    data_dir: str | None = None
    queue: str | None = None
    token_cache: str | None = None
    # false only for an identity provider that is not Entra ID (msal would ask Entra's
    # instance discovery about it).
    validate_authority: str = "true"

    @property
    def queue_path(self) -> Path:
        return Path(self.queue) if self.queue else config_dir() / "queue.sqlite3"

    @property
    def token_cache_path(self) -> Path:
        return Path(self.token_cache) if self.token_cache else config_dir() / "token-cache.json"


def load_settings(profile: str | None = None, config_file: str | None = None, **overrides: Any) -> Settings:
    """Settings from (lowest first) the config file's top level, its profile, the
    environment, then `overrides` that are not None (command-line options)."""
    path = Path(config_file or os.environ.get("VIGIL_CONFIG_FILE") or config_dir() / "config.toml")
    values: dict[str, Any] = {}
    if path.exists():
        with open(path, "rb") as f:
            data = tomllib.load(f)
        values.update({k: v for k, v in data.items() if not isinstance(v, dict)})
        if profile:
            chosen = data.get("profiles", {}).get(profile)
            if chosen is None:
                raise SignInError(f"no profile {profile!r} in {path}")
            values.update(chosen)
    elif profile:
        raise SignInError(f"--profile {profile} given but there is no config file at {path}")
    for key, var in ENV.items():
        if os.environ.get(var):
            values[key] = os.environ[var]
    values.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise SignInError(f"unknown setting{'s' if len(unknown) > 1 else ''} in {path}: {', '.join(unknown)}")
    return Settings(**{k: str(v) for k, v in values.items()})


def _need(settings: Settings, *keys: str) -> None:
    missing = [f"{k} ({ENV[k]})" for k in keys if not getattr(settings, k)]
    if missing:
        raise SignInError(f"auth {settings.auth} needs: {', '.join(missing)}")


def token_provider(settings: Settings) -> TokenProvider | None:
    """The sign-in the settings choose."""
    mode = settings.auth
    validate = settings.validate_authority.strip().lower() not in ("false", "0", "no")
    scopes = (settings.scopes or "").replace(",", " ").split()
    if mode == "none":
        return None
    if mode == "token":
        _need(settings, "token")
        return StaticToken(settings.token or "")
    if mode == "local":
        _need(settings, "local_org", "local_role", "local_repo")
        return LocalStampToken(
            org=settings.local_org or "",
            role=settings.local_role or "",
            repo=settings.local_repo or "",
            python=settings.local_python,
            data_dir=settings.data_dir,
            stores=settings.local_stores,
            user=settings.local_user,
        )
    if mode == "client-credentials":
        _need(settings, "authority", "client_id", "scopes")
        return ClientCredentials(
            authority=settings.authority or "",
            client_id=settings.client_id or "",
            scopes=scopes,
            client_secret=settings.client_secret,
            certificate_path=settings.certificate,
            certificate_thumbprint=settings.thumbprint,
            cache_path=settings.token_cache_path,
            validate_authority=validate,
        )
    if mode == "device-code":
        _need(settings, "authority", "client_id", "scopes")
        return DeviceCode(
            authority=settings.authority or "",
            client_id=settings.client_id or "",
            scopes=scopes,
            cache_path=settings.token_cache_path,
            validate_authority=validate,
        )
    raise SignInError(f"unknown auth mode {mode!r}: one of {', '.join(AUTH_MODES)}")
