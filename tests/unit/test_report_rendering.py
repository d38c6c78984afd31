"""`clv report`'s rendering without dbt or a warehouse: charts read the settings the way
Metabase does, pivots pivot, and values from the data never become markup."""

from __future__ import annotations

from clv_warehouse.dashboards.definitions import Card
from clv_warehouse.dashboards.report import Result, _card_html, _series


def _card(display: str, settings: dict, **extra) -> Card:
    return Card(
        dashboard="d",
        analysis="a",
        card_key="a",
        name="A <card>",
        description="",
        display=display,
        row=0,
        col=0,
        width=12,
        height=6,
        settings=settings,
        **extra,
    )


def test_a_second_dimension_splits_the_series():
    card = _card("line", {"graph.dimensions": ["month", "cohort"], "graph.metrics": ["revenue"]})
    result = Result(
        ["month", "cohort", "revenue"],
        [(1, "jan", 10.0), (2, "jan", 12.0), (2, "feb", 5.0)],
    )
    x_values, names, values = _series(card, result)
    assert x_values == [1, 2]
    assert names == ["jan", "feb"]
    assert values == {"jan": [10.0, 12.0], "feb": [None, 5.0]}


def test_several_metrics_are_several_series():
    card = _card("bar", {"graph.dimensions": ["model"], "graph.metrics": ["actual", "predicted"]})
    result = Result(["model", "actual", "predicted"], [("btyd", 3, 4), ("naive", 5, None)])
    _, names, values = _series(card, result)
    assert names == ["actual", "predicted"]
    assert values == {"actual": [3.0, 5.0], "predicted": [4.0, None]}
    html = _card_html(card, result)
    assert html.count("<rect") >= 3
    assert "A &lt;card&gt;" in html


def test_a_pivot_table_has_one_column_per_pivot_value_and_percentages():
    card = _card(
        "table",
        {"table.pivot": True, "table.pivot_column": "to", "table.cell_column": "share"},
        percent=("share",),
    )
    result = Result(["from", "to", "share"], [("a", "x", 0.25), ("a", "y", 0.75), ("b", "x", 1.0)])
    html = _card_html(card, result)
    assert "<th>from</th><th>x</th><th>y</th>" in html
    assert "25.0%" in html
    assert "100.0%" in html


def test_values_from_the_data_are_escaped():
    card = _card("table", {})
    html = _card_html(card, Result(["customer_id"], [("<img src=x onerror=alert(1)>",)]))
    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
