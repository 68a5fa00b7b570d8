"""Operator settings: `KASSA_*` environment variables over an optional `kassa.toml`."""

from __future__ import annotations

import ipaddress
import os
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_CONFIG_FILE = "kassa.toml"


class TokenSettings(BaseModel):
    """An operator-configured token on one network (e.g. a local chain's test token).

    `address` is in the network's own format; the plugin that provides the network's tokens
    validates it at startup.
    """

    model_config = ConfigDict(extra="forbid")

    symbol: str = Field(pattern=r"^[A-Za-z0-9.]{1,16}$")
    address: str = Field(min_length=1, max_length=128)
    decimals: int = Field(ge=0, le=77)
    name: str = ""
    display_decimals: int | None = Field(
        default=None,
        ge=0,
        le=77,
        description="Decimal places a payment amount carries (rounded up; 2 for a USD "
        "stablecoin); all `decimals` when absent.",
    )


class PluginSetting:
    """One value of a plugin's part of a network's settings. It may be a secret (an RPC URL
    carrying an API key, a signing key) that only the plugin can tell apart, so it never
    shows in a repr, an error or a log; the plugin unwraps it in `plugin_fields()`."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value: Any = value.value if isinstance(value, PluginSetting) else value

    def __repr__(self) -> str:
        return "PluginSetting('**********')"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PluginSetting) and other.value == self.value

    def __hash__(self) -> int:
        return hash(repr(self.value))


class NetworkSettings(BaseModel):
    """One enabled network: `[networks.KEY]` in kassa.toml or `KASSA_NETWORKS__KEY__...`.

    The fields here mean the same on every chain and the core applies them. Everything else
    in the block (RPC URLs, contract addresses, keys …) belongs to the plugin that provides
    the network: it validates the whole block with its own model (a subclass of this one that
    forbids unknown fields) and fails startup with a clear message.
    """

    model_config = ConfigDict(extra="allow")

    confirmations: int | None = Field(
        default=None, ge=1, description="Overrides the network's default confirmation count."
    )
    finality: Literal["confirmations", "finalized", "both"] | None = Field(
        default=None,
        description="confirmations (depth), finalized (the node's tag) or both; plugin default.",
    )
    tokens: list[TokenSettings] = Field(default_factory=list)
    fee_basis_points: int = Field(
        default=0,
        ge=0,
        le=10_000,
        description="Gateway fee on top of each payment (the network must be able to pay it).",
    )
    poll_interval_seconds: float | None = Field(default=None, gt=0)
    start_block: int | None = Field(
        default=None, ge=0, description="Where a fresh watcher starts (default: near the head)."
    )

    @model_validator(mode="after")
    def _hide_plugin_fields(self) -> NetworkSettings:
        extra = self.__pydantic_extra__
        if extra:
            for name, value in extra.items():
                extra[name] = PluginSetting(value)
        return self

    def plugin_fields(self) -> dict[str, Any]:
        """Every field as set (core ones included), for a plugin's own settings model."""
        extra = self.model_extra or {}
        core = self.model_dump(exclude_unset=True, exclude=set(extra))
        return {**core, **{name: PluginSetting(value).value for name, value in extra.items()}}


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
    secret_key_file: Path | None = Field(
        default=None,
        description="Where the operator secret is kept when secret_key is empty; `kassa migrate` "
        "creates it (mode 0600). SQLite default: .kassa/secret_key beside the database.",
    )
    log_level: str = "INFO"
    dev_mode: bool = Field(
        default=False,
        description="Set by `kassa dev`: enables the devnet test-wallet button. Not in production.",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Reverse proxies (CIDRs, e.g. 127.0.0.1/32) whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed; empty: the peer address is the client.",
    )
    checkout_payments_per_session_burst: int = Field(default=5, ge=1)
    checkout_payments_per_session_refill_seconds: float = Field(
        default=30.0, gt=0, description="One more payment attempt per session every this long."
    )
    checkout_payments_per_ip_burst: int = Field(default=20, ge=1)
    checkout_payments_per_ip_refill_seconds: float = Field(
        default=6.0, gt=0, description="One more payment attempt per client IP every this long."
    )
    checkout_previews_per_ip_burst: int = Field(default=30, ge=1)
    checkout_previews_per_ip_refill_seconds: float = Field(
        default=2.0, gt=0, description="One more price preview per client IP every this long."
    )
    checkout_streams_per_session: int = Field(
        default=5, ge=1, description="Live status streams one session may hold in each process."
    )
    checkout_streams_per_ip: int = Field(
        default=20, ge=1, description="Live status streams one client IP may hold in each process."
    )
    api_requests_per_second: float = Field(
        default=100.0, gt=0, description="Sustained API requests per key, all processes together."
    )
    api_requests_burst: int = Field(
        default=200, ge=1, description="Requests a key may make at once before the rate applies."
    )
    dashboard_idle_minutes: float = Field(
        default=30.0, gt=0, description="A dashboard sign-in ends after this long unused."
    )
    dashboard_absolute_hours: float = Field(
        default=12.0, gt=0, description="A dashboard sign-in ends this long after it began."
    )
    smtp_url: str = Field(
        default="",
        description="smtp://user:password@host:port (or smtps://) for refund claim e-mails; "
        "empty: the merchant shares the claim link themselves.",
    )
    smtp_from: str = Field(default="", description="The From address of Kassa's e-mails.")
    expiry_interval_seconds: float = Field(default=5.0, gt=0)
    run_background_loops: bool = Field(
        default=True, description="Run watchers, expiry and delivery loops inside `kassa serve`."
    )
    webhooks_allow_private_targets: bool = Field(
        default=False,
        description="Let test-mode webhook endpoints target private/loopback addresses (dev).",
    )
    webhook_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    webhook_timeout_seconds: float = Field(
        default=15.0, gt=0, description="Whole attempt: resolve, connect, send, read headers."
    )
    webhook_concurrency: int = Field(
        default=128, ge=1, le=1024, description="Deliveries in flight per worker process."
    )
    webhook_endpoint_concurrency: int = Field(
        default=16, ge=1, description="In-flight deliveries per endpoint (one slow URL can't hog)."
    )
    webhook_lease_seconds: float = Field(
        default=60.0, gt=0, description="A claim older than this is retaken (its worker died)."
    )
    webhook_poll_interval_seconds: float = Field(default=0.25, gt=0)
    events_retention_days: int = Field(default=30, ge=1)
    idempotency_retention_hours: int = Field(default=24, ge=24)
    idempotency_wait_seconds: float = Field(
        default=10.0,
        ge=0,
        description="How long a request waits for an in-flight twin with the same key before 409.",
    )

    plugins: list[str] | None = Field(
        default=None,
        description="Allow-list of plugin entry points to load (default: all installed).",
    )
    networks: dict[str, NetworkSettings] = Field(
        default_factory=dict, description="Enabled networks by key, as their plugins name them."
    )
    fixed_rates: dict[str, Decimal] = Field(
        default_factory=dict,
        description='Operator price pegs, e.g. {"XYZ/USD": "2000"} (local chains, stablecoins).',
    )
    coingecko_enabled: bool = False
    coingecko_url: str = "https://api.coingecko.com/api/v3"
    ecb_enabled: bool = Field(
        default=True,
        description="Fiat cross rates from the European Central Bank's daily reference rates "
        "(the `fiat` plugin), so e.g. a USD stablecoin pays a GBP session.",
    )
    ecb_url: str = Field(
        default="https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml",
        description="Where the ECB's daily table is fetched (a mirror or proxy may serve it).",
    )
    ecb_refresh_seconds: float = Field(
        default=3600.0, gt=0, description="How long a fetched ECB table is used before refetching."
    )
    ecb_max_age_seconds: float = Field(
        default=5 * 86400.0,
        gt=0,
        description="How old an ECB table (from its publication day) may be before it is refused; "
        "it is published on TARGET working days only, and Easter closes four days in a row.",
    )
    quote_cache_max_age_seconds: float = Field(
        default=600.0, ge=0, description="How old a cached rate may be when a source is down."
    )
    payment_window_seconds: int = Field(
        default=900, ge=60, description="How long a payment intent is valid (chain time)."
    )
    watcher_reorg_window: int = Field(
        default=256, ge=2, description="Recent block hashes kept per network for reorg walk-back."
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for cidr in value:
            ipaddress.ip_network(cidr, strict=False)  # ValueError names the bad entry
        return value

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
