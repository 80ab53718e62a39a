"""Sign-in: where the bearer token comes from.

- `ClientCredentials`: an app signs in as itself (till integrations, camera bridges, VMS
  exporters) with msal's ConfidentialClientApplication, by secret or certificate.
- `DeviceCode`: a person at a terminal signs in on another device (msal's
  PublicClientApplication device-code flow).
- `LocalStampToken`: the local stamp's development tokens (`python -m functions.cli token`).
- `StaticToken`: a token obtained elsewhere.

The msal providers keep their tokens in a persistent cache file readable only by the user
(0600), so a till or a terminal does not sign in again on every run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Protocol

from vigil_client.errors import SignInError

# Local stamp tokens are minted again this long before the stamp would refuse them.
LOCAL_TOKEN_REFRESH_SECONDS = 30 * 60


class TokenProvider(Protocol):
    """Anything that gives a bearer token for the API."""

    def token(self) -> str:
        """A token valid now (cached where possible)."""
        ...

    def invalidate(self) -> None:
        """Forget the cached token: the API refused it (401)."""
        ...


def config_dir() -> Path:
    """Where the client keeps its configuration, token cache and offline queue:
    VIGIL_CONFIG_DIR, else the platform's per-user config directory."""
    explicit = os.environ.get("VIGIL_CONFIG_DIR")
    if explicit:
        return Path(explicit)
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming")) / "vigil"
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "vigil"


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, readable and writable by the user only (0600), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


class StaticToken:
    """A token given as is (e.g. VIGIL_TOKEN); nothing to refresh."""

    def __init__(self, token: str):
        self._token = token.strip()

    def token(self) -> str:
        return self._token

    def invalidate(self) -> None:
        pass


class PersistentCache:
    """An msal SerializableTokenCache kept in a 0600 file."""

    def __init__(self, path: Path):
        import msal

        self.path = path
        self.cache = msal.SerializableTokenCache()
        if path.exists():
            self.cache.deserialize(path.read_text(encoding="utf-8"))

    def save(self) -> None:
        if self.cache.has_state_changed:
            write_private(self.path, self.cache.serialize())
            self.cache.has_state_changed = False


def _token_of(result: dict[str, Any] | None, what: str) -> str:
    if not result or "access_token" not in result:
        error = (result or {}).get("error_description") or (result or {}).get("error") or "no token returned"
        raise SignInError(f"{what}: {error}")
    return str(result["access_token"])


class ClientCredentials:
    """An application's own sign-in (OAuth 2.0 client credentials) with msal, by client
    secret or by certificate (a PEM private key and the certificate's SHA-1 thumbprint)."""

    def __init__(
        self,
        *,
        authority: str,
        client_id: str,
        scopes: list[str],
        client_secret: str | None = None,
        certificate_path: str | None = None,
        certificate_thumbprint: str | None = None,
        cache_path: Path | None = None,
        http_client: Any = None,
        validate_authority: bool = True,
    ):
        import msal

        if client_secret:
            credential: Any = client_secret
        elif certificate_path and certificate_thumbprint:
            credential = {"private_key": Path(certificate_path).read_text(encoding="utf-8"), "thumbprint": certificate_thumbprint}
        else:
            raise SignInError("Client credentials need a client secret, or a certificate file and its thumbprint.")
        self.scopes = scopes
        self._cache = PersistentCache(cache_path or config_dir() / "token-cache.json")
        extra: dict[str, Any] = {"http_client": http_client} if http_client is not None else {}
        self.app = msal.ConfidentialClientApplication(
            client_id,
            authority=authority,
            client_credential=credential,
            token_cache=self._cache.cache,
            validate_authority=validate_authority,
            **extra,
        )
        self._lock = threading.Lock()

    def token(self) -> str:
        with self._lock:
            # msal answers from its cache until the token nears expiry, then asks again.
            result = self.app.acquire_token_for_client(self.scopes)
            self._cache.save()
            return _token_of(result, "client credentials sign-in failed")

    def invalidate(self) -> None:
        import msal

        # msal refuses force_refresh for app tokens: drop the refused one from the cache.
        with self._lock:
            cache = self._cache.cache
            for item in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN, query={"client_id": self.app.client_id})):
                cache.remove_at(item)
            self._cache.save()


class DeviceCode:
    """A person's sign-in at a terminal (OAuth 2.0 device authorization grant) with msal:
    they open the address shown and enter the code. The account and its refresh token
    stay in the persistent cache, so later runs sign in silently."""

    def __init__(
        self,
        *,
        authority: str,
        client_id: str,
        scopes: list[str],
        cache_path: Path | None = None,
        prompt: Any = None,
        http_client: Any = None,
        validate_authority: bool = True,
    ):
        import msal

        self.scopes = scopes
        self._cache = PersistentCache(cache_path or config_dir() / "token-cache.json")
        extra: dict[str, Any] = {"http_client": http_client} if http_client is not None else {}
        self.app = msal.PublicClientApplication(
            client_id, authority=authority, token_cache=self._cache.cache, validate_authority=validate_authority, **extra
        )
        self._prompt = prompt or (lambda message: print(message, file=sys.stderr, flush=True))
        self._lock = threading.Lock()
        self._stale = False

    def token(self) -> str:
        with self._lock:
            for account in self.app.get_accounts():
                result = self.app.acquire_token_silent(self.scopes, account=account, force_refresh=self._stale)
                if result and "access_token" in result:
                    self._stale = False
                    self._cache.save()
                    return str(result["access_token"])
            flow = self.app.initiate_device_flow(scopes=self.scopes)
            if "user_code" not in flow:
                raise SignInError(f"device code sign-in could not start: {flow.get('error_description') or flow.get('error')}")
            self._prompt(flow["message"])
            result = self.app.acquire_token_by_device_flow(flow)
            self._stale = False
            self._cache.save()
            return _token_of(result, "device code sign-in failed")

    def invalidate(self) -> None:
        self._stale = True


class LocalStampToken:
    """Development tokens from a local stamp (`make run`): minted by the stamp's own
    `python -m functions.cli token` in the repository checkout, for a seeded organisation
    and role. Never for a real deployment: the stamp's issuer is its own."""

    def __init__(
        self,
        *,
        org: str,
        role: str,
        repo: str | os.PathLike[str],
        python: str | None = None,
        data_dir: str | None = None,
        stores: str | None = None,
        user: str | None = None,
    ):
        self.org, self.role, self.stores, self.user = org, role, stores, user
        self.repo = Path(repo)
        self.python = python or self._repo_python()
        self.data_dir = data_dir
        self._token: str | None = None
        self._minted_at = 0.0
        self._lock = threading.Lock()

    def _repo_python(self) -> str:
        venv = self.repo / ".venv" / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
        return str(venv) if venv.exists() else sys.executable

    def token(self) -> str:
        with self._lock:
            if self._token and time.monotonic() - self._minted_at < LOCAL_TOKEN_REFRESH_SECONDS:
                return self._token
            cmd = [self.python, "-m", "functions.cli", "token", "--org", self.org, "--role", self.role]
            cmd += ["--stores", self.stores] if self.stores else []
            cmd += ["--user", self.user] if self.user else []
            env = {**os.environ, "PYTHONPATH": str(self.repo)}
            if self.data_dir:
                env["VIGIL_DATA_DIR"] = self.data_dir
            try:
                done = subprocess.run(cmd, cwd=self.repo, env=env, capture_output=True, text=True, timeout=60)
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise SignInError(f"could not run the local stamp's token command in {self.repo}: {exc}") from exc
            if done.returncode != 0 or not done.stdout.strip():
                raise SignInError(f"the local stamp's token command failed: {(done.stderr or done.stdout).strip()[-500:]}")
            self._token = done.stdout.strip().splitlines()[-1]
            self._minted_at = time.monotonic()
            return self._token

    def invalidate(self) -> None:
        self._token = None


def describe(provider: TokenProvider) -> str:
    """A one-line description of a provider for `vigil status` (never the token)."""
    return json.dumps({"auth": type(provider).__name__})
