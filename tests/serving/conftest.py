"""Small real corpora and saved model folders for the serving tests."""

from __future__ import annotations

import pytest

TEXTS = [
    "Lyft's revenue comes from fees charged to drivers and riders on its ridesharing platform.",
    "The company leases bikes and scooters in several cities through its micromobility business.",
    "Insurance reserves cover auto liability claims that arise while drivers carry passengers.",
    "Stock-based compensation expense grew because of restricted stock units granted to staff.",
    "The pandemic reduced the number of rides as cities ordered people to stay at home.",
    "Drivers are classified as independent contractors, which several lawsuits challenge.",
    "Lyft Autonomous partners with vehicle makers to test self-driving cars on its network.",
    "Cash and cash equivalents were held mostly in money market funds and treasury bills.",
    "The board of directors may issue preferred stock without a vote of the shareholders.",
    "Express Drive rents cars to drivers who lack a vehicle that meets the requirements.",
    "Marketing costs include brand campaigns, rider incentives and referral bonuses.",
    "Data privacy regulation such as the CCPA restricts how rider information may be used.",
]
QUERIES = [
    "How does Lyft make money?",
    "Who rents cars to drivers?",
    "Are drivers employees or contractors?",
    "What did the pandemic do to ride volume?",
    "Where is the company's cash invested?",
]


@pytest.fixture(scope="session")
def saved_model(tmp_path_factory, base_model):
    """all-MiniLM-L6-v2 saved by this sentence-transformers (its 6.x folder layout)."""
    folder = tmp_path_factory.mktemp("model") / "minilm"
    base_model.save(str(folder))
    return folder
