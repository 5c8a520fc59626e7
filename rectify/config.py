"""Settings: `config/settings.toml`, overridden by `RECTIFY_*` environment variables."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, IPvAnyNetwork
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

# The repository root: config/ and workflows/ sit beside the package (editable install).
ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = Path(os.environ.get("RECTIFY_CONFIG_DIR", ROOT / "config"))


class Settings(BaseSettings):
    """Everything the service reads at start-up; one instance per process."""

    model_config = SettingsConfigDict(
        env_prefix="RECTIFY_", toml_file=CONFIG_DIR / "settings.toml", extra="ignore"
    )

    data_dir: Path = Path("./data")
    database_url: str = ""
    policy_file: Path = Path("config/policy.toml")
    workflows_dir: Path = ROOT / "workflows"
    evidence_max_bytes: int = 20 * 1024 * 1024
    max_json_bytes: int = Field(default=1024 * 1024, ge=1024)
    # People: sessions, sign-in throttling and password hashing (docs/DECISIONS.md).
    https: bool = False
    session_idle_minutes: float = Field(default=480, gt=0)
    login_slowdown_after: int = Field(default=3, ge=1)
    login_slowdown_seconds: float = Field(default=2.0, ge=0)
    login_lockout_after: int = Field(default=10, ge=1)
    login_lockout_minutes: float = Field(default=15, ge=0)
    argon2_memory_kib: int = Field(default=65536, ge=8)
    argon2_time_cost: int = Field(default=3, ge=1)
    # The dispatcher's worklists (docs/DECISIONS.md, ours): "due soon" is a deadline within
    # this many days (issue 10 says 3); "awaiting verification too long" is a hazard waiting
    # longer than this since the enterprise confirmed (before the policy's 10-day
    # verification_due, so the office can chase the inspector before accountability starts).
    worklist_due_soon_days: float = Field(default=3, gt=0)
    worklist_verification_late_days: float = Field(default=7, gt=0)
    demo: bool = True
    host: str = "127.0.0.1"
    port: int = 8000
    scheduler: bool = True
    timer_interval_seconds: float = 0.5
    timer_batch: int = 500
    webhook_interval_seconds: float = 1.0
    webhook_allow_networks: list[IPvAnyNetwork] = []
    checkpoint_interval_seconds: float = Field(default=60.0, gt=0)
    # How far ahead a deadline given in a payload may lie (5 years; ours, not the law's).
    deadline_horizon_days: int = Field(default=1827, ge=1)
    # Holiday data, one file per year (loaded into the database at start-up when it lacks the
    # year or holds an older revision), and how often a process looks for a year loaded by
    # another process (`rectify calendar load`).
    calendar_dir: Path = Path("config/calendar")
    calendar_check_seconds: float = 10.0
    # 执法文书 (config/documents.toml): which step issues which document, numbers, wording,
    # fonts. Steps whose document two officers sign must name them (`officers`) unless this is
    # off (then the caller alone, or blank lines to fill in by hand). Pending documents are
    # rendered right after each commit and looked for every `documents_interval_seconds`.
    documents_file: Path = Path("config/documents.toml")
    documents_require_officers: bool = True
    documents_interval_seconds: float = Field(default=5.0, gt=0)
    # Repeat hazards (rectify.hazards.recurrence): a new hazard repeats one its enterprise
    # closed within this many days, at the same place or with a title this alike (difflib
    # ratio, 0-1). Both are our defaults, not the law's.
    recurrence_window_days: int = Field(default=365, ge=1)
    recurrence_title_similarity: float = Field(default=0.85, gt=0, le=1)
    # Import of hazard ledgers (POST /api/v1/hazards/import): the sheet's size and rows.
    import_max_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    import_max_rows: int = Field(default=200_000, ge=1)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @property
    def db_url(self) -> str:
        """The SQLAlchemy URL: the configured one, or SQLite under the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'rectify.db').resolve()}"

    @property
    def evidence_dir(self) -> Path:
        return self.data_dir / "evidence"

    @property
    def policy_path(self) -> Path:
        return self.policy_file if self.policy_file.is_absolute() else ROOT / self.policy_file

    @property
    def documents_path(self) -> Path:
        path = self.documents_file
        return path if path.is_absolute() else ROOT / path

    @property
    def documents_dir(self) -> Path:
        """Rendered documents, stored by content like evidence."""
        return self.data_dir / "documents"

    @property
    def calendar_path(self) -> Path:
        return self.calendar_dir if self.calendar_dir.is_absolute() else ROOT / self.calendar_dir
