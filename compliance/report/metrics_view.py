"""The delivery metrics section of the Markdown and HTML reports (a table, the trend, the failed
deploys, and in HTML a small inline SVG of the deploys per day).

One module for both formats so the two say the same thing in the same words; each report calls
its function from one place. It renders the ``metrics`` section as the judge computed it and
decides nothing: a figure that is null is shown as "n/a" with the reason the document gives.
"""

from __future__ import annotations

from typing import Any

from compliance.base.timeutil import duration_text
from compliance.report.html_view import esc, link
from compliance.report.markdown_sections import _Section
from compliance.report.markdown_text import code, text

_MAX_LISTED = 20  # failed deploys named in the report; report.json keeps every deploy
_TREND_LABEL = {
    "deploys": "successful deploys",
    "deploys_per_week": "deploys per week",
    "lead_time_median_seconds": "lead time, median",
    "lead_time_p90_seconds": "lead time, p90",
    "change_failure_rate": "change failure rate",
    "time_to_restore_median_seconds": "time to restore, median",
}


def duration(seconds: Any) -> str:
    """A duration a reader takes in at a glance (``2h 05m``); "n/a" when there is none."""
    return duration_text(seconds)


def _pct(rate: Any) -> str:
    return "n/a" if not isinstance(rate, (int, float)) or isinstance(rate, bool) else f"{rate * 100:.1f}%"


def _trend_value(metric: str, value: Any) -> str:
    if value is None:
        return "n/a"
    if metric.endswith("_seconds"):
        return duration(value)
    return _pct(value) if metric == "change_failure_rate" else f"{round(value, 2):g}"


def _delta(metric: str, value: Any) -> str:
    """The change, signed: ``+2m 05s``, ``-6.6 pt``, ``+1``; "n/a" without both values."""
    if value is None:
        return "n/a"
    sign = "+" if value >= 0 else "-"
    if metric.endswith("_seconds"):
        return sign + duration(abs(value))
    if metric == "change_failure_rate":
        return f"{value * 100:+.1f} pt"
    return f"{round(value, 2):+g}"


def figures(m: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(metric, value, how it was counted or why it is n/a): the rows both formats show."""
    f, lt, cfr, ttr = m["deployment_frequency"], m["lead_time"], m["change_failure_rate"], m["time_to_restore"]
    rows = []
    if f["per_day"] is None:
        rows.append(("Deployment frequency", "n/a", f["reason"] or ""))
    else:
        rows.append(("Deployment frequency", f"{f['per_day']:g}/day · {f['per_week']:g}/week",
                     f"{f['deploys']} successful canonical deploys, {m['window']['since']} to "
                     f"{m['window']['until']}"))
    waiting = f"; not measured: {lt['pending']} pending, {lt['not_deployed']} not deployed"
    if lt["median_seconds"] is None:
        rows.append(("Lead time for changes", "n/a", (lt["reason"] or "") + waiting))
    else:
        rows.append(("Lead time for changes", f"median {duration(lt['median_seconds'])} · p90 "
                     f"{duration(lt['p90_seconds'])}", f"merge → covering successful run, {lt['measured']} "
                     f"changes, p90 {lt['percentile_method']}{waiting}"))
    if cfr["rate"] is None:
        rows.append(("Change failure rate", "n/a", cfr["reason"] or ""))
    else:
        rows.append(("Change failure rate", _pct(cfr["rate"]), f"{cfr['failed']} of {cfr['deploys']} deploys failed: "
                     "the run failed, its validation failed, or a fix deploy followed it"))
    if ttr["median_seconds"] is None:
        rows.append(("Time to restore", "n/a", ttr["reason"] or ""))
    else:
        rows.append(("Time to restore", f"median {duration(ttr['median_seconds'])}",
                     f"failed deploy → next good deploy, {ttr['restored']} restored, {ttr['unrestored']} not restored"))
    return rows


def _trend(doc: dict[str, Any]) -> list[dict[str, Any]]:
    trend = (doc.get("diff") or {}).get("metrics")
    return trend.get("deltas", []) if isinstance(trend, dict) else []


def _failed(m: dict[str, Any]) -> list[dict[str, Any]]:
    return [d for d in m.get("deploys", []) if d.get("failed")]


def _run_name(d: dict[str, Any]) -> str:
    num = f" #{d['run_number']}" if d.get("run_number") else ""
    attempt = f" attempt {d['attempt']}" if (d.get("attempt") or 1) > 1 else ""
    where = f"{d['target']}: " if d.get("target") else ""
    return f"{where}run {d['run_id']}{num}{attempt}"


def _shown(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The metrics to show; none for a pull request, which is judged before its deploy exists (its
    report.json still says why every figure is null), so a PR comment carries no table of n/a."""
    m = doc.get("metrics")
    return m if isinstance(m, dict) and doc.get("mode") != "pr" else None


def markdown_section(doc: dict[str, Any]) -> _Section | None:
    """The Markdown section (a table that fits any comment, then the failed deploys as items)."""
    m = _shown(doc)
    if m is None:
        return None
    lines = ["### Delivery metrics", "", "| Metric | Value | Counted |", "|---|---|---|"]
    lines += [f"| {name} | {value} | {text(note, 400)} |" for name, value, note in figures(m)]
    for t in m.get("by_target") or []:
        lines.append(f"| ↳ {text(t['target'], 80)} | " + " · ".join(
            value for _, value, _ in figures({**m, **t})) + " | per target |")
    deltas = [d for d in _trend(doc) if d["previous"] is not None or d["current"] is not None]
    if deltas:
        moved = [f"{_TREND_LABEL.get(d['metric'], d['metric'])} {_trend_value(d['metric'], d['previous'])} → "
                 f"{_trend_value(d['metric'], d['current'])} ({_delta(d['metric'], d['delta'])})"
                 for d in deltas if "target" not in d]
        lines += ["", "Since the previous audit: " + (" · ".join(moved) or "per target in the HTML and JSON reports")]
    elif (doc.get("diff") or {}).get("metrics") is not None:
        lines += ["", "Since the previous audit: the previous report has no delivery metrics"]
    lines.append("")
    section = _Section("metrics", lines, "failed deploys")
    for d in _failed(m):
        if section.full:
            section.skip()
            continue
        section.add(f"- failed deploy {code(_run_name(d), 120)} ({text(d['completed_at'], 40)}): {text(d['why'], 300)}",
                    counted=True)
    if section.items:
        section.add("")
    return section


def html_section(doc: dict[str, Any]) -> str:
    """The HTML section: the figures, the chart, the trend and the failed deploys."""
    m = _shown(doc)
    if m is None:
        return ""
    rows = "\n".join(f"<tr><th>{esc(name)}</th><td class=\"num\">{esc(value)}</td><td>{esc(note)}</td></tr>"
                     for name, value, note in figures(m))
    for t in m.get("by_target") or []:
        rows += "\n" + "".join(f"<tr><td>↳ {esc(t['target'])}: {esc(name.lower())}</td><td class=\"num\">{esc(value)}"
                               f"</td><td>{esc(note)}</td></tr>" for name, value, note in figures({**m, **t}))
    out = ["<section>\n<h2>Delivery metrics</h2>",
           '<p class="muted">After Google\'s Four Keys, from the runs, changes and evidence judged above '
           "(definitions in the README, Delivery metrics).</p>",
           f"<table>\n<tr><th>Metric</th><th>Value</th><th>Counted</th></tr>\n{rows}\n</table>"]
    chart = chart_svg(m.get("series"))
    if chart:
        out.append(chart)
    deltas = [d for d in _trend(doc) if d["previous"] is not None or d["current"] is not None]
    if deltas:
        merged = any("target" in d for d in deltas)  # a merged report: each target against its own past
        trs = "\n".join("<tr>" + (f"<td>{esc(d.get('target', ''))}</td>" if merged else "")
                        + f"<td>{esc(_TREND_LABEL.get(d['metric'], d['metric']))}</td>"
                        f"<td class=\"num\">{esc(_trend_value(d['metric'], d['previous']))}</td>"
                        f"<td class=\"num\">{esc(_trend_value(d['metric'], d['current']))}</td>"
                        f"<td class=\"num\">{esc(_delta(d['metric'], d['delta']))}</td></tr>" for d in deltas)
        out.append("<h3>Since the previous audit</h3>\n<table>\n<tr>" + ("<th>Target</th>" if merged else "")
                   + f"<th>Metric</th><th>Then</th><th>Now</th><th>Change</th></tr>\n{trs}\n</table>")
    failed = _failed(m)
    if failed:
        items = "\n".join(f"<li>{link(esc(_run_name(d)), d.get('url'))} ({esc(d['completed_at'])}): {esc(d['why'])}</li>"
                          for d in failed[:_MAX_LISTED])
        more = f"<p class=\"muted\">and {len(failed) - _MAX_LISTED} more in report.json</p>" if len(failed) > _MAX_LISTED else ""
        out.append(f"<h3>Failed deploys ({len(failed)})</h3>\n<ul>\n{items}\n</ul>{more}")
    out.append("</section>")
    return "\n".join(out)


def chart_svg(series: Any) -> str:
    """Deploys per bucket as bars (failed ones in red at the foot of each bar): inline SVG, no script,
    every label escaped; "" when there is no series."""
    if not isinstance(series, dict) or not series.get("buckets"):
        return ""
    buckets, width = series["buckets"], series.get("bucket_days", 1)
    top = max(max(b["deploys"] for b in buckets), 1)
    w, h, left, foot = 720, 150, 28, 22
    bar = (w - left) / len(buckets)
    unit = "day" if width == 1 else f"{width} days"
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="100%" role="img" '
             f'aria-label="deploys per {esc(unit)}" style="max-width:{w}px;display:block;margin:8px 0">',
             f"<title>Deploys per {esc(unit)} (failed in red)</title>",
             f'<line x1="{left}" y1="{h - foot}" x2="{w}" y2="{h - foot}" stroke="#d0d7de"/>',
             f'<text x="{left - 4}" y="12" text-anchor="end" font-size="10" fill="#57606a">{top}</text>',
             f'<text x="{left - 4}" y="{h - foot}" text-anchor="end" font-size="10" fill="#57606a">0</text>']
    scale = (h - foot - 8) / top
    for i, b in enumerate(buckets):
        x = left + i * bar + 1
        ok, bad = b["deploys"] - b["failed"], b["failed"]
        y = h - foot
        label = f"{b['start'][:10]}: {b['deploys']} deploys, {b['failed']} failed"
        parts.append(f"<g><title>{esc(label)}</title>")
        for count, colour in ((bad, "#cf222e"), (ok, "#1a7f37")):
            if count:
                y -= count * scale
                parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(bar - 2, 1):.1f}" height="{count * scale:.1f}" '
                             f'fill="{colour}"/>')
        parts.append("</g>")
    first, last = buckets[0]["start"][:10], buckets[-1]["start"][:10]
    parts += [f'<text x="{left}" y="{h - 6}" font-size="10" fill="#57606a">{esc(first)}</text>',
              f'<text x="{w}" y="{h - 6}" text-anchor="end" font-size="10" fill="#57606a">{esc(last)}</text>',
              "</svg>"]
    return "\n".join(parts)


__all__ = ["chart_svg", "duration", "figures", "html_section", "markdown_section"]
