"""The platform's one way to make a PDF (PDF 文书): a certificate template rendered from plain data, written as
PDF/A-3b with the fonts it names and nothing else, then signed by the exchange's document-signing certificate.

Templates live in ``templates/<family>/<name>/document.html`` with ``style.css`` beside it; the families are
``certificates`` and ``contracts`` (the standard contracts of ``contracts/``). They may load files from the
template folders and ``data:`` URIs (QR codes); the fonts come from ``FONT_FACES`` below and the compact fonts
built from them (``exchange.pdf_fonts``). Any other URL (``http:``, another folder, ``file://host/``) stops the
render: a document is never issued with a part silently missing.
"""
from __future__ import annotations

import mimetypes
import os
import re
import tempfile
import threading
from base64 import b64encode
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from importlib.resources import files
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import pydyf
import segno
from flask import current_app
from markupsafe import Markup
from weasyprint import CSS, HTML
from weasyprint import Attachment as WeasyAttachment
from weasyprint.css import ColorProfile
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

from exchange.ca import signing_files
from exchange.pdf_fonts import compact_font, ensure_compact_fonts
from ledger.blocking import call_blocking

# Installed by Debian's fonts-noto-cjk (scripts/system-deps.sh). The serif face (宋体 style) is the usual one for
# official documents; it carries its own Latin letters, so English text needs no second font. Templates say
# ``font-family: "Exchange Serif", "Exchange Serif Full"``: the first is the compact Simplified Chinese font built
# from these collections (GB 2312 and common symbols, see exchange.pdf_fonts), the second the whole collection,
# for any rarer character. WeasyPrint subsets whatever is used with HarfBuzz and embeds it.
DEFAULT_FONT_DIR = "/usr/share/fonts/opentype/noto"
FONT_FAMILY = "Exchange Serif"
FULL_FONT_FAMILY = "Exchange Serif Full"
FONT_FACES = {"normal": "NotoSerifCJK-Regular.ttc", "bold": "NotoSerifCJK-Bold.ttc"}
# Where the compact fonts are built (EXCHANGE_PDF_FONT_BUILD_DIR): shared by every instance of this checkout.
DEFAULT_FONT_BUILD_DIR = Path(__file__).resolve().parent.parent / "build" / "fonts"

OUTPUT_INTENT = "exchange-srgb"
SIGNATURE_FIELD = "ExchangeSignature"
_TEMPLATE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
FAMILIES = ("certificates", "contracts")  # the template folders render_pdf may use
_PLAIN = (str, int, float, bool, type(None), Decimal, date, datetime)


class PdfResourceRefused(ValueError):
    """A template asked for a URL outside the certificate and font folders, or one that could not be read."""


@dataclass(frozen=True)
class Attachment:
    """A file embedded in the PDF (PDF/A-3 associated file), e.g. the ledger inclusion proof."""

    name: str
    data: bytes
    description: str
    mime: str
    # How the file relates to the document (ISO 32000-2 §7.11.3): Source, Data, Alternative, Supplement or
    # Unspecified. A ledger proof is a machine-readable supplement to what the page says.
    relationship: str = "Supplement"


class CertificateURLFetcher(URLFetcher):
    """Deny by default: ``data:`` URIs and regular files inside ``allowed_dirs``; everything else refused."""

    def __init__(self, allowed_dirs: list[Path]) -> None:
        super().__init__(allowed_protocols={"data"}, allow_redirects=False, fail_on_errors=True)
        self.allowed_dirs = [d.resolve() for d in allowed_dirs]

    def fetch(self, url, headers=None):
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "file" and parts.netloc in ("", "localhost"):
            path = Path(url2pathname(parts.path)).resolve()
            if path.is_file() and any(path.is_relative_to(d) for d in self.allowed_dirs):
                # Read it here rather than through urllib, whose file handler would pass other hosts to FTP.
                mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": mime})
        raise PdfResourceRefused(f"refused to fetch {url!r}: certificates may only use data: URIs and files in "
                                 + ", ".join(str(d) for d in self.allowed_dirs))


def font_dir() -> Path:
    directory = Path(current_app.config.get("PDF_FONT_DIR") or DEFAULT_FONT_DIR)
    missing = [name for name in FONT_FACES.values() if not (directory / name).is_file()]
    if missing:
        raise RuntimeError(f"fonts {missing} not found in {directory}: install fonts-noto-cjk "
                           "(scripts/system-deps.sh) or set EXCHANGE_PDF_FONT_DIR")
    return directory


def font_build_dir() -> Path:
    return Path(current_app.config.get("PDF_FONT_BUILD_DIR") or DEFAULT_FONT_BUILD_DIR)


def compact_fonts(directory: Path) -> dict[str, Path]:
    """The compact font of each weight in FONT_FACES (built on first use if ``flask setup`` has not)."""
    return {weight: compact_font(directory / name, font_build_dir()) for weight, name in FONT_FACES.items()}


def ensure_fonts() -> list[str]:
    """``flask setup``: build the compact fonts if missing. Without fonts-noto-cjk, says so and leaves the render
    to fail with the same message."""
    try:
        directory = font_dir()
    except RuntimeError as error:
        return [f"PDF fonts: {error}"]
    return ensure_compact_fonts([directory / name for name in FONT_FACES.values()], font_build_dir())


def font_face_css(directory: Path, compact: dict[str, Path]) -> str:
    """The @font-face rules every certificate gets: the compact fonts as ``Exchange Serif``, the collections as
    ``Exchange Serif Full``. Two families rather than one with unicode-range: WeasyPrint tells embedded fonts apart
    by family, weight and style, so two files under one family would be embedded as one."""
    rules = [(FONT_FAMILY, weight, path) for weight, path in compact.items()]
    rules += [(FULL_FONT_FAMILY, weight, directory / name) for weight, name in FONT_FACES.items()]
    return "\n".join(f'@font-face {{ font-family: "{family}"; font-weight: {weight}; src: url("{path.as_uri()}"); }}'
                     for family, weight, path in rules)


_render_lock = threading.Lock()
_font_configurations: dict[tuple[Path, ...], FontConfiguration] = {}


def _font_configuration(directory: Path, compact: dict[str, Path]) -> FontConfiguration:
    """One FontConfiguration per process (and set of font files). Registering an @font-face copies the font file
    (~50 MB for the two collections) into a temporary folder, which took half the render time; a configuration that
    has seen the rules before skips the copy. Pango's font map is not thread-safe, so renders hold
    ``_render_lock``."""
    key = (directory, *compact.values())
    if key not in _font_configurations:
        _font_configurations[key] = FontConfiguration()
    return _font_configurations[key]


def _output_intent() -> dict[str, ColorProfile]:
    """sRGB as the PDF/A output intent. WeasyPrint's own ``output_intent="srgb"`` leaves the .icc file open
    (a ResourceWarning on every render), so the same profile is loaded here and named explicitly."""
    with (files("weasyprint.pdf") / "sRGB2014.icc").open("rb") as f:
        profile = ColorProfile(f, "sRGB2014.icc", "relative-colorimetric", (["r"], ["g"], ["b"]))
    return {OUTPUT_INTENT: profile}


def _list_associated_files_once(document, pdf) -> None:
    """WeasyPrint's PDF/A-3 step adds each attachment to the catalogue's /AF twice (once from the embedded-files
    name tree, once from the file specifications); keep the first of each."""
    if "AF" in pdf.catalog:
        pdf.catalog["AF"] = pydyf.Array(dict.fromkeys(pdf.catalog["AF"]))


def templates_dir(family: str = "certificates") -> Path:
    if family not in FAMILIES:
        raise ValueError(f"template family {family!r}: use one of {', '.join(FAMILIES)}")
    return Path(current_app.root_path, current_app.template_folder or "templates", family).resolve()


def certificates_dir() -> Path:
    return templates_dir("certificates")


def contracts_dir() -> Path:
    return templates_dir("contracts")


def qr_data_uri(text: str, *, scale: int = 4) -> Markup:
    """A QR code (error correction M) as an SVG ``data:`` URI for an ``<img src>``."""
    uri = segno.make(str(text), error="m", micro=False).svg_data_uri(scale=scale, border=2)
    return Markup(uri)


def _check_plain(value, where: str = "data") -> None:
    """Templates see plain values (dumped through a schema), never ORM objects that could query on render."""
    if isinstance(value, dict):
        for key, item in value.items():
            _check_plain(item, f"{where}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check_plain(item, f"{where}[{index}]")
    elif not isinstance(value, _PLAIN):
        raise TypeError(f"{where} is a {type(value).__name__}; pass plain data (dicts, lists, strings, numbers, "
                        "dates) to render_pdf")


def render_pdf(template_name: str, data: dict, *, attachments: list[Attachment] | tuple = (), title: str,
               lang: str = "zh-CN", issued_at: datetime | None = None, family: str = "certificates") -> bytes:
    """Render ``templates/<family>/<template_name>/`` with ``data`` to PDF/A-3b bytes (unsigned).

    ``issued_at`` (take it from the ledger entry) becomes the document's creation date and the attachments'
    dates; with it, the same data renders to the same bytes. Without it, the current time is used.
    """
    if not _TEMPLATE_NAME.fullmatch(template_name):
        raise ValueError(f"template name {template_name!r}: use lower-case letters, digits, '-' and '_'")
    _check_plain(data)
    folder = templates_dir(family) / template_name
    template = current_app.jinja_env.get_template(f"{family}/{template_name}/document.html")
    html = template.render(**data, title=title, lang=lang, qr_data_uri=qr_data_uri)
    css_path = folder / "style.css"
    css = css_path.read_text(encoding="utf-8") if css_path.exists() else ""
    return _html_to_pdf(html, css, base_dir=folder, attachments=attachments, title=title, lang=lang,
                        issued_at=issued_at)


def _html_to_pdf(html: str, css: str, *, base_dir: Path, attachments=(), title: str, lang: str,
                 issued_at: datetime | None = None) -> bytes:
    """The WeasyPrint part of :func:`render_pdf`, for HTML already rendered."""
    if issued_at is not None and issued_at.tzinfo is None:
        raise ValueError("issued_at must carry a time zone (the ledger's timestamps are UTC)")
    fonts = font_dir()
    compact = compact_fonts(fonts)
    fetcher = CertificateURLFetcher([*(templates_dir(f) for f in FAMILIES), fonts, font_build_dir()])
    base_url = base_dir.resolve().as_uri() + "/"
    when = (issued_at or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0)
    with _render_lock:
        return _write(html, css, fonts=fonts, compact=compact, fetcher=fetcher, base_url=base_url,
                      attachments=attachments, title=title, lang=lang, when=when)


def _write(html, css, *, fonts, compact, fetcher, base_url, attachments, title, lang, when) -> bytes:
    font_config = _font_configuration(fonts, compact)
    try:
        stylesheets = [CSS(string=font_face_css(fonts, compact), base_url=base_url, url_fetcher=fetcher,
                           font_config=font_config),
                       CSS(string=css, base_url=base_url, url_fetcher=fetcher, font_config=font_config)]
        document = HTML(string=html, base_url=base_url, url_fetcher=fetcher).render(
            font_config=font_config, color_profiles=_output_intent(), stylesheets=stylesheets,
            pdf_variant="pdf/a-3b", output_intent=OUTPUT_INTENT)
        document.metadata.title = title
        document.metadata.lang = lang
        document.metadata.created = document.metadata.modified = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        embedded = [
            WeasyAttachment(url=f"data:{a.mime};base64,{b64encode(a.data).decode('ascii')}", url_fetcher=fetcher,
                            name=a.name, description=a.description, relationship=a.relationship,
                            created=when, modified=when)
            for a in attachments
        ]
        return document.write_pdf(pdf_variant="pdf/a-3b", output_intent=OUTPUT_INTENT, attachments=embedded,
                                  finisher=_list_associated_files_once)
    except FatalURLFetchingError as error:
        cause = error.__cause__
        if isinstance(cause, PdfResourceRefused):
            raise PdfResourceRefused(str(cause)) from None
        raise PdfResourceRefused(f"{error}: {cause}") from cause


def keep(path: Path, data: bytes) -> bytes:
    """Write a generated file into the instance folder atomically (a reader sees the old file or the whole new one,
    never half of it) and return its bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(suffix=".tmp", dir=path.parent)
    with os.fdopen(handle, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return data


def sign_pdf(pdf: bytes, *, reason: str, location: str) -> bytes:
    """Sign with the exchange's document-signing certificate: PAdES baseline B-B (ETSI.CAdES.detached),
    ECDSA P-256 with SHA-256, the certificate chain up to the root embedded. Returns the signed PDF."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    key, certificate, root = signing_files(current_app.config["KEY_DIR"])
    signer = signers.SimpleSigner.load(str(key), str(certificate), ca_chain_files=(str(root),))
    if signer is None:
        raise RuntimeError(f"cannot load the document-signing key {key}: run `flask setup`")
    metadata = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
    )
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    # Room for the CMS container, hex-encoded: the certificates it embeds plus 4 KB for the signed attributes and
    # the signature. Without it pyHanko signs a dummy document first to measure, doubling the cost of a signature.
    embedded = {c.dump() for c in (signer.signing_cert, *signer.cert_registry)}
    reserved = 2 * (sum(len(der) for der in embedded) + 4096)
    return call_blocking(signers.sign_pdf, writer, metadata, signer=signer, bytes_reserved=reserved).getvalue()
