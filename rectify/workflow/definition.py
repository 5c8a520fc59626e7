"""Workflow definitions as data: parse and check `workflows/*.yaml`, one version per file."""

from __future__ import annotations

import hashlib
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rectify.exceptions import ConfigurationError
from rectify.workflow import machine
from rectify.workflow.guards import GUARDS

ROLES = {"dispatcher", "inspector", "enterprise", "auditor", "admin", "system"}


class Region(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    field: str
    label: str
    initial: str
    final: list[str] = []
    states: dict[str, str]  # state -> Chinese label


class Transition(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    region: str
    source: list[str] = Field(alias="from")
    to: str | None = None
    when: dict[str, list[str]] = {}
    unless: dict[str, list[str]] = {}
    guards: list[str] = []
    payload: dict[str, Any] = {}


class GuardInfo(BaseModel):
    """What a guard is called for people and where its rule comes from."""

    model_config = ConfigDict(extra="forbid")

    label: str
    source: str


class Trigger(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str
    roles: list[str]
    source: str | None = None  # the law or procedure it follows ([ours] for a product default)
    creates: bool = False  # starts a history (report)
    internal: bool = False  # recorded by its own use case (an upload), never fired directly
    transitions: list[Transition]


class Definition(BaseModel):
    """One version of one workflow, validated against itself."""

    model_config = ConfigDict(extra="forbid")

    name: str
    version: int
    label: str
    regions: list[Region]
    guards: dict[str, GuardInfo] = {}  # label and source of each guard the transitions use
    triggers: dict[str, Trigger]
    content_hash: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Definition:
        regions = {r.name: r for r in self.regions}
        problems: list[str] = []
        for r in self.regions:
            for s in [r.initial, *r.final]:
                if s not in r.states:
                    problems.append(f"region {r.name}: unknown state {s}")
        for name, trig in self.triggers.items():
            problems += [f"{name}: unknown role {x}" for x in trig.roles if x not in ROLES]
            for t in trig.transitions:
                problems += _check_transition(name, t, regions)
                if self.guards:  # a file that describes its guards describes every one it uses
                    problems += [
                        f"{name}: guard {g} is not described under guards:"
                        for g in t.guards
                        if g not in self.guards
                    ]
        problems += [f"guards: unknown guard {g}" for g in self.guards if g not in GUARDS]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @cached_property
    def region_by_field(self) -> dict[str, Region]:
        return {r.field: r for r in self.regions}

    @property
    def key(self) -> tuple[str, int]:
        return (self.name, self.version)

    def initial_state(self) -> dict[str, str]:
        """The state of a newly reported hazard: every region at its initial state."""
        return {r.field: r.initial for r in self.regions}

    def label_of(self, field: str, state: str) -> str:
        return self.region_by_field[field].states[state]


def _check_transition(trigger: str, t: Transition, regions: dict[str, Region]) -> list[str]:
    if t.region not in regions:
        return [f"{trigger}: unknown region {t.region}"]
    region = regions[t.region]
    names = [*t.source, *([t.to] if t.to else [])]
    problems = [f"{trigger}: {t.region} has no state {s}" for s in names if s not in region.states]
    for other, states in {**t.when, **t.unless}.items():
        if other not in regions:
            problems.append(f"{trigger}: unknown region {other}")
            continue
        problems += [
            f"{trigger}: {other} has no state {s}" for s in states if s not in regions[other].states
        ]
    problems += [f"{trigger}: unknown guard {g}" for g in t.guards if g not in GUARDS]
    return problems


def load_definition(path: Path) -> Definition:
    """Read one workflow file; its content hash is what version pinning compares."""
    try:
        return _parse(path.read_bytes())
    except (yaml.YAMLError, ValidationError, ValueError) as exc:
        raise ConfigurationError(f"workflow file {path}: {exc}") from exc


@lru_cache(maxsize=16)
def _parse(raw: bytes) -> Definition:
    """The definition the bytes hold, checked by building its machine. Cached by content (a
    quarter of a second each: contexts built again, as tests do, share it); a definition is
    never changed after loading, and an edited file is other bytes."""
    definition = Definition.model_validate(yaml.safe_load(raw))
    machine.build(definition)  # transitions must be able to run it too
    return definition.model_copy(update={"content_hash": hashlib.sha256(raw).hexdigest()})


class Registry:
    """Every workflow definition version found in a folder, by (name, version)."""

    def __init__(self, definitions: list[Definition]) -> None:
        self._defs = {d.key: d for d in definitions}
        if len(self._defs) != len(definitions):
            raise ConfigurationError("two workflow files declare the same name and version")

    def get(self, name: str, version: int) -> Definition:
        try:
            return self._defs[(name, version)]
        except KeyError:
            raise ConfigurationError(f"workflow {name} v{version} is not deployed") from None

    def latest(self, name: str) -> Definition:
        versions = [d for (n, _), d in self._defs.items() if n == name]
        if not versions:
            raise ConfigurationError(f"no workflow named {name} in workflows/")
        return max(versions, key=lambda d: d.version)

    def all(self) -> list[Definition]:
        return sorted(self._defs.values(), key=lambda d: d.key)


def load_registry(folder: Path) -> Registry:
    """Load every `*.yaml` in the workflows folder."""
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise ConfigurationError(f"no workflow definitions in {folder}")
    return Registry([load_definition(f) for f in files])
