"""Maps drawn by the platform itself: GeoJSON polygons to inline SVG (no tile server, works offline)."""
from __future__ import annotations

import math
from dataclasses import dataclass

from markupsafe import Markup, escape


@dataclass
class Shape:
    geometry: dict
    label: str = ""
    href: str | None = None
    css: str = "parcel"


def _rings(geometry: dict) -> list[list[list[float]]]:
    if not geometry:
        return []
    if geometry.get("type") == "Polygon":
        return [geometry["coordinates"][0]]
    if geometry.get("type") == "MultiPolygon":
        return [polygon[0] for polygon in geometry["coordinates"]]
    return []


def svg_map(shapes: list[Shape], width: int = 640, max_height: int = 480, title: str = "") -> Markup:
    """An SVG with one <polygon> per shape, north up, scaled to fit; each shape links to its page."""
    rings = [(shape, ring) for shape in shapes for ring in _rings(shape.geometry)]
    if not rings:
        return Markup("")
    lats = [pt[1] for _, ring in rings for pt in ring]
    cos_lat = math.cos(math.radians(sum(lats) / len(lats)))
    xs = [pt[0] * cos_lat for _, ring in rings for pt in ring]
    min_x, max_x, min_y, max_y = min(xs), max(xs), min(lats), max(lats)
    span_x, span_y = max(max_x - min_x, 1e-9), max(max_y - min_y, 1e-9)
    pad = 8
    scale = min((width - 2 * pad) / span_x, (max_height - 2 * pad) / span_y)
    height = int(span_y * scale + 2 * pad)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="map" viewBox="0 0 {width} {height}" '
             f'width="100%" role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for shape, ring in rings:
        points = " ".join(f"{(pt[0] * cos_lat - min_x) * scale + pad:.1f},{(max_y - pt[1]) * scale + pad:.1f}"
                          for pt in ring)
        polygon = (f'<polygon class="{escape(shape.css)}" points="{points}">'
                   f'<title>{escape(shape.label)}</title></polygon>')
        if shape.href:
            polygon = f'<a href="{escape(shape.href)}">{polygon}</a>'
        parts.append(polygon)
    metres = (max_x - min_x) * 111_320  # width of the drawing on the ground
    parts.append(f'<text x="{pad}" y="{height - 2}" class="scale">≈ {metres:,.0f} m</text></svg>')
    return Markup("".join(parts))
