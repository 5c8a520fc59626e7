"""Documents fixtures: the officers rule on (as shipped), two enforcement officers with
certificate numbers (执法证号) in the home district, and helpers to render and read PDFs."""

from __future__ import annotations

import pytest

from rectify.config import Settings
from tests.documents.helpers import Officers, make_officers
from tests.support import World


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "documents_require_officers": True,
            "argon2_memory_kib": 1024,
            "argon2_time_cost": 1,
        }
    )


@pytest.fixture
def officers(world: World) -> Officers:
    return make_officers(world)
