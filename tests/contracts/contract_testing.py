"""Constants and helpers the contract tests share (the fixtures are in conftest.py)."""
from __future__ import annotations

import shutil
import subprocess
from datetime import date

import pytest

TODAY = date(2026, 11, 1)  # "today" for the checks, so that the tests do not age


def run(*args: str) -> str:
    """Run a poppler tool and return its output."""
    if not shutil.which(args[0]):
        pytest.fail(f"{args[0]} is missing: run `make test`, which installs poppler-utils "
                    "(scripts/system-deps.sh test)")
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def land_input(**overrides) -> dict:
    """The JSON terms of a land management-right transfer, without the database: 2000 m² (3.00 亩) leased for
    ten years from 2027 at 650 yuan per 亩 per year, paid yearly by 31 January."""
    data = {
        "kind": "land_management_transfer",
        "transferor": {"name": "王建明", "kind": "household", "id_masked": "511723100200010001",
                       "address": "开江县新宁镇金山村一组1号"},
        "transferee": {"name": "开江县绿源家庭农场", "kind": "organisation", "id_masked": "92511723MA6F000000",
                       "address": "开江县新宁镇"},
        "issuer": "金山村股份经济合作联合社",
        "asset": {"code": "5117231002000100001", "name": "大田", "location": "开江县新宁镇金山村一组",
                  "area_m2": "2000.00", "quality_grade": "二等地", "land_use": "水田",
                  "boundaries": {"east": "沟", "south": "路", "west": "田", "north": "坎"}},
        "start": "2027-01-01", "end": "2036-12-31", "permitted_use": "1", "use_description": "水稻、油菜种植",
        "price_kind": "rent", "rent_basis": "per_mu", "amount": "650.00",
        "payment": {"period_months": 12, "first_due": "2027-01-31"},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


def land_terms(**overrides):
    from contracts import TermsSchema

    return TermsSchema().load(land_input(**overrides))
