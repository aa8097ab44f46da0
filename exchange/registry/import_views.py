"""The upload page for county staff: a .zip of NY/T 2539 files, checked and imported all or nothing.

Large imports (tens of thousands of parcels) belong on the command line (``flask registry import``): a web
request would outlast the server's worker timeout.
"""
from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from flask import Blueprint, flash, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField

from exchange.access import require
from exchange.audit import operations as audit
from exchange.db import db
from exchange.ledger_app.service import actor
from exchange.registry.importer import FILE_ORDER, ImportReport, Issue, import_directory

bp = Blueprint("registry_import", __name__, url_prefix="/registry")

MAX_UPLOAD_BYTES = 256 * 1024 * 1024
MAX_UNPACKED_BYTES = 1024 * 1024 * 1024  # a zip bomb stops here
KNOWN_FILES = {name.lower(): name for name in FILE_ORDER}


class ImportForm(FlaskForm):
    archive = FileField(_l("数据压缩包（.zip）"), validators=[
        FileRequired(_l("请选择要上传的 .zip 文件。")), FileAllowed(["zip"], _l("只接受 .zip 文件。"))])
    dry_run = BooleanField(_l("只检查，不导入"))


def _refusal(code: str, zh: str, en: str) -> ImportReport:
    report = ImportReport(directory="upload")
    report.issues.append(Issue("upload.zip", None, "文件 file", code, zh, en, "、".join(FILE_ORDER) + " 组成的 .zip 文件",
                               "a .zip of " + ", ".join(FILE_ORDER)))
    return report


def _unpack(stream, target: Path) -> ImportReport | None:
    """Extract the known files (at any depth, by name) into ``target``; a refusal report if the archive is bad."""
    try:
        archive = zipfile.ZipFile(stream)
    except zipfile.BadZipFile:
        return _refusal("ZIP", "上传的文件不是有效的 .zip 压缩包。", "The upload is not a valid .zip archive.")
    with archive:
        wanted = {}
        for member in archive.infolist():
            name = PurePosixPath(member.filename.replace("\\", "/")).name
            if member.is_dir() or name.startswith(".") or "__MACOSX" in member.filename:
                continue
            if name.lower() in KNOWN_FILES:
                if name.lower() in wanted:
                    return _refusal("ZIP-DUPLICATE", f"压缩包中有两个 {name}。", f"The archive holds {name} twice.")
                wanted[name.lower()] = member
        if sum(m.file_size for m in wanted.values()) > MAX_UNPACKED_BYTES:
            return _refusal("ZIP-SIZE", "解压后的文件过大，请改用命令行导入。",
                            "The unpacked files are too large; use the command line import.")
        for key, member in wanted.items():
            with archive.open(member) as source, (target / KNOWN_FILES[key]).open("wb") as sink:
                shutil.copyfileobj(source, sink)
    return None


@bp.route("/import", methods=["GET", "POST"])
@login_required
def import_page():
    """导入确权登记数据: upload, check every row, import all or nothing, show the report."""
    require("registry.import", object_type="registry_import")
    request.max_content_length = MAX_UPLOAD_BYTES
    form = ImportForm()
    report = None
    if form.validate_on_submit():
        with tempfile.TemporaryDirectory(prefix="nyt2539-upload-") as tmp:
            report = _unpack(form.archive.data.stream, Path(tmp))
            if report is None:
                report = import_directory(tmp, actor=actor(), dry_run=form.dry_run.data)
        report.directory = form.archive.data.filename or "upload.zip"
        if report.ok and not report.dry_run and report.ledger_entries:
            audit.record("registry.import", "upload", report.directory,
                         detail={"created": report.created, "unchanged": report.unchanged,
                                 "ledger_entries": report.ledger_entries, "via": "web"})
            db.session.commit()
            flash(_("已导入，新增账本条目 %(count)s 条。", count=report.ledger_entries), "success")
        else:
            db.session.rollback()
    status = 422 if (report is not None and not report.ok) or (request.method == "POST" and form.errors) else 200
    return render_template("registry/import.html", form=form, report=report, locale=str(get_locale() or "zh_CN"),
                           files=FILE_ORDER), status
