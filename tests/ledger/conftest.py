"""Fixtures for the stand-alone ledger package's tests: fresh ledger databases on the backend under test."""
from __future__ import annotations

import pytest

from tests.ledger.ledger_testing import new_ledger


@pytest.fixture
def ledger_engine(database_factory):
    """An engine on a new, empty database holding only the ledger tables and their triggers."""
    engine = new_ledger(database_factory())
    yield engine
    engine.dispose()
