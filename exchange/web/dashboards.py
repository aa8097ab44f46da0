"""What each role sees first: its jurisdiction, the figures in it, and what it can do."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from exchange.accounts.models import ROLE_NAMES, Account, Role
from exchange.db import db
from exchange.divisions.models import Division
from exchange.registry.models import CollectiveAsset, Homestead, Household, Parcel

ROLE_TITLES = {
    Role.village: _l("村集体经济组织工作台"),
    Role.township: _l("乡镇农经站工作台"),
    Role.county: _l("县农村产权交易中心工作台"),
    Role.bank: _l("金融机构工作台"),
    Role.bidder: _l("竞买人工作台"),
    Role.admin: _l("平台管理工作台"),
}



@dataclass
class Action:
    label: str
    description: str
    url: str | None = None


@dataclass
class Dashboard:
    title: str
    role_name: str
    jurisdiction: str | None
    figures: list[tuple[str, int]] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)


def _count_in(model, division: Division) -> int:
    return db.session.scalar(
        select(func.count()).select_from(model).join(Division, model.division_id == Division.id)
        .where(Division.code.startswith(division.code))
    )


def dashboard_for(account: Account) -> Dashboard:
    board = Dashboard(
        title=str(ROLE_TITLES[account.role]),
        role_name=str(ROLE_NAMES[account.role]),
        jurisdiction=account.division.full_name if account.division else account.institution,
    )
    if account.role.is_staff:
        division = account.division
        board.figures = [
            (str(_l("农户")), _count_in(Household, division)),
            (str(_l("承包地块")), _count_in(Parcel, division)),
            (str(_l("宅基地")), _count_in(Homestead, division)),
            (str(_l("集体资产")), _count_in(CollectiveAsset, division)),
        ]
        board.actions.append(Action(str(_l("辖区与台账")), str(_l("查看辖区内的乡镇、村、组及其登记数据。")),
                                    url_for("divisions.show", code=division.code)))
    actions = {
        Role.village: [
            (_l("登记资产与权利"), _l("登记本村的地块、宅基地和集体资产，录入成员名册。")),
            (_l("提交挂牌申请"), _l("为集体或农户提交流转挂牌申请，附成员（代表）会议决议。")),
        ],
        Role.township: [
            (_l("审核挂牌申请"), _l("审核本乡镇各村提交的挂牌和流转申请，通过或说明理由退回。")),
            (_l("合同备案"), _l("提供示范合同文本，登记流转合同备案。")),
        ],
        Role.county: [
            (_l("交易组织"), _l("发布公告，组织竞价，公示结果，出具交易鉴证书。")),
            (_l("竞买人资格审查"), _l("审查企业和工商资本的准入资格。")),
        ],
        Role.bank: [
            (_l("核验鉴证书"), _l("在线或离线核验交易鉴证书和他项权利状态。")),
            (_l("抵押登记"), _l("申请、登记、解除抵押，违约时申请处置。")),
        ],
        Role.bidder: [
            (_l("浏览交易公告"), _l("查看正在公告的项目，报名参与竞买。")),
            (_l("我的竞买"), _l("查看保证金、出价和合同。")),
        ],
        Role.admin: [
            (_l("账户管理"), _l("创建账户，分配角色和管辖范围。")),
        ],
    }[account.role]
    board.actions.extend(Action(str(label), str(description)) for label, description in actions)
    if account.role in (Role.bank, Role.township, Role.county):
        mortgage = next(a for a in board.actions if a.label == str(_l("抵押登记"))) if account.role == Role.bank else None
        if mortgage:
            mortgage.url = url_for("collateral.index")
        else:
            board.actions.append(Action(str(_l("抵押登记")), str(_l("登记、不予登记辖区内银行的抵押申请。")),
                                        url_for("collateral.index")))
        board.actions.append(Action(str(_l("股权质押")), str(_l("以农户持有的集体资产股份出质：申请、登记、解除。")),
                                    url_for("collectives.share_pledges_page")))
    if account.role in (Role.township, Role.county, Role.admin):
        board.actions.append(Action(str(_l("审计日志")), str(_l("查看工作人员操作记录和被拒绝的越权操作。")),
                                    url_for("web_audit.index")))
    if account.role == Role.admin:
        board.actions[0].url = url_for("accounts.index")
    if account.role.is_staff:
        board.actions.append(Action(str(_l("权利登记簿")), str(_l("按地块编码、户主姓名或村名查找地块、农户和权利，查看地图和变更时间线。")),
                                    url_for("registry.search")))
        if account.role == Role.village:
            register = next(a for a in board.actions if a.label == str(_l("登记资产与权利")))
            register.url = url_for("registry.village", code=account.division.code[:12])
            board.actions.append(Action(str(_l("集体经济组织账簿")), str(_l("成员名册、会议决议、资产台账、股份和收益分配。")),
                                        url_for("collectives.show", code=account.division.code[:12])))
    board.actions.append(Action(str(_l("API 密钥")), str(_l("为程序接入（如银行系统）创建和吊销 API 密钥。")),
                                url_for("accounts.api_keys")))
    return board
