"""Bar charts for the dashboard, laid out here and drawn by the template as inline SVG: rectangles
with presentation attributes (x, y, width, height) and classes styled in admin.css, since the page's
CSP allows no style attributes. Pure geometry: numbers in, shapes out."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH = 400  # viewBox units; the SVG is drawn 100% wide, so it fits a 360 px screen too
LEFT = 34  # room for the y-axis figures
TOP = 8
BOTTOM = 20  # room for the x-axis labels


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    kind: str  # the CSS class: bar-published, bar-held, …
    title: str  # what a pointer over it shows


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "middle"


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    rects: tuple[Rect, ...]
    labels: tuple[Label, ...]
    gridlines: tuple[float, ...]  # y of the horizontal lines (the top figure and zero)


def _top(value: int) -> int:
    """A round figure at or above the largest value, for the y axis."""
    if value <= 5:
        return max(value, 1)
    step = 10 ** (len(str(value)) - 1)
    return -(-value // step) * step


def columns(names: list[str], series: list[tuple[str, list[int]]], *, height: int = 180,
            show_every: int | None = None) -> Chart:
    """Vertical bars, one per name, each stacked from the series (kind, values) in order."""
    plot_h = height - TOP - BOTTOM
    plot_w = WIDTH - LEFT - 4
    n = max(len(names), 1)
    totals = [sum(values[i] for _, values in series) for i in range(len(names))]
    top = _top(max(totals, default=0))
    slot = plot_w / n
    bar = max(slot * 0.8, 0.5)
    rects = []
    for i, name in enumerate(names):
        y = TOP + plot_h
        for kind, values in series:
            h = plot_h * values[i] / top
            if values[i]:
                y -= h
                rects.append(Rect(round(LEFT + i * slot + (slot - bar) / 2, 2), round(y, 2), round(bar, 2),
                                  round(h, 2), "bar-" + kind, f"{name}: {values[i]} {kind}"))
    every = show_every or max(1, -(-n // 6))
    labels = [Label(round(LEFT + i * slot + slot / 2, 2), height - 6, name) for i, name in enumerate(names)
              if i % every == 0]
    labels += [Label(LEFT - 4, TOP + 4, str(top), "end"), Label(LEFT - 4, TOP + plot_h + 4, "0", "end")]
    return Chart(WIDTH, height, tuple(rects), tuple(labels), (TOP, TOP + plot_h))


def rows(items: list[tuple[str, int]], kind: str) -> Chart:
    """Horizontal bars, one per item: its name above, its figure after it."""
    row = 34
    height = max(len(items), 1) * row + 4
    plot_w = WIDTH - 60
    top = max((v for _, v in items), default=0) or 1
    rects, labels = [], []
    for i, (name, value) in enumerate(items):
        y = i * row
        w = plot_w * value / top
        labels.append(Label(0, y + 12, name if len(name) <= 60 else name[:59] + "…", "start"))
        rects.append(Rect(0, y + 17, round(max(w, 1), 2), 12, "bar-" + kind, f"{name}: {value}"))
        labels.append(Label(round(w + 6, 2), y + 28, str(value), "start"))
    return Chart(WIDTH, height, tuple(rects), tuple(labels), ())
