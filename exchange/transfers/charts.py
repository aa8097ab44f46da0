"""Charts drawn by the platform itself: inline SVG built on the server from the numbers, with no chart service and
no script. Only SVG presentation attributes are used (no ``style``), so the strict Content-Security-Policy holds;
every bar and point carries a ``<title>`` with its figure, and the page prints the same numbers in a table."""
from __future__ import annotations

import math
from decimal import Decimal

from markupsafe import Markup, escape

PALETTE = ("#2f6b3a", "#d08c2b", "#3f7cac", "#a4262c", "#7b5ea7", "#5d9c59", "#c05f8e", "#6b6b6b", "#b8a13a",
           "#2a9d8f", "#8c564b", "#1f77b4")
WIDTH, HEIGHT = 760, 300
LEFT, RIGHT, TOP, BOTTOM = 72, 16, 26, 44
LEGEND_ITEM = 150
INK, MUTED, GRID = "#1f2a22", "#5d6b61", "#d9e0da"


def _number(value) -> float:
    return float(value) if value is not None else 0.0


def nice_scale(largest: float, integers: bool) -> tuple[float, float]:
    """An axis top and tick step (1, 2, 2.5 or 5 times a power of ten) with about five ticks above ``largest``."""
    if largest <= 0:
        return (4.0, 1.0) if integers else (1.0, 0.25)
    raw = largest / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    if integers:
        step = max(1.0, math.ceil(step))
    return math.ceil(largest / step) * step, step


def tick_label(value: float, step: float) -> str:
    if step >= 1 and float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def figure(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{Decimal(value):,.2f}"


class _Canvas:
    def __init__(self, chart_id: str, title: str, legend: list[str]) -> None:
        self.chart_id, self.title, self.legend = chart_id, title, legend
        self.rows = max(1, math.ceil(len(legend) / max(1, (WIDTH - LEFT) // LEGEND_ITEM))) if legend else 0
        self.height = HEIGHT + self.rows * 18
        self.plot_w, self.plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
        self.parts: list[str] = []

    def add(self, markup: str) -> None:
        self.parts.append(markup)

    def text(self, x: float, y: float, content: str, *, anchor: str = "start", size: int = 11, fill: str = MUTED,
             extra: str = "") -> None:
        self.add(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{fill}" text-anchor="{anchor}"{extra}>'
                 f'{escape(content)}</text>')

    def axes(self, categories: list[str], top: float, step: float, unit: str) -> None:
        value = 0.0
        while value <= top + step / 1000:
            y = TOP + self.plot_h - value / top * self.plot_h
            self.add(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="{GRID}" stroke-width="1"/>')
            self.text(LEFT - 6, y + 4, tick_label(value, step), anchor="end")
            value += step
        self.text(LEFT, 12, unit)
        every = max(1, math.ceil(len(categories) / 12))
        band = self.plot_w / max(1, len(categories))
        for i, category in enumerate(categories):
            if i % every == 0:
                self.text(LEFT + band * (i + 0.5), TOP + self.plot_h + 16, category, anchor="middle")
        self.add(f'<line x1="{LEFT}" y1="{TOP + self.plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + self.plot_h}" '
                 f'stroke="{MUTED}" stroke-width="1"/>')

    def legend_items(self) -> None:
        per_row = max(1, (WIDTH - LEFT) // LEGEND_ITEM)
        for i, label in enumerate(self.legend):
            x = LEFT + (i % per_row) * LEGEND_ITEM
            y = HEIGHT + (i // per_row) * 18 - 8
            self.add(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>')
            self.text(x + 14, y, label, fill=INK)

    def render(self, empty: bool, empty_text: str) -> Markup:
        if empty:
            self.text(LEFT + self.plot_w / 2, TOP + self.plot_h / 2, empty_text, anchor="middle", size=13)
        self.legend_items()
        title_id = f"{self.chart_id}-title"
        return Markup(
            f'<svg class="chart" id="{escape(self.chart_id)}" viewBox="0 0 {WIDTH} {self.height}" width="100%" '
            f'role="img" aria-labelledby="{escape(title_id)}" xmlns="http://www.w3.org/2000/svg" '
            f'font-family="sans-serif"><title id="{escape(title_id)}">{escape(self.title)}</title>'
            + "".join(self.parts) + "</svg>")


def bar_chart(chart_id: str, title: str, categories: list[str], series: list[tuple[str, list]], *, unit: str = "",
              stacked: bool = True, integers: bool = False, empty_text: str = "—") -> Markup:
    """Bars per category, one colour per series, stacked or side by side."""
    canvas = _Canvas(chart_id, title, [label for label, _values in series])
    if stacked:
        largest = max((sum(_number(values[i]) for _label, values in series) for i in range(len(categories))), default=0)
    else:
        largest = max((_number(v) for _label, values in series for v in values), default=0)
    top, step = nice_scale(largest, integers)
    canvas.axes(categories, top, step, unit)
    band = canvas.plot_w / max(1, len(categories))
    width = band * 0.7 if stacked else band * 0.8 / max(1, len(series))
    for i, category in enumerate(categories):
        base = 0.0
        for s, (label, values) in enumerate(series):
            value = _number(values[i])
            if value <= 0:
                continue
            height = value / top * canvas.plot_h
            x = LEFT + band * i + (band * 0.15 if stacked else band * 0.1 + width * s)
            y = TOP + canvas.plot_h - (base if stacked else 0) / top * canvas.plot_h - height
            canvas.add(f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" '
                       f'fill="{PALETTE[s % len(PALETTE)]}"><title>{escape(category)} · {escape(label)}：'
                       f'{escape(figure(values[i]))}{escape(" " + unit if unit else "")}</title></rect>')
            if stacked:
                base += value
    return canvas.render(largest <= 0, empty_text)


def line_chart(chart_id: str, title: str, categories: list[str], series: list[tuple[str, list]], *, unit: str = "",
               empty_text: str = "—") -> Markup:
    """Lines through the categories that have a figure (a missing month breaks the line)."""
    canvas = _Canvas(chart_id, title, [label for label, _values in series])
    largest = max((_number(v) for _label, values in series for v in values if v is not None), default=0)
    top, step = nice_scale(largest, False)
    canvas.axes(categories, top, step, unit)
    band = canvas.plot_w / max(1, len(categories))
    for s, (label, values) in enumerate(series):
        colour = PALETTE[s % len(PALETTE)]
        segments, current = [], []
        for i, value in enumerate(values):
            if value is None:
                if current:
                    segments.append(current)
                current = []
                continue
            current.append((LEFT + band * (i + 0.5), TOP + canvas.plot_h - _number(value) / top * canvas.plot_h,
                            categories[i], value))
        if current:
            segments.append(current)
        for segment in segments:
            if len(segment) > 1:
                points = " ".join(f"{x:.1f},{y:.1f}" for x, y, _c, _v in segment)
                canvas.add(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
            for x, y, category, value in segment:
                canvas.add(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"><title>{escape(category)} · '
                           f'{escape(label)}：{escape(figure(value))}{escape(" " + unit if unit else "")}</title></circle>')
    return canvas.render(largest <= 0, empty_text)
