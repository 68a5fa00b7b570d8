"""Operator settings: `KASSA_*` environment variables over an optional `kassa.toml`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_CONFIG_FILE = "kassa.toml"


class Settings(BaseSettings):
    """Everything an operator can set. Environment wins over `kassa.toml`."""

    model_config = SettingsConfigDict(
        env_prefix="KASSA_",
        env_nested_delimiter="__",
        extra="forbid",
        toml_file=DEFAULT_CONFIG_FILE,
    )

    database_url: str = Field(
        default="sqlite://kassa.db",
        description="Tortoise URL: sqlite://PATH (embedded default) or postgres://USER@HOST/DB.",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    public_url: str = Field(
        default="",
        description="Base URL shoppers reach the checkout at; defaults to http://HOST:PORT.",
    )
    secret_key: SecretStr = Field(
        default=SecretStr(""),
        description="Operator secret used to encrypt webhook secrets at rest.",
    )
    log_level: str = "INFO"
    expiry_interval_seconds: float = Field(default=5.0, gt=0)
    run_background_loops: bool = Field(
        default=True, description="Run watchers, expiry and delivery loops inside `kassa serve`."
    )
    webhooks_allow_private_targets: bool = False
    idempotency_retention_hours: int = Field(default=24, ge=24)
    idempotency_wait_seconds: float = Field(
        default=10.0,
        ge=0,
        description="How long a request waits for an in-flight twin with the same key before 409.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = Path(os.environ.get("KASSA_CONFIG_FILE", DEFAULT_CONFIG_FILE))
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_path),
        )

    @property
    def base_url(self) -> str:
        """Where shoppers and merchants reach this gateway, without a trailing slash."""
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.host}:{self.port}"


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment and `kassa.toml`; keyword overrides win."""
    return Settings(**overrides)
