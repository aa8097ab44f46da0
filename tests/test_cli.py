"""The command line: set-up, demo data, accounts."""
from __future__ import annotations

from sqlalchemy import func, select

from exchange.accounts.models import Account
from exchange.db import db
from exchange.divisions.models import Division, DivisionLevel
from exchange.registry.models import Collective, CollectiveAsset, Homestead, Household, Parcel, Person


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_demo_dataset_has_what_the_issue_promises(app_ctx):
    assert count(Division, Division.level == DivisionLevel.county) == 1
    assert count(Division, Division.level == DivisionLevel.township) >= 3
    assert count(Division, Division.level == DivisionLevel.village) >= 6
    assert count(Household) >= 300
    assert count(Person) >= count(Household)
    assert count(Parcel) >= 2000
    assert count(Homestead) >= 300
    assert count(CollectiveAsset) >= 6
    assert count(Collective) >= 6
    roles = set(db.session.scalars(select(Account.role)))
    assert {r.value for r in roles} == {"village", "township", "county", "bank", "bidder", "admin"}


def test_demo_parcels_have_valid_codes_and_polygons(app_ctx):
    for parcel in db.session.scalars(select(Parcel).limit(50)):
        assert len(parcel.code) == 19 and parcel.code.startswith(parcel.division.code)
        ring = parcel.geometry["coordinates"][0]
        assert parcel.geometry["type"] == "Polygon" and ring[0] == ring[-1] and len(ring) >= 4
        assert parcel.area_m2 > 0


def test_demo_load_is_idempotent(runner, app_ctx):
    before = count(Parcel)
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0
    assert "already loaded" in result.output
    assert "Demo@2026" in result.output
    assert count(Parcel) == before


def test_setup_and_demo_load_twice_keep_the_data(database_factory, tmp_path):
    from exchange import create_app

    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path), "DATABASE_URL": database_factory()})
    try:
        cli = app.test_cli_runner()
        assert cli.invoke(args=["setup"]).exit_code == 0
        assert cli.invoke(args=["demo", "load"]).exit_code == 0
        key = (tmp_path / "keys" / "pii.key").read_bytes()
        with app.app_context():
            parcels = count(Parcel)
        second = cli.invoke(args=["setup"])
        assert second.exit_code == 0, second.output
        assert "already loaded" in cli.invoke(args=["demo", "load"]).output
        with app.app_context():
            assert count(Parcel) == parcels
        assert (tmp_path / "keys" / "pii.key").read_bytes() == key
    finally:
        app.extensions["database"].engine.dispose()  # its pooled connections would otherwise outlive the test


def test_create_account_from_cli(runner, app_ctx):
    result = runner.invoke(args=["accounts", "create", "huilong", "--role", "township", "--name", "回龙镇农经站",
                                 "--division", "511723102", "--password", "long-enough-1"])
    assert result.exit_code == 0, result.output
    assert count(Account, Account.username == "huilong") == 1


def test_create_account_with_unknown_division_changes_nothing(runner, app_ctx):
    result = runner.invoke(args=["accounts", "create", "ghost", "--role", "village", "--name", "x",
                                 "--division", "511723999999", "--password", "long-enough-1"])
    assert result.exit_code != 0
    assert "511723999999" in result.output
    assert count(Account, Account.username == "ghost") == 0


def test_api_key_from_cli(runner, client):
    result = runner.invoke(args=["accounts", "api-key", "bank", "core banking"])
    secret = result.output.strip()
    assert secret.startswith("rpx_")
    assert client.get("/api/v1/me", headers={"X-API-Key": secret}).get_json()["username"] == "bank"
