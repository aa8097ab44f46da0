"""The rural property rights exchange (农村产权交易平台): the Flask application factory."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask

from exchange.config import DEFAULTS


def _instance_path() -> str:
    return os.path.abspath(os.environ.get("EXCHANGE_INSTANCE_PATH", "instance"))


def _secret_key(instance: Path) -> str:
    """SECRET_KEY from the environment, else from the instance folder, generated on first start."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = instance / "keys" / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def create_app(test_config: dict | None = None) -> Flask:
    root = Path(__file__).resolve().parent.parent
    instance = (test_config or {}).get("INSTANCE_PATH") or _instance_path()
    app = Flask(
        __name__,
        instance_path=instance,
        instance_relative_config=True,
        template_folder=str(root / "templates"),
        static_folder="static",
    )
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(DEFAULTS)
    app.config["DATABASE_URL"] = os.environ.get(
        "DATABASE_URL", f"sqlite:///{Path(app.instance_path) / 'exchange.sqlite3'}"
    )
    app.config.from_prefixed_env("EXCHANGE")
    if test_config:
        app.config.from_mapping(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(Path(app.instance_path))
    app.config.setdefault("KEY_DIR", str(Path(app.instance_path) / "keys"))

    from exchange import api, cli, security, web
    from exchange.db import db
    from exchange.extensions import babel, csrf, limiter, login_manager, select_locale
    from exchange.pii import PersonalData

    db.init_app(app)
    babel.init_app(app, locale_selector=select_locale, default_translation_directories="translations")
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    app.extensions["pii"] = PersonalData(Path(app.config["KEY_DIR"]))
    security.init_app(app)
    web.init_app(app)
    api.init_app(app)
    cli.init_app(app)
    return app
