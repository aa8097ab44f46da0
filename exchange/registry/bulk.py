"""Writing many new registry rows at once (the bulk import): households with their members, assets with the
collective's ownership right (确权登记), and contract rights (发包) on parcels registered in the same run.

The ORM's unit of work took most of a large import's time (about 60 % of 10^5 parcels), so these rows go in
with Core inserts, their ids reserved beforehand so that rows can point at each other. What is written is what
the operations write for one asset at a time: the same right numbers, the same ledger entries (built by
``operations.right_entry_data``), the same timeline events; and the rules engine checks each grant first. Only
new assets take this path; a contract on an asset registered earlier goes through ``operations`` as usual.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, func, insert, select, text

from exchange.db import db
from exchange.ledger_app.service import actor, record_many
from exchange.registry import operations, rules
from exchange.registry.models import (
    Collective, CollectiveAsset, Homestead, HolderType, Household, Parcel, RegistryEvent, Right, RightHolder, RightType,
)

ASSET_COLUMN = {Parcel: "parcel_id", Homestead: "homestead_id", CollectiveAsset: "asset_id"}
HOLDER_COLUMNS = ("household_id", "person_id", "organisation_id", "collective_id")


def reserve_ids(table: Table, count: int) -> list[int]:
    """Ids for ``count`` new rows of ``table``, taken before they are inserted.

    PostgreSQL hands them out from the table's sequence. On SQLite the rows after the largest id are free for
    as long as the transaction lasts: a write transaction holds the database's write lock (BEGIN IMMEDIATE)
    from its start, and the caller inserts the rows before it reserves again.
    """
    if count == 0:
        return []
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        return list(connection.scalars(
            text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)"),
            {"table": table.name, "count": count}))
    first = (connection.scalar(select(func.max(table.c.id))) or 0) + 1
    return list(range(first, first + count))


def insert_rows(table: Table, rows: list[dict[str, Any]]) -> None:
    """One executemany; every row has the same keys."""
    if rows:
        db.session.execute(insert(table), rows)


@dataclass(slots=True)
class NewAsset:
    """An asset to register: its model, its columns (``code``, ``division_id``, ``collective_id`` among them) and
    what its registration entry records about it (``importer.asset_data``)."""

    model: type
    row: dict[str, Any]
    collective: Collective
    data: dict[str, Any]
    id: int | None = None
    ownership_id: int | None = None
    ownership_number: str | None = None


@dataclass(slots=True)
class NewGrant:
    """A contract right over a parcel registered in the same run, to one household (share 1)."""

    parcel: NewAsset
    household: Household  # persistent, or an unsaved instance naming a household inserted in this run
    household_id: int
    start: date
    end: date
    contract_number: str


class BulkWriter:
    """Inserts assets, their ownership rights and contract grants, a batch at a time; the ledger entries are
    recorded in the order the rights are numbered (the caller holds a ``ledger_batch``)."""

    def __init__(self) -> None:
        self.account = actor().get("account")

    def register(self, assets: list[NewAsset], grants: list[NewGrant]) -> None:
        """Register ``assets`` (the collective's ownership right each) and then ``grants`` over them.

        The grants are checked by the rules engine before anything of the batch is written; a refusal raises
        ``RuleViolations`` (or ``DomainError``) and leaves the caller's savepoint to roll back.
        """
        for grant in grants:
            operations.check_term(grant.start, grant.end)
            rules.enforce(rules.Proposal(
                "grant_contract_right", asset=grant.parcel.model(code=grant.parcel.row["code"],
                                                                 collective=grant.parcel.collective),
                transferee=grant.household, start_date=grant.start, end_date=grant.end, shares=[Decimal(1)]))
        by_model: dict[type, list[NewAsset]] = {}
        for asset in assets:
            by_model.setdefault(asset.model, []).append(asset)
        for model, group in by_model.items():
            for asset, new_id in zip(group, reserve_ids(model.__table__, len(group))):
                asset.id = new_id
            insert_rows(model.__table__, [{"id": a.id, **a.row} for a in group])

        rights, holders, events, entries = [], [], [], []
        right_ids = iter(reserve_ids(Right.__table__, len(assets) + len(grants)))
        for asset in assets:
            asset.ownership_id = next(right_ids)
            asset.ownership_number = operations.right_number(RightType.ownership, asset.row["code"], 1)
            holder = operations.holder_ref(asset.collective)
            data = {"action": "register_asset",
                    **operations.right_entry_data(asset.ownership_number, RightType.ownership, [(holder, Decimal(1))]),
                    "asset": asset.data}
            self._right(rights, holders, events, entries, asset, asset.ownership_id, asset.ownership_number,
                        RightType.ownership, "collective_id", asset.collective.id, "register_asset", data,
                        {"right": asset.ownership_number, "asset": asset.data})
        for grant in grants:
            parcel, right_id = grant.parcel, next(right_ids)
            number = operations.right_number(RightType.contract, parcel.row["code"], 1)
            terms = {"contract_number": grant.contract_number}
            data = {"action": "grant_contract_right", **operations.right_entry_data(
                number, RightType.contract, [(operations.holder_ref(grant.household), Decimal(1))],
                start=grant.start, end=grant.end, mode="发包", derived_from=parcel.ownership_number, terms=terms)}
            self._right(rights, holders, events, entries, parcel, right_id, number, RightType.contract,
                        "household_id", grant.household_id, "grant_contract_right", data, {"right": number},
                        start=grant.start, end=grant.end, mode="发包", derived_from_id=parcel.ownership_id,
                        terms=terms)

        for index, right, event in zip(record_many(entries), rights, events):
            right["ledger_index"] = event["ledger_index"] = index
        insert_rows(Right.__table__, rights)
        insert_rows(RightHolder.__table__, holders)
        insert_rows(RegistryEvent.__table__, events)

    def _right(self, rights: list, holders: list, events: list, entries: list, asset: NewAsset, right_id: int,
               number: str, right_type: RightType, holder_column: str, holder_id: int, action: str, data: dict,
               summary: dict, *, start: date | None = None, end: date | None = None, mode: str | None = None,
               derived_from_id: int | None = None, terms: dict | None = None) -> None:
        column = ASSET_COLUMN[asset.model]
        on_asset = {name: (asset.id if name == column else None) for name in ASSET_COLUMN.values()}
        rights.append({
            "id": right_id, "number": number, "right_type": right_type, **on_asset,
            "division_id": asset.row["division_id"], "collective_id": asset.row["collective_id"],
            "derived_from_id": derived_from_id, "supersedes_id": None, "start_date": start, "end_date": end,
            "mode": mode, "permitted_use": None, "terms": terms or {}, "disputed": False, "ledger_index": -1})
        holders.append({"right_id": right_id, "holder_type": HolderType(holder_column.removesuffix("_id")),
                        "share": Decimal(1), **{name: (holder_id if name == holder_column else None)
                                                for name in HOLDER_COLUMNS}})
        events.append({"kind": "registration", "action": action, **on_asset, "right_id": right_id,
                       "ledger_index": -1, "account": self.account, "summary": summary})
        entries.append(("registration", [operations.subject(asset.model, asset.row["code"]),
                                         {"type": "right", "id": number}], data))
