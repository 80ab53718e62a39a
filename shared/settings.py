"""Settings, read once from the environment (pydantic-settings).

Every field here must appear in `local.settings.sample.json` and in the Bicep app
settings; `tests/test_infra_consistency.py` holds the three in step.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

Region = Literal["uk", "au", "nz", "us", "ca"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VIGIL_", extra="ignore")

    backend: Literal["local", "azure"] = "local"
    region: Region = "uk"
    # Public base URL of each regional stamp, used in 421 answers and case links.
    region_base_urls: dict[str, str] = Field(
        default_factory=lambda: {
            "uk": "http://127.0.0.1:7071",
            "au": "https://au.vigil.example.net",
            "nz": "https://nz.vigil.example.net",
            "us": "https://us.vigil.example.net",
            "ca": "https://ca.vigil.example.net",
        }
    )
    data_dir: Path = Path("var")

    # Sign-in
    auth_issuer: str = "vigil-local"
    auth_audience: str = "api://vigil"
    auth_jwks_url: str = ""  # Entra ID: https://login.microsoftonline.com/{tid}/discovery/v2.0/keys
    auth_algorithms: list[str] = Field(default_factory=lambda: ["RS256"])
    auth_leeway_seconds: int = 30

    # Bounds
    max_json_body_bytes: int = 256 * 1024
    max_page_size: int = 100
    default_page_size: int = 25

    # Azure records (Cosmos DB). Endpoint plus identity in Azure; a key only for the emulator.
    cosmos_endpoint: str = ""
    cosmos_key: str = ""
    cosmos_database_prefix: str = "vigil"
    cosmos_verify_tls: bool = True

    # Managed identity (user-assigned) client id for DefaultAzureCredential.
    azure_client_id: str = ""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read from the environment exactly once."""
    return Settings()
