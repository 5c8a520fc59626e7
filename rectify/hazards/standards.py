"""The industry standards for judging major hazards (config/major_hazard_standards.toml): what a
regrade's `basis` must name, with a clause."""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from rectify.config import CONFIG_DIR
from rectify.exceptions import ConfigurationError

__all__ = ["CLAUSE", "Standard", "find", "load_standards"]

CLAUSE = re.compile(r"第[一二三四五六七八九十百零〇0-9]+[条项款]|(?<![0-9.])[0-9]+(?:\.[0-9]+)+")
"""A clause: 第四条, 第（三）项 follows an article; or a numbered clause such as 4.1.2."""


class Standard(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str
    document: str
    aliases: tuple[str, ...] = ()
    note: str | None = None

    def named_in(self, text: str) -> bool:
        compact = text.replace(" ", "")
        names = (self.title, self.document, *self.aliases)
        return any(name.replace(" ", "") in compact for name in names)


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    standards: list[Standard]


def load_standards(path: Path) -> tuple[Standard, ...]:
    """The standards of a file; ConfigurationError naming the file when it is bad."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        standards = tuple(_File.model_validate(data).standards)
    except (OSError, tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ConfigurationError(f"major-hazard standards {path}: {exc}") from exc
    if len({s.id for s in standards}) != len(standards):
        raise ConfigurationError(f"major-hazard standards {path}: two share an id")
    return standards


@lru_cache(maxsize=1)
def _shipped() -> tuple[Standard, ...]:
    return load_standards(CONFIG_DIR / "major_hazard_standards.toml")


def find(basis: str) -> Standard | None:
    """The standard a basis names (the longest title first: 露天煤矿 before 煤矿), or None."""
    for standard in sorted(_shipped(), key=lambda s: -len(s.title)):
        if standard.named_in(basis):
            return standard
    return None


def titles() -> list[str]:
    """The standards' titles, for a message that says what to write."""
    return [s.title for s in _shipped()]
