"""Statistics fixtures: the console's cheap argon2id parameters, for the page's sign-in."""

from __future__ import annotations

import pytest

from rectify.config import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"argon2_memory_kib": 1024, "argon2_time_cost": 1})
