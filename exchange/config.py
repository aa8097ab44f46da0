"""Configuration defaults. Everything here may be overridden from the environment:
``DATABASE_URL``, ``SECRET_KEY``, ``EXCHANGE_INSTANCE_PATH`` directly, anything else as ``EXCHANGE_<NAME>``."""
from __future__ import annotations

DEFAULTS = {
    "BABEL_DEFAULT_LOCALE": "zh_CN",
    "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
    "LANGUAGES": ["zh_CN", "en"],
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,  # village intranets often run plain HTTP; set EXCHANGE_SESSION_COOKIE_SECURE=true behind TLS
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "PERMANENT_SESSION_LIFETIME": 8 * 3600,
    "WTF_CSRF_TIME_LIMIT": 8 * 3600,
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_HEADERS_ENABLED": True,
    "LOGIN_RATE_LIMIT": "10 per minute;50 per hour",  # per account and address
    "LOGIN_ADDRESS_RATE_LIMIT": "60 per minute;300 per hour",  # per address, whatever the account
    "LEDGER_ORIGIN": "kaijiang.exchange.example/ledger",
    # Witnesses the platform runs itself (the county exchange and the provincial centre) and how many
    # cosignatures a verifier must see. An outside witness can be added with `flask ledger witness init`.
    "LEDGER_WITNESSES": ["witness.kaijiang.exchange.example", "witness.sichuan.exchange.example"],
    "LEDGER_WITNESS_QUORUM": 1,
    # Rules whose figures vary by place (domain.md §3). Verify against the current provincial regulations.
    "LEASE_MAX_YEARS": 20,  # 民法典 Art 705
    "LAND_CAPITAL_REVIEW_AREA_M2": 100 * 10000 / 15,  # companies over 100 亩 go to county review (Art 45)
    "HOMESTEAD_AREA_PER_PERSON_M2": 30,  # 四川: 每人 20–30 m²
    "HOMESTEAD_MIN_PERSONS": 3,  # households of up to three count as three
    "HOMESTEAD_MAX_PERSONS": 5,  # … and of five or more as five
    "MEMBER_NOTICE_DAYS": 7,  # 成员身份确认的公示期 (days)
    "COLLECTIVE_QUORUM_FRACTION": 0.5,  # a meeting needs more than this share of its members present
    # NY/T 2539 import: how far (as a fraction) a parcel's polygon area may differ from its measured area SCMJ
    # before the row is refused; 0.05 = 5 %. Surveys round areas and projections differ slightly.
    "REGISTRY_IMPORT_AREA_TOLERANCE": 0.05,
    # The exchange workflow (domain.md §4). Working days follow the official calendar (chinese-calendar) and, for
    # years it does not cover, the holiday table county staff keep at /exchange/holidays.
    "LISTING_NOTICE_WORKING_DAYS": 10,  # 挂牌公示期
    "LISTING_OBJECTION_WORKING_DAYS": 5,  # 成交公示（异议期）
    "LISTING_DEPOSIT_RATE": 0.1,  # default 保证金 as a share of the reserve (of one year's rent for rents)
    "AUCTION_MINUTES": 60,  # how long an online auction runs
    "AUCTION_EXTENSION_MINUTES": 5,  # a bid in the last N minutes extends the end to N minutes after it
    "PRIORITY_MATCH_HOURS": 24,  # LAND-PRIORITY: how long members may match the best outside bid
    "EXCHANGE_TIMEZONE": "Asia/Shanghai",
    "EXCHANGE_NAME": "开江县农村产权交易中心",
    "EXCHANGE_PLACE": "四川省开江县",
    "CERTIFICATE_NUMBER_PREFIX": "511723",
    "PUBLIC_BASE_URL": "http://127.0.0.1:5000",
    # flask-smorest / OpenAPI
    "API_TITLE": "农村产权交易平台 API (Rural property rights exchange)",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api",
    "OPENAPI_JSON_PATH": "openapi.json",
}
