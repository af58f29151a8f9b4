"""The postmortem section of an incident as HTML (autoescaped, with an inline SVG burn chart per SLO)
and Markdown, from `engine.incidents.postmortem.postmortem_evidence`."""

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD = 720, 180, 36


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("slo_pipelines.reports", "templates"),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda x: "—" if x is None else f"{x * 100:.2f}%"
    env.filters["num"] = lambda x: "—" if x is None else f"{x:g}"
    env.filters["burn"] = lambda x: "—" if x is None else f"{x:.2f}"
    return env


def burn_chart_svg(slo: dict[str, Any], window: dict[str, int]) -> Markup:
    """burn(1h) around the incident: the incident window shaded, the page threshold dashed, alerts marked."""
    ts: list[int] = slo["chart"]["t"]
    values: list[float | None] = slo["chart"]["burn_1h"]
    threshold = float(slo["chart"]["page_threshold"])
    if not ts:
        return Markup("")
    t0, t1 = ts[0], max(ts[-1], ts[0] + 1)
    top = max([v for v in values if v is not None] + [threshold]) * 1.1 or 1.0

    def x(t: float) -> float:
        return PAD + (t - t0) / (t1 - t0) * (WIDTH - 2 * PAD)

    def y(v: float) -> float:
        return HEIGHT - PAD - v / top * (HEIGHT - 2 * PAD)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="{escape(slo["name"])} burn rate (1 h) around the incident">',
        f'<rect x="{x(window["start"]):.1f}" y="{PAD}" '
        f'width="{max(1.0, x(window["end"]) - x(window["start"])):.1f}" '
        f'height="{HEIGHT - 2 * PAD}" fill="#fde2e1"><title>incident window</title></rect>',
        f'<line x1="{PAD}" x2="{WIDTH - PAD}" y1="{y(threshold):.1f}" y2="{y(threshold):.1f}" '
        f'stroke="#b00020" stroke-dasharray="4 3"><title>page threshold {threshold:g}</title></line>',
    ]
    run: list[str] = []
    for t, v in [*zip(ts, values, strict=True), (t1 + 1, None)]:
        if v is None:
            if len(run) > 1:
                parts.append(
                    f'<polyline fill="none" stroke="#1f4e9c" stroke-width="1.5" points="{" ".join(run)}"/>'
                )
            run = []
        else:
            run.append(f"{x(t):.1f},{y(v):.1f}")
    for alert in slo["alerts"]:
        ax = x(alert["epoch"])
        parts.append(
            f'<line x1="{ax:.1f}" x2="{ax:.1f}" y1="{PAD}" y2="{HEIGHT - PAD}" stroke="#e67e22">'
            f"<title>{escape(alert['severity'])} {escape(alert['long_window'])}/"
            f"{escape(alert['short_window'])} at {escape(alert['at'])}</title></line>"
        )
    parts.append(
        f'<text x="{PAD}" y="{PAD - 8}" font-size="12">burn rate 1 h (max {top / 1.1:.1f})</text></svg>'
    )
    return Markup("".join(parts))


def render_postmortem(evidence: dict[str, Any]) -> dict[str, str]:
    """{"html": ..., "md": ...}"""
    env = _environment()
    charts = {
        s["name"] + "/" + s["objective"]: burn_chart_svg(s, evidence["window"]) for s in evidence["slos"]
    }
    return {
        "html": env.get_template("postmortem.html.j2").render(incident=evidence, charts=charts),
        "md": env.get_template("postmortem.md.j2").render(incident=evidence),
    }
