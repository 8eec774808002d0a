"""Configuration: config.yml for everything, the environment for secrets and overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = REPO_ROOT / "config.yml"
SECRET_KEYS = ("token", "webhook_secret")


class ConfigError(Exception):
    """The configuration cannot be used; the message says which file and key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServiceSection(_Section):
    timezone: str = "Asia/Shanghai"
    data_dir: str = "var"


class HttpSection(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    max_body_bytes: int = Field(1 << 20, gt=0)


class DatabaseSection(_Section):
    url: str = "sqlite+aiosqlite:///var/data/service.db"
    # Connections kept open. Each chat handled at once holds one, so do the relay, the delivered
    # marks and the scheduler; a connection beyond the pool is opened and closed for one unit of
    # work (on PostgreSQL a new session each time, with its prepared statements lost).
    pool_size: int = Field(20, ge=1, le=200)


class RateLimitSection(_Section):
    per_chat_per_s: float = 1.0
    overall_per_s: float = 30.0
    per_group_per_min: float = 20.0


class TelegramSection(_Section):
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str | None = None
    mode: Literal["polling", "webhook"] = "polling"
    webhook_path: str = "/telegram/webhook"
    webhook_url: str | None = None
    poll_timeout_s: float = 10
    # aiohttp: our transport for PTB (bot.telegram.aiohttp_request), several times cheaper per call.
    # httpx: PTB's own; it reads HTTPS_PROXY from the environment, for a bot that needs a proxy.
    http_client: Literal["aiohttp", "httpx"] = "aiohttp"
    rate_limit: RateLimitSection = RateLimitSection()
    # Secrets: only ever filled from the environment.
    token: str | None = None
    webhook_secret: str | None = None

    @property
    def file_url(self) -> str:
        if self.base_file_url:
            return self.base_file_url
        base = self.base_url.rstrip("/")
        if base.endswith("/bot"):
            return base[: -len("/bot")] + "/file/bot"
        return base + "/file/bot"


class RasaSection(_Section):
    url: str = "http://127.0.0.1:5005"
    port: int = 5005
    timeout_s: float = 2.0


class NluSection(_Section):
    backend: Literal["embedded", "rasa"] = "embedded"
    model_dir: str = "var/models/nlu"
    low_confidence: float = Field(0.45, ge=0, le=1)
    rasa: RasaSection = RasaSection()


class VoiceSection(_Section):
    backend: Literal["whisper", "http", "none"] = "whisper"
    model_dir: str = "var/models/whisper-base"
    max_seconds: float = Field(120, gt=0)
    queue_size: int = Field(8, gt=0)
    url: str | None = None


class RelaySection(_Section):
    interval_s: float = Field(0.5, gt=0)
    batch_size: int = Field(50, gt=0)
    max_attempts: int = Field(12, gt=0)
    lease_s: float = Field(60, gt=0)
    reply_grace_s: float = Field(15, gt=0)  # a reply the channel has not confirmed is the relay's after this


class SchedulerSection(_Section):
    interval_s: float = Field(30, gt=0)


class AppConfig(_Section):
    service: ServiceSection = ServiceSection()
    http: HttpSection = HttpSection()
    database: DatabaseSection = DatabaseSection()
    telegram: TelegramSection = TelegramSection()
    nlu: NluSection = NluSection()
    voice: VoiceSection = VoiceSection()
    relay: RelaySection = RelaySection()
    scheduler: SchedulerSection = SchedulerSection()

    def resolve(self, path: str) -> Path:
        """A path from the config, relative to the repository root unless absolute."""
        p = Path(path)
        return p if p.is_absolute() else REPO_ROOT / p


class EnvOverrides(BaseSettings):
    """The environment variables the service reads. Empty strings count as unset."""

    model_config = SettingsConfigDict(env_ignore_empty=True, extra="ignore", case_sensitive=True)

    TELEGRAM_TOKEN: str | None = None
    TELEGRAM_WEBHOOK_SECRET: str | None = None
    TELEGRAM_BASE_URL: str | None = None
    TELEGRAM_BASE_FILE_URL: str | None = None
    TELEGRAM_MODE: Literal["polling", "webhook"] | None = None
    DATABASE_URL: str | None = None
    HTTP_PORT: int | None = None
    HTTP_HOST: str | None = None
    NLU_BACKEND: Literal["embedded", "rasa"] | None = None
    CONFIG_FILE: str | None = None


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as e:
        raise ConfigError(f"{path}: file not found") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    telegram = data.get("telegram") or {}
    for key in SECRET_KEYS:
        if isinstance(telegram, dict) and telegram.get(key):
            raise ConfigError(f"{path}: telegram.{key} is a secret; set it in the environment instead")
    return data


def load_config(path: Path | None = None, env: dict[str, str] | None = None) -> AppConfig:
    """Read config.yml, then apply the environment. `env` replaces os.environ in tests."""
    overrides = EnvOverrides(**env) if env is not None else EnvOverrides()  # type: ignore[arg-type]
    path = path or Path(overrides.CONFIG_FILE or DEFAULT_CONFIG)
    data = _read_yaml(path)
    try:
        cfg = AppConfig.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path}: {where}: {first['msg']}") from e
    tg = cfg.telegram
    if overrides.TELEGRAM_TOKEN:
        tg.token = overrides.TELEGRAM_TOKEN
    if overrides.TELEGRAM_WEBHOOK_SECRET:
        tg.webhook_secret = overrides.TELEGRAM_WEBHOOK_SECRET
    if overrides.TELEGRAM_BASE_URL:
        tg.base_url = overrides.TELEGRAM_BASE_URL
        if not overrides.TELEGRAM_BASE_FILE_URL:
            tg.base_file_url = None  # derive it from the new base URL
    if overrides.TELEGRAM_BASE_FILE_URL:
        tg.base_file_url = overrides.TELEGRAM_BASE_FILE_URL
    if overrides.TELEGRAM_MODE:
        tg.mode = overrides.TELEGRAM_MODE
    if overrides.DATABASE_URL:
        cfg.database.url = overrides.DATABASE_URL
    if overrides.HTTP_PORT is not None:
        cfg.http.port = overrides.HTTP_PORT
    if overrides.HTTP_HOST:
        cfg.http.host = overrides.HTTP_HOST
    if overrides.NLU_BACKEND:
        cfg.nlu.backend = overrides.NLU_BACKEND
    if tg.mode == "webhook" and tg.token and not tg.webhook_secret:
        raise ConfigError("webhook mode needs TELEGRAM_WEBHOOK_SECRET in the environment")
    return cfg
