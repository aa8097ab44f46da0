"""Fixtures for the NY/T 2539 import: the example sets and counts of everything an import may write."""
from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from exchange.audit.models import AuditEvent
from exchange.db import db
from exchange.divisions.models import Division
from exchange.registry.models import (
    Collective, CollectiveAsset, Homestead, Household, Parcel, Person, RegistryEvent, Right, RightHolder,
)
from ledger.storage import entries as ledger_entries

DATA = Path(__file__).resolve().parent.parent / "data"
GOOD = DATA / "nyt2539"
BAD = DATA / "nyt2539_bad"
COUNTY_ACTOR = {"role": "county", "division": "511723", "account": "test-import"}
TABLES = (Division, Collective, Household, Person, Parcel, Homestead, CollectiveAsset, Right, RightHolder,
          RegistryEvent)


def row_counts() -> dict[str, int]:
    """Rows in every table an import writes to, and the ledger's size."""
    counts = {model.__tablename__: db.session.scalar(select(func.count()).select_from(model)) for model in TABLES}
    counts["ledger_entries"] = db.session.scalar(select(func.count()).select_from(ledger_entries))
    return counts


def audit_count() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent))


def zipped(directory: Path, folder: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.iterdir()):
            archive.write(path, f"{folder}{path.name}")
    return buffer.getvalue()


@pytest.fixture
def copy_of(tmp_path):
    """A writable copy of an example set, to edit one value in a test."""
    def _copy(source: Path = GOOD) -> Path:
        target = tmp_path / source.name
        shutil.copytree(source, target)
        return target
    return _copy
