"""Demo for the exchange: the three bidder accounts' profiles, and one household's contract land in 金山村 listed
by the village and approved by the township, so the board has a notice and the README walkthrough can begin."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from exchange.accounts.models import Account
from exchange.db import db
from exchange.demo.data import ORGANISATIONS, organisation_credit_code
from exchange.registry.models import Collective, Household, Right, RightHolder, RightType
from exchange.transfers import operations as exchange

DEMO_VILLAGE = "511723100200"  # 金山村


def _account(username: str) -> Account:
    return db.session.scalar(select(Account).where(Account.username == username))


def demo_rights() -> tuple[Household, Right]:
    """A 金山村 household and a contract right of another 金山村 household that is free to list (not frozen,
    not pledged, nothing derived from it)."""
    collective = db.session.scalar(select(Collective).join(Collective.division)
                                   .where(Collective.division.has(code=DEMO_VILLAGE)))
    households = db.session.scalars(select(Household).where(Household.collective_id == collective.id)
                                    .order_by(Household.code)).all()
    from exchange.transfers.models import Listing

    listed_ids = {r.derived_from_id for r in db.session.scalars(select(Right).where(Right.derived_from_id.is_not(None)))}
    listed_ids |= set(db.session.scalars(select(Listing.right_id)))
    for household in households[2:]:
        for right in db.session.scalars(select(Right).join(RightHolder).where(
                RightHolder.household_id == household.id, Right.right_type == RightType.contract,
                Right.ended_at.is_(None)).order_by(Right.number)):
            if right.id not in listed_ids and not right.active_freezes() and not right.active_pledges():
                return households[1], right
    raise RuntimeError("no free contract right in the demo village")


def load_exchange_demo() -> dict[str, int]:
    member_household, right = demo_rights()
    codes = {kind: organisation_credit_code(prefix, serial) for _name, kind, prefix, serial in ORGANISATIONS}
    exchange.save_profile(_account("bidder"), party_kind="organisation", credit_code=codes["family_farm"],
                          farming_capacity="家庭农场，经营水稻 300 亩，拖拉机 2 台、收割机 1 台，常年雇工 4 人",
                          contact="0818-8221001", address="四川省达州市开江县普安镇金山村 3 组")
    exchange.save_profile(_account("bidder2"), party_kind="organisation", credit_code=codes["company"],
                          farming_capacity="农业公司，生态稻渔综合种养基地 1200 亩，农技人员 6 人", contact="0818-8221002",
                          address="四川省达州市开江县新宁镇东街 18 号")
    exchange.save_profile(_account("member"), party_kind="household", household_code=member_household.code,
                          farming_capacity="本村种粮户，自有微耕机 1 台，家庭劳力 3 人")
    village, township = _account("village"), _account("township")
    year = date.today().year
    listing = exchange.submit_listing(
        village, right=right, kind="land_management_transfer", mode="出租", reserve_price="650.00",
        price_unit="per_year", start_date=date(year + 1, 1, 1), end_date=date(year + 10, 12, 31),
        permitted_use="1", payment_terms="租金按年支付，每年 1 月 31 日前付清当年租金",
        bidder_conditions="具有农业经营能力，不得改变土地农业用途",
        documents={"household_consent": "金山村委托书（2026）第 12 号", "filed_with_collective": True})
    exchange.accept(township, listing, listing.version)
    exchange.approve(township, listing, listing.version)
    return {"bidder_profiles": 3, "listings": 1}
