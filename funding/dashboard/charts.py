"""Geometry of the dashboard's server-side SVG charts (pure: no database).

The Content-Security-Policy forbids inline scripts and styles: the charts are SVG elements whose geometry is in
their attributes and whose colours come from classes of funding/static/funding/dashboard.css, as the indicators'
semester chart does (templates/indicators/_progress_chart.html). Every chart comes with its data as a table.
"""

from dataclasses import dataclass
from decimal import Decimal

from hopen.formatting import french_euros

LABEL_WIDTH = 110
PLOT_WIDTH = 380
VALUE_WIDTH = 110
BAR_HEIGHT = 14
BAR_GAP = 3
ROW_GAP = 14
TOP = 8


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    series: str
    value: Decimal
    text: str
    text_x: float
    text_y: float


@dataclass(frozen=True)
class ChartRow:
    label: str
    label_y: float
    bars: tuple


def _scale(maximum: Decimal):
    def width(value: Decimal) -> float:
        if not maximum or value <= 0:
            return 0.0
        return round(float(Decimal(value) / maximum) * PLOT_WIDTH, 1)

    return width


def grouped_bars(rows, series, *, label_width: int = LABEL_WIDTH) -> dict | None:
    """Horizontal bars, one group per row and one bar per series, on one scale (the largest value).

    rows: [(label, [value per series])]; series: [(name, css class)]; `label_width`: room for the row labels
    (SVG pixels). None when there is nothing to draw.
    """
    rows = [(label, [Decimal(v or 0) for v in values]) for label, values in rows]
    maximum = max((v for _, values in rows for v in values), default=Decimal(0))
    if not rows or maximum <= 0:
        return None
    width = _scale(maximum)
    group_height = len(series) * BAR_HEIGHT + (len(series) - 1) * BAR_GAP
    chart_rows = []
    y = TOP
    for label, values in rows:
        bars = []
        for index, ((name, css), value) in enumerate(zip(series, values, strict=True)):
            bar_y = y + index * (BAR_HEIGHT + BAR_GAP)
            bar_width = width(value)
            bars.append(
                Bar(
                    x=label_width, y=bar_y, width=bar_width, height=BAR_HEIGHT, css=css, series=name, value=value,
                    text=french_euros(value, 0), text_x=label_width + bar_width + 6, text_y=bar_y + BAR_HEIGHT / 2,
                )
            )
        chart_rows.append(ChartRow(label=label, label_y=y + group_height / 2, bars=tuple(bars)))
        y += group_height + ROW_GAP
    return {
        "rows": chart_rows,
        "series": [{"name": name, "css": css} for name, css in series],
        "width": label_width + PLOT_WIDTH + VALUE_WIDTH,
        "height": y - ROW_GAP + TOP,
        "axis_x": label_width,
        "axis_top": TOP - 4,
        "axis_bottom": y - ROW_GAP + 4,
        "label_x": label_width - 8,
    }


@dataclass(frozen=True)
class Segment:
    x: float
    width: float
    css: str
    series: str
    value: Decimal


def stacked_bars(rows, series) -> dict | None:
    """Horizontal stacked bars (one per row, segments in series order), all on the scale of the largest row.

    rows: [(label, [value per series], total shown at the end of the bar)]; a negative value counts as zero.
    None when there is nothing to draw.
    """
    rows = [(label, [max(Decimal(v or 0), Decimal(0)) for v in values], total) for label, values, total in rows]
    maximum = max((sum(values) for _, values, _ in rows), default=Decimal(0))
    if not rows or maximum <= 0:
        return None
    width = _scale(maximum)
    height = BAR_HEIGHT * 2
    chart_rows = []
    y = TOP
    for label, values, total in rows:
        x = LABEL_WIDTH
        segments = []
        for (name, css), value in zip(series, values, strict=True):
            segment_width = width(value)
            segments.append(Segment(x=x, width=segment_width, css=css, series=name, value=value))
            x += segment_width
        chart_rows.append(
            {
                "label": label, "label_y": y + height / 2, "y": y, "height": height, "segments": segments,
                "total_text": french_euros(total, 0), "total_x": x + 6,
            }
        )
        y += height + ROW_GAP
    return {
        "rows": chart_rows,
        "series": [{"name": name, "css": css} for name, css in series],
        "width": LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH,
        "height": y - ROW_GAP + TOP,
        "label_x": LABEL_WIDTH - 8,
    }
