"""Geometry of the dashboard's server-side SVG charts (funding.dashboard.charts, pure): one scale for every bar, nothing drawn
when there is nothing to show, French amounts on the bars."""

from decimal import Decimal

from funding.dashboard import charts

SERIES = [("Engagé", "hopen-bar--committed"), ("Versé", "hopen-bar--paid")]


def test_grouped_bars_share_one_scale():
    chart = charts.grouped_bars([("Public", [Decimal("200"), Decimal("100")]), ("Privé", [Decimal("50"), 0])], SERIES)
    public, private = chart["rows"]
    assert public.bars[0].width == charts.PLOT_WIDTH  # the largest value fills the plot
    assert public.bars[1].width == charts.PLOT_WIDTH / 2
    assert private.bars[0].width == charts.PLOT_WIDTH / 4 and private.bars[1].width == 0
    assert public.bars[0].text == "200\u00a0€"
    assert private.bars[0].y > public.bars[1].y  # rows go down
    assert chart["width"] == charts.LABEL_WIDTH + charts.PLOT_WIDTH + charts.VALUE_WIDTH


def test_grouped_bars_label_width():
    chart = charts.grouped_bars([("Provence-Alpes-Côte d'Azur", [1, 1])], SERIES, label_width=210)
    assert chart["rows"][0].bars[0].x == 210 and chart["label_x"] == 202


def test_nothing_to_draw():
    assert charts.grouped_bars([("Public", [0, 0])], SERIES) is None
    assert charts.grouped_bars([], SERIES) is None
    assert charts.stacked_bars([("Amorçage", [0, 0, 0], Decimal("0"))], SERIES + [("Disponible", "x")]) is None


def test_stacked_bars_segments_follow_each_other_and_show_the_pot_total():
    series = SERIES + [("Disponible", "hopen-bar--available")]
    chart = charts.stacked_bars(
        [("Amorçage", [Decimal("20"), Decimal("-5"), Decimal("80")], Decimal("100")),
         ("Usage", [Decimal("0"), Decimal("0"), Decimal("200")], Decimal("200"))],
        series,
    )
    seed, usage = chart["rows"]
    paid, committed, available = seed["segments"]
    assert committed.width == 0  # a negative value counts as zero
    assert available.x == paid.x + paid.width
    assert usage["segments"][2].width == charts.PLOT_WIDTH
    assert seed["total_text"] == "100\u00a0€"
