"""The budget report reads right in headless Chromium (every column of every table visible, chart
labels inside their chart, no console error) and charts bad events against the allowance with the
window's exclusions, alerts and policy decisions marked."""

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from slo_pipelines.engine.budgets.report_model import window_events
from slo_pipelines.reports import render_html
from slo_pipelines.reports.budget_chart import consumption_svg
from tests.browser import check_page
from tests.test_reports import MARCH_1, make_report, make_slo

SVG = "{http://www.w3.org/2000/svg}"


def _slo_with_consumption(name: str) -> dict[str, Any]:
    hours = range(48)
    return make_slo(
        name,
        series={
            "t": [MARCH_1 + h * 3600 for h in hours],
            "remaining_ratio": [1 - h * 0.03 for h in hours],
            "sli": [0.999] * 48,
            "consumed_bad": [30.0 * h for h in hours],
            "allowed_bad": [25.0 * h for h in hours],
            "projected_allowed_bad": [None] + [25.0 * h * 720 / h for h in hours if h],
        },
        events=[
            {
                "t": MARCH_1 + 10 * 3600,
                "end": None,
                "kind": "alert",
                "severity": "page",
                "label": "page <1h/5m>",
            },
            {
                "t": MARCH_1 + 12 * 3600,
                "end": None,
                "kind": "decision",
                "severity": "engaged",
                "label": "freeze",
            },
        ],
    )


@pytest.mark.parametrize("width", [1280, 1400, 1920])
def test_budget_report_shows_every_column(tmp_path: Path, width: int) -> None:
    page = tmp_path / "report.html"
    page.write_text(
        render_html(make_report([_slo_with_consumption("checkout-availability"), make_slo("legacy")]))
    )
    seen = check_page(page, width=width)
    assert seen.console_errors == []
    assert seen.cut_off == []
    assert seen.screenshot.startswith(b"\x89PNG")


def test_consumption_chart_draws_counts_bands_and_marks() -> None:
    slo = _slo_with_consumption("checkout-availability")
    bands = [{"start": MARCH_1 + 3600, "end": MARCH_1 + 3 * 3600, "name": "db-upgrade"}]
    root = ET.fromstring(consumption_svg(slo["series"], bands, slo["events"]))
    classes = [el.get("class") for el in root.iter(f"{SVG}polyline")]
    assert classes == ["projected_allowed_bad", "allowed_bad", "consumed_bad"]
    (band,) = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "exclusion"]
    assert float(band.get("width") or 0) > 0
    events = [g for g in root.iter(f"{SVG}g") if (g.get("class") or "").startswith("event")]
    assert [g.get("class") for g in events] == ["event alert", "event decision"]
    assert events[0].find(f"{SVG}title").text == "page <1h/5m>"  # type: ignore[union-attr]
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert "18k" in labels or "20k" in labels  # the projected allowance sets the scale, in counts not %
    html = render_html(make_report([slo]))
    assert "Bad events consumed against the allowance" in html and "page &lt;1h/5m&gt;" in html


def test_window_events_from_warehouse_rows() -> None:
    alerts = pd.DataFrame(
        [
            {"slo": "a", "objective": "o", "severity": "page", "long_window": "1h", "short_window": "5m",
             "threshold": 14.4, "started_at": MARCH_1, "ended_at": pd.NA},
        ]
    )  # fmt: skip
    decisions = pd.DataFrame(
        [{"slo": "a", "objective": "o", "action": "freeze_deploys", "at": MARCH_1 - 60, "state": "engaged",
          "policy": "p", "reason": "remaining < 0"}]
    )  # fmt: skip
    events = window_events(alerts, decisions)[("a", "o")]
    assert [(e["kind"], e["t"]) for e in events] == [("decision", MARCH_1 - 60), ("alert", MARCH_1)]
    assert events[1]["label"].startswith(
        "page alert from 2026-03-01T00:00:00Z still firing: burn over 1h and 5m"
    )
