"""Bulk import of NY/T 2539 registration data: the example set, both encodings, re-import, the bad set refused
with every bad row and nothing written, the CLI's exit codes, and the upload page for county accounts."""
from __future__ import annotations

import csv
import io
import json
import random
from datetime import date
from decimal import Decimal

import pytest
from flask import current_app
from sqlalchemy import select

from exchange.db import db
from exchange.divisions.models import Division, DivisionLevel
from exchange.identifiers import validate_uscc
from exchange.ledger_app.service import ledger_actor
from exchange.registry import importer, operations
from exchange.registry.importer import (
    _shape, geometry_area_m2, geometry_problem, import_directory, intersection_area, read_csv,
)
from exchange.registry.models import (
    Collective, CollectiveAsset, Homestead, Household, LandClass, Parcel, RegistryEvent, Right, RightType,
)
from ledger.storage import LedgerStore
from tests.conftest import csrf_token
from tests.registry_import.conftest import BAD, COUNTY_ACTOR, GOOD, audit_count, row_counts, zipped

FBF = "51172310420101"
EXPECTED_BAD_ROWS = {
    ("CBF.csv", 5, "CBFBM", "CODE-LENGTH"),  # a 17-digit 承包方编码
    ("CBF_JTCY.csv", 10, "CYZJHM", "ID-CHECK-DIGIT"),  # a resident ID with the wrong check character
    ("DK.csv", 5, "SCMJ", "AREA-MISMATCH"),  # SCMJ 20 % above the polygon's area
    ("DK.csv", 8, "DKBM", "DUPLICATE-CODE"),  # parcel 00002 twice
    ("DK.csv", 9, "DKBM", "UNKNOWN-FBF"),  # a parcel of 发包方 51172310420102, not in FBF.csv
    ("DK.geojson", 3, "geometry", "GEOMETRY-INVALID"),  # a bow-tie
    ("DK.geojson", 6, "geometry", "OVERLAP"),  # parcel 00006 moved onto parcel 00005
    ("CBHT.csv", 3, "CBQXZ", "TERM-ORDER"),  # a contract that ends before it starts
}


def clear_ids() -> list[str]:
    text = (GOOD / "CBF_JTCY.csv").read_bytes().decode("gb18030")
    return [row["CYZJHM"] for row in csv.DictReader(io.StringIO(text))]


def ledger_text(start: int, end: int) -> str:
    store = LedgerStore(current_app.config["LEDGER_ORIGIN"])
    return "\n".join(raw.decode() for _, raw in store.entries(db.session.connection(), start, end))


# --- the example set ---------------------------------------------------------------------------------------


def test_example_set_imports_everything_with_ledger_entries(app_ctx):
    before = row_counts()
    report = import_directory(GOOD, actor=COUNTY_ACTOR)
    assert report.ok, report.lines()
    assert report.created == {"divisions": 3, "collectives": 1, "households": 3, "persons": 9, "parcels": 6,
                              "contracts": 6, "homesteads": 2, "collective_assets": 3}
    assert report.unchanged["divisions"] == 1  # the county was there already
    after = row_counts()
    assert after["households"] - before["households"] == 3 and after["persons"] - before["persons"] == 9
    assert after["parcels"] - before["parcels"] == 6 and after["homesteads"] - before["homesteads"] == 2
    assert after["collective_assets"] - before["collective_assets"] == 3
    # one entry per collective and household, one per registered asset, one per contract right
    assert report.ledger_entries == 1 + 3 + 6 + 2 + 3 + 6 == after["ledger_entries"] - before["ledger_entries"]
    assert after["rights"] - before["rights"] == 6 + 2 + 3 + 6

    group = db.session.scalar(select(Division).where(Division.code == FBF))
    assert group.level == DivisionLevel.group and group.full_name == "开江县任市镇示范村一组"
    collective = db.session.scalar(select(Collective).where(Collective.division_id == group.id))
    assert validate_uscc(collective.credit_code) == collective.credit_code and collective.credit_code[:2] == "N1"
    assert [w.code for w in report.warnings] == ["CREDIT-CODE-DERIVED"]

    parcel = db.session.scalar(select(Parcel).where(Parcel.code == f"{FBF}00001"))
    assert parcel.name == "大田" and parcel.area_m2 == Decimal("1199.95") and parcel.land_class == LandClass.arable
    assert parcel.basic_farmland and parcel.collective_id == collective.id and parcel.division_id == group.id
    assert abs(geometry_area_m2(parcel.geometry) - 1199.95) < 1
    pond = db.session.scalar(select(Parcel).where(Parcel.code == f"{FBF}00006"))
    assert pond.land_class == LandClass.water and pond.land_use == "4"

    contract = db.session.scalar(select(Right).where(Right.parcel_id == parcel.id,
                                                     Right.right_type == RightType.contract))
    assert contract.holders[0].household.code == "511723104201010001"
    assert (contract.start_date, contract.end_date) == (date(1998, 1, 1), date(2057, 12, 31))
    assert contract.terms["contract_number"] == "511723104201010001J" and contract.derived_from.right_type == RightType.ownership
    third = db.session.scalar(select(Right).join(Parcel, Right.parcel_id == Parcel.id).where(
        Parcel.code == f"{FBF}00006", Right.right_type == RightType.contract))
    assert third.start_date == date(2003, 6, 1)  # written 2003/6/1 in CBHT.csv

    homestead = db.session.scalar(select(Homestead).where(Homestead.code == f"{FBF}J0001"))
    assert homestead.household.code == "511723104201010001" and homestead.house_structure == "砖混"
    land = db.session.scalar(select(CollectiveAsset).where(CollectiveAsset.code == "511723104201-ZC003"))
    assert land.details == {"planned_use": "商业服务业", "plot_ratio": 1.0} and land.status == "idle"


def test_resident_ids_are_encrypted_masked_and_never_in_the_ledger(app_ctx):
    size = row_counts()["ledger_entries"]
    assert import_directory(GOOD, actor=COUNTY_ACTOR).ok
    pii = current_app.extensions["pii"]
    household = db.session.scalar(select(Household).where(Household.code == "511723104201010002"))
    people = {p.name: p for p in household.members}
    assert set(people) == {"王建国", "刘桂兰", "王欣怡", "王子涵"}
    head = people["王建国"]
    assert head.relation == "户主" and people["刘桂兰"].relation == "配偶" and people["王欣怡"].relation == "女"
    assert head.sex == "1" and people["刘桂兰"].sex == "2" and head.birth_date == date(1958, 11, 20)
    numbers = clear_ids()
    assert pii.decrypt(head.id_number_encrypted) in numbers
    clear = pii.decrypt(head.id_number_encrypted)
    assert head.id_number_masked == clear[:6] + "********" + clear[-4:]
    assert head.id_number_hash == pii.lookup_hash(clear) and clear not in head.id_number_encrypted
    text = ledger_text(size, row_counts()["ledger_entries"])
    assert not any(number in text for number in numbers)
    assert head.id_number_hash in text and "王*国" in text and "王建国" not in text


def test_each_imported_right_is_recorded_as_the_operations_record_it(app_ctx):
    """The import writes its rows in bulk; every right's entry and timeline event still say what the registry
    row says, in the operations' own terms (number, holders, term, the right it derives from)."""
    size = row_counts()["ledger_entries"]
    assert import_directory(GOOD, actor=COUNTY_ACTOR).ok
    store = LedgerStore(current_app.config["LEDGER_ORIGIN"])
    entries = {index: json.loads(raw) for index, raw in store.entries(db.session.connection(), size,
                                                                       row_counts()["ledger_entries"])}
    rights = db.session.scalars(select(Right).where(Right.ledger_index >= size).order_by(Right.id)).all()
    assert len(rights) == 6 + 2 + 3 + 6
    for right in rights:
        entry = entries[right.ledger_index]
        asset = right.parcel or right.homestead or right.asset
        assert entry["kind"] == "registration" and entry["actor"] == COUNTY_ACTOR
        assert entry["subjects"] == [operations._subject(asset), {"type": "right", "id": right.number}]
        def shares_as_numbers(data: dict) -> dict:  # the row reads back 1.000000 where the entry wrote 1
            return {**data, "holders": [{**h, "share": Decimal(h["share"])} for h in data["holders"]]}
        recorded = {k: v for k, v in entry["data"].items() if k not in ("action", "asset")}
        assert shares_as_numbers(recorded) == shares_as_numbers(operations._right_data(right))
        event = db.session.scalar(select(RegistryEvent).where(RegistryEvent.right_id == right.id))
        assert (event.ledger_index, event.action, event.summary["right"]) == (
            right.ledger_index, entry["data"]["action"], right.number)
        assert event.account == "test-import" and (event.parcel_id, event.homestead_id, event.asset_id) == (
            right.parcel_id, right.homestead_id, right.asset_id)
        if right.right_type == RightType.contract:
            assert right.number == f"CB{asset.code}-001" and right.derived_from.number == f"SY{asset.code}-001"
            assert entry["data"]["holders"] == [{"type": "household", "id": right.holders[0].household.code,
                                                 "share": "1"}]
    homestead = db.session.scalar(select(Homestead).where(Homestead.code == f"{FBF}J0001"))
    ownership = db.session.scalar(select(Right).where(Right.homestead_id == homestead.id))
    assert entries[ownership.ledger_index]["data"]["asset"] == {
        "object": "homestead", "area_m2": "80.93", "house_floor_area_m2": "135.00", "structure": "砖混"}


def test_imported_rights_take_the_next_operations(app_ctx):
    """Rows written in bulk are ordinary rows afterwards: correcting an imported contract right numbers the new
    right -002, and new rows get ids of their own (on PostgreSQL the sequences moved on with the import)."""
    assert import_directory(GOOD, actor=COUNTY_ACTOR).ok
    parcel = db.session.scalar(select(Parcel).where(Parcel.code == f"{FBF}00003"))
    contract = db.session.scalar(select(Right).where(Right.parcel_id == parcel.id,
                                                     Right.right_type == RightType.contract))
    with ledger_actor(COUNTY_ACTOR):
        corrected = operations.correct_registration(contract, {"end_date": date(2057, 12, 30)}, "合同笔误")
        db.session.flush()
        new_parcel = Parcel(code=f"{FBF}00099", name="新开荒地", division=parcel.division, collective=parcel.collective,
                            area_m2=Decimal("500"), land_class=LandClass.arable, land_use="1", boundaries={},
                            geometry=parcel.geometry)
        ownership = operations.register_asset(new_parcel)
        db.session.flush()
    assert corrected.number == f"CB{parcel.code}-002" and corrected.supersedes_id == contract.id
    assert corrected.derived_from.number == f"SY{parcel.code}-001"
    assert new_parcel.id > parcel.id and ownership.id > corrected.id > contract.id
    assert ownership.number == f"SY{FBF}00099-001"


def test_a_contract_on_a_parcel_registered_earlier_goes_to_a_household_new_in_this_import(app_ctx, copy_of):
    """First the county loads the parcels without household 0003; a second import brings the household and its
    contract on parcel 00006, which was registered by the first."""
    first = copy_of()
    for name, keep in (("CBF.csv", "511723104201010003"), ("CBF_JTCY.csv", "511723104201010003"),
                       ("CBHT.csv", "511723104201010003"), ("CBDKXX.csv", f"{FBF}00006")):
        text, encoding = importer.decode((first / name).read_bytes())
        lines = [line for line in text.splitlines(keepends=True) if keep not in line]
        (first / name).write_bytes("".join(lines).encode(encoding))
    report = import_directory(first, actor=COUNTY_ACTOR)
    assert report.ok, report.lines()
    assert (report.created["households"], report.created["contracts"]) == (2, 5)
    again = import_directory(GOOD, actor=COUNTY_ACTOR)
    assert again.ok, again.lines()
    assert (again.created["households"], again.created["contracts"], again.created["parcels"]) == (1, 1, 0)
    parcel = db.session.scalar(select(Parcel).where(Parcel.code == f"{FBF}00006"))
    contract = db.session.scalar(select(Right).where(Right.parcel_id == parcel.id,
                                                     Right.right_type == RightType.contract))
    assert contract.holders[0].household.code == "511723104201010003"
    assert [p.name for p in contract.holders[0].household.members] == ["陈志强", "陈芳"]
    assert contract.number == f"CB{parcel.code}-001" and contract.start_date == date(2003, 6, 1)


def test_gb18030_and_utf8_files_are_both_read(app_ctx):
    raw = (GOOD / "CBF_JTCY.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    issues = []
    table = read_csv(GOOD / "CBF_JTCY.csv", "CBF_JTCY.csv", issues)
    assert not issues and table.encoding == "GB18030"
    assert table.rows[0][1]["CYXM"] == "张德明" and table.rows[0][0] == 2
    report = import_directory(GOOD, actor=COUNTY_ACTOR, dry_run=True)
    assert report.files["CBF_JTCY.csv"] == "GB18030" and report.files["CBF.csv"] == "UTF-8"


def test_reimporting_the_same_data_changes_nothing(app_ctx):
    first = import_directory(GOOD, actor=COUNTY_ACTOR)
    assert first.ok and first.ledger_entries == 21
    before = row_counts()
    again = import_directory(GOOD, actor=COUNTY_ACTOR)
    assert again.ok and again.ledger_entries == 0
    assert set(again.created.values()) == {0}
    assert again.unchanged == {"divisions": 4, "collectives": 1, "households": 3, "persons": 9, "parcels": 6,
                               "contracts": 6, "homesteads": 2, "collective_assets": 3}
    assert row_counts() == before


def test_dry_run_checks_and_writes_nothing(app_ctx):
    before = row_counts()
    report = import_directory(GOOD, actor=COUNTY_ACTOR, dry_run=True)
    assert report.ok and report.dry_run and report.created["parcels"] == 6
    assert row_counts() == before


# --- refusals ------------------------------------------------------------------------------------------------


def test_bad_set_is_refused_with_every_bad_row_and_nothing_written(app_ctx):
    before = row_counts()
    report = import_directory(BAD, actor=COUNTY_ACTOR)
    assert not report.ok
    assert {(i.file, i.line, i.field, i.code) for i in report.issues} == EXPECTED_BAD_ROWS
    for issue in report.issues:
        assert issue.message_zh and issue.message_en, issue
        assert issue.accepted_zh and issue.accepted_en, issue
    assert "510115********" in next(i.message_zh for i in report.issues if i.code == "ID-CHECK-DIGIT")
    assert not any(number in line for number in clear_ids() for line in report.lines())
    assert row_counts() == before and report.ledger_entries == 0


def test_data_conflicting_with_the_registry_is_a_bad_row(app_ctx, copy_of):
    assert import_directory(GOOD, actor=COUNTY_ACTOR).ok
    changed = copy_of()
    dk = (changed / "DK.csv").read_text(encoding="utf-8").replace(",秧田,", ",新秧田,")
    (changed / "DK.csv").write_text(dk, encoding="utf-8")
    before = row_counts()
    report = import_directory(changed, actor=COUNTY_ACTOR)
    assert [(i.file, i.line, i.field, i.code) for i in report.issues] == [("DK.csv", 3, "DKMC", "CONFLICT")]
    assert row_counts() == before


def test_data_outside_the_jurisdiction_is_refused(app_ctx):
    before = row_counts()
    report = import_directory(GOOD, actor={"role": "county", "division": "511724", "account": "elsewhere"})
    assert not report.ok and {i.code for i in report.issues} == {"OUTSIDE-JURISDICTION"}
    assert row_counts() == before


def test_contracts_to_another_collective_are_refused(app_ctx, copy_of):
    changed = copy_of()
    with (changed / "FBF.csv").open("a", encoding="utf-8") as f:
        f.write("51172310420102,示范村二组,,\n")
    cbdkxx = (changed / "CBDKXX.csv").read_text(encoding="utf-8")
    moved = cbdkxx.replace("5117231042010100006,51172310420101,", "5117231042010200001,51172310420102,")
    (changed / "CBDKXX.csv").write_text(moved, encoding="utf-8")
    dk = (changed / "DK.csv").read_text(encoding="utf-8").replace("5117231042010100006", "5117231042010200001")
    (changed / "DK.csv").write_text(dk, encoding="utf-8")
    geo = (changed / "DK.geojson").read_text(encoding="utf-8").replace("5117231042010100006", "5117231042010200001")
    (changed / "DK.geojson").write_text(geo, encoding="utf-8")
    report = import_directory(changed, actor=COUNTY_ACTOR)
    assert [i.code for i in report.issues] == ["LAND-OUTSIDER-CONTRACT"]


def test_household_codes_the_ledger_would_take_for_resident_ids_are_refused_before_writing():
    # digits 7–14 of this 承包方编码 read as 2012-05-01 and its check digit fits: the ledger refuses such entries
    lookalike = next(f"511723201205{g:02d}{h:04d}" for g in range(1, 10) for h in range(1, 100)
                     if importer.ledger_takes_for_resident_id(f"511723201205{g:02d}{h:04d}"))
    assert lookalike.startswith("51172320120")
    assert not importer.ledger_takes_for_resident_id("511723104201010001")


# --- geometry --------------------------------------------------------------------------------------------------


def square(x: float, y: float, side: float) -> dict:
    k = 1 / 111_320.0
    ring = [[x * k, y * k], [(x + side) * k, y * k], [(x + side) * k, (y + side) * k], [x * k, (y + side) * k],
            [x * k, y * k]]
    return {"type": "Polygon", "coordinates": [ring]}


def overlap(a: dict, b: dict) -> float:
    return intersection_area(_shape("a", a, 0.0), _shape("b", b, 0.0))


def test_overlap_area_of_simple_polygons():
    assert overlap(square(0, 0, 10), square(5, 5, 10)) == pytest.approx(25, rel=1e-6)
    assert overlap(square(0, 0, 10), square(10, 0, 10)) == pytest.approx(0, abs=1e-6)  # a shared edge
    k = 1 / 111_320.0
    ell = {"type": "Polygon", "coordinates": [[[0, 0], [20 * k, 0], [20 * k, 10 * k], [10 * k, 10 * k],
                                               [10 * k, 20 * k], [0, 20 * k], [0, 0]]]}  # an L: concave
    assert overlap(ell, square(12, 12, 6)) == pytest.approx(0, abs=1e-6)  # in the L's notch
    assert overlap(ell, square(5, 5, 10)) == pytest.approx(75, rel=1e-6)
    assert overlap(square(12, 12, 6), ell) == pytest.approx(0, abs=1e-6)
    holed = {"type": "Polygon", "coordinates": [square(0, 0, 30)["coordinates"][0], square(10, 10, 10)["coordinates"][0]]}
    assert overlap(holed, square(10, 10, 10)) == pytest.approx(0, abs=1e-6)  # inside the hole
    assert overlap(holed, square(5, 5, 10)) == pytest.approx(75, rel=1e-6)


def test_invalid_geometries_are_named():
    k = 1 / 111_320.0
    bow_tie = {"type": "Polygon", "coordinates": [[[0, 0], [10 * k, 10 * k], [10 * k, 0], [0, 10 * k], [0, 0]]]}
    assert "自相交" in geometry_problem(bow_tie)[0]
    open_ring = {"type": "Polygon", "coordinates": [[[0, 0], [k, 0], [k, k], [0, k]]]}
    assert "closed" in geometry_problem(open_ring)[1]
    projected = {"type": "Polygon", "coordinates": [[[36_500_000, 3_400_000], [36_500_010, 3_400_000],
                                                     [36_500_010, 3_400_010], [36_500_000, 3_400_000]]]}
    assert "Gauss-Krüger" in geometry_problem(projected)[1]
    assert "Point" in geometry_problem({"type": "Point", "coordinates": [1, 2]})[1]
    assert geometry_problem(square(0, 0, 10)) is None


# --- the demo goes through the same path ------------------------------------------------------------------------


def test_the_demo_county_was_loaded_through_the_importer(app_ctx, tmp_path):
    from exchange.demo.operations import DEMO_ACTOR, write_demo_files

    write_demo_files(tmp_path, random.Random(2026))
    before = row_counts()
    report = import_directory(tmp_path, actor=DEMO_ACTOR)
    assert report.ok, report.lines()[:20]
    assert set(report.created.values()) == {0}
    assert report.unchanged["parcels"] == 2646 and report.unchanged["contracts"] == 2646
    assert report.unchanged["persons"] == 1317 and report.unchanged["collective_assets"] == 45
    assert row_counts() == before


# --- the command line ------------------------------------------------------------------------------------------


def test_cli_imports_and_the_ledger_verifies(runner, app_ctx):
    before = row_counts()
    result = runner.invoke(args=["registry", "import", str(GOOD)])
    assert result.exit_code == 0, result.output
    assert "已导入" in result.output and "imported" in result.output
    assert row_counts()["parcels"] == before["parcels"] + 6
    verify = runner.invoke(args=["ledger", "verify"])
    assert verify.exit_code == 0, verify.output
    again = runner.invoke(args=["registry", "import", str(GOOD)])
    assert again.exit_code == 0 and "ledger entries 0" in again.output


def test_cli_refuses_bad_data_with_exit_status_1_and_lists_every_bad_row(runner, app_ctx):
    before, audited = row_counts(), audit_count()
    result = runner.invoke(args=["registry", "import", str(BAD)])
    assert result.exit_code == 1
    for file, line, field, code in EXPECTED_BAD_ROWS:
        location = f"{file}:{line}" if file.endswith(".csv") else f"{file} 第 {line} 个要素"
        assert f"{location}  {field}  [{code}]" in result.output, (file, line, code)
    assert "nothing was written" in result.output
    assert row_counts() == before and audit_count() == audited


def test_cli_dry_run_and_usage_errors(runner, app_ctx, tmp_path):
    before = row_counts()
    result = runner.invoke(args=["registry", "import", "--dry-run", str(GOOD)])
    assert result.exit_code == 0 and "dry run" in result.output
    assert row_counts() == before
    assert runner.invoke(args=["registry", "import", str(tmp_path / "missing")]).exit_code == 2
    empty = runner.invoke(args=["registry", "import", str(tmp_path)])
    assert empty.exit_code == 1 and "NO-FILES" in empty.output


# --- the upload page ------------------------------------------------------------------------------------------


def upload(client, data: bytes, dry_run: bool = False, name: str = "nyt2539.zip", query: str = ""):
    form = {"csrf_token": csrf_token(client, "/registry/import"), "archive": (io.BytesIO(data), name)}
    if dry_run:
        form["dry_run"] = "y"
    return client.post(f"/registry/import{query}", data=form, content_type="multipart/form-data")


def test_county_account_uploads_a_zip_and_sees_the_report(app, login_as):
    client = login_as("county")
    page = client.get("/registry/import")
    assert page.status_code == 200 and "导入确权登记数据" in page.get_data(as_text=True)
    response = upload(client, zipped(GOOD, folder="nyt2539/"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert 'data-testid="import-ok"' in html and "已导入" in html
    with app.app_context():
        assert db.session.scalar(select(Parcel).where(Parcel.code == f"{FBF}00001")) is not None
        size = row_counts()["ledger_entries"]
        entry = ledger_text(size - 1, size)
    assert '"account":"county"' in entry and '"division":"511723"' in entry
    again = upload(client, zipped(GOOD))
    assert again.status_code == 200 and "账本条目 0" in again.get_data(as_text=True)


def test_upload_of_the_bad_set_lists_every_bad_row_in_both_languages(app, login_as):
    client = login_as("county")
    with app.app_context():
        before = row_counts()
    response = upload(client, zipped(BAD))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'data-testid="import-refused"' in html and "未导入：8 处错误" in html
    for file, line, field, code in EXPECTED_BAD_ROWS:
        where = f"{file}:{line}" if file.endswith(".csv") else f"{file} 第 {line} 个要素"
        assert f"<code>{where}</code></td><td><code>{field}</code></td>" in html and code in html
    english = upload(client, zipped(BAD), query="?lang=en").get_data(as_text=True)
    assert "refused: 8 bad row(s); nothing was written" in english
    assert "DK.geojson feature 6" in english and "must be 18 digits" in english
    with app.app_context():
        assert row_counts() == before


def test_upload_dry_run_and_a_file_that_is_not_a_zip(app, login_as):
    client = login_as("county")
    with app.app_context():
        before = row_counts()
    dry = upload(client, zipped(GOOD), dry_run=True)
    assert dry.status_code == 200 and "试运行" in dry.get_data(as_text=True)
    not_zip = upload(client, b"FBFBM,FBFMC\n", name="FBF.zip")
    assert not_zip.status_code == 422 and "ZIP" in not_zip.get_data(as_text=True)
    wrong_type = upload(client, b"x", name="FBF.csv")
    assert wrong_type.status_code == 422
    with app.app_context():
        assert row_counts() == before


@pytest.mark.parametrize("username", ["village", "township", "bank", "bidder"])
def test_other_accounts_are_refused_the_upload_page(app, login_as, username):
    client = login_as(username)
    assert client.get("/registry/import").status_code == 403
    response = client.post("/registry/import", data={"csrf_token": csrf_token(client, "/"),
                                                     "archive": (io.BytesIO(zipped(GOOD)), "x.zip")},
                           content_type="multipart/form-data")
    assert response.status_code == 403
    with app.app_context():
        assert db.session.scalar(select(Parcel).where(Parcel.code == f"{FBF}00001")) is None


def test_anonymous_visitors_are_sent_to_log_in(client):
    assert client.get("/registry/import").status_code in (302, 401)
