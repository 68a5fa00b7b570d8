"""Bar charts as server-rendered SVG geometry: no script, nothing fetched, readable without
colour (every bar has a <title>, the chart a <title>/<desc>, and the page a table of the
same numbers). The template `dashboard/_bar_chart.html` draws what `bar_chart` computes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

WIDTH = 480
HEIGHT = 180
LEFT = 48  # room for the axis labels
RIGHT = 20  # room for the last day's label
BOTTOM = 22
TOP = 10


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # "2026-12-01: 3"


@dataclass(frozen=True, slots=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True, slots=True)
class XLabel:
    x: float
    label: str


@dataclass(frozen=True, slots=True)
class BarChart:
    id: str
    title: str
    description: str
    width: int
    height: int
    left: int
    baseline: float
    bars: list[Bar]
    ticks: list[Tick]
    x_labels: list[XLabel]


def _nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 × 10^n at or above `value` (axis maximum)."""
    if value <= 0:
        return 1.0
    magnitude = 1.0
    while magnitude * 10 <= value:
        magnitude *= 10
    while magnitude > value:
        magnitude /= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def _axis_label(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:g}"


def bar_chart(
    chart_id: str,
    title: str,
    days: list[dt.date],
    amounts: Sequence[int | Decimal],
    shown: list[str],
    *,
    whole: bool = False,
) -> BarChart:
    """One bar per day of height `amounts[i]`; `shown` are the exact texts the bars' titles
    and the description use (amounts become floats here for pixel positions only). With
    `whole`, the axis is labelled in whole numbers only (counts)."""
    values = [float(amount) for amount in amounts]
    top = max(values, default=0)
    axis_max = _nice_ceiling(top)
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - BOTTOM - TOP
    baseline = HEIGHT - BOTTOM
    slot = plot_width / max(len(days), 1)
    bars = []
    for index, (day, value, text) in enumerate(zip(days, values, shown, strict=True)):
        height = plot_height * value / axis_max if axis_max else 0
        bars.append(
            Bar(
                x=round(LEFT + index * slot + slot * 0.15, 2),
                y=round(baseline - height, 2),
                width=round(slot * 0.7, 2),
                height=round(height, 2),
                label=f"{day.isoformat()}: {text}",
            )
        )
    ticks = [
        Tick(y=round(baseline - plot_height * fraction, 2), label=_axis_label(axis_max * fraction))
        for fraction in (0, 0.5, 1)
        if not whole or float(axis_max * fraction).is_integer()
    ]
    # A label every 7 days (and the last day), so 360 px screens stay legible.
    x_labels = [
        XLabel(x=round(LEFT + index * slot + slot / 2, 2), label=day.strftime("%d %b"))
        for index, day in enumerate(days)
        if (len(days) - 1 - index) % 7 == 0
    ]
    busiest = max(range(len(values)), key=lambda i: values[i], default=None)
    description = (
        f"{title} per day, {days[0].isoformat()} to {days[-1].isoformat()}" if days else title
    )
    if busiest is not None and top > 0:
        description += f"; highest {shown[busiest]} on {days[busiest].isoformat()}"
    else:
        description += "; none in this period"
    return BarChart(
        id=chart_id,
        title=title,
        description=description + ".",
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        baseline=baseline,
        bars=bars,
        ticks=ticks,
        x_labels=x_labels,
    )
