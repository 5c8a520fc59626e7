"""Reading /metrics in tests: samples by name and labels, and deltas around an action."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.support import World

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(world: World) -> Samples:
    """GET /metrics (no token) and parse it as a Prometheus scraper would."""
    r = world.client.get("/metrics")
    assert r.status_code == 200, r.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(r.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; a labelled series not yet seen counts as 0."""
    return samples.get((name, frozenset(labels.items())), 0.0)
