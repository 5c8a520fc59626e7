"""Console fixtures: cheap argon2id parameters (the rule and the flow are what is tested; the
production cost is argon2-cffi's default) and one person per role."""

from __future__ import annotations

import pytest

from rectify.config import Settings
from tests.console.helpers import People, make_people
from tests.support import World


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"argon2_memory_kib": 1024, "argon2_time_cost": 1})


@pytest.fixture
def people(world: World) -> People:
    return make_people(world)
