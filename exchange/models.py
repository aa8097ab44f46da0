"""Imports every model module so that Base.metadata knows all tables (Alembic, create_all in tools)."""
from __future__ import annotations

from exchange.accounts import models as _accounts  # noqa: F401
from exchange.audit import models as _audit  # noqa: F401
from exchange.certificates import models as _certificates  # noqa: F401
from exchange.collateral import models as _collateral  # noqa: F401
from exchange.collectives import models as _collectives  # noqa: F401
from exchange.db import Base
from exchange.divisions import models as _divisions  # noqa: F401
from exchange.registry import models as _registry  # noqa: F401
from exchange.transfers import models as _transfers  # noqa: F401


def all_metadata():
    """The app's tables and the ledger's (which lives in its own package, on SQLAlchemy Core)."""
    from ledger.storage import metadata as ledger_metadata

    return [Base.metadata, ledger_metadata]
