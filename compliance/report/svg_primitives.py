"""The few SVG elements the timeline picture is drawn with, and the one way text gets into them.

Inline SVG is parsed as XML-ish foreign content inside the HTML page: a ``</svg>`` or ``<script>`` in a
commit subject would end the picture or start a script if it reached the markup raw. So every piece of
text and every attribute value goes through ``xml_text`` (the renderers' invisible class stripped, then
XML-escaped, quotes included), and element and attribute names are only ever our own constants.
Numbers are written with one decimal, so the same document always gives the same bytes.
"""

from __future__ import annotations

from typing import Any

from compliance.base.console import INVISIBLE_RE
from compliance.base.redact import strip_hidden

# the report's palette (html_view.CSS), as SVG presentation attributes need literal colours
COLOURS = {"pass": "#1a7f37", "fail": "#cf222e", "error": "#b35900", "pending": "#8250df", "waived": "#4f6d8f",
           "na": "#6e7781"}
INK, MUTED, LINE, PAPER = "#1f2328", "#57606a", "#d0d7de", "#f6f8fa"
FONT = "ui-monospace,SFMono-Regular,Menlo,Consolas,'DejaVu Sans Mono',monospace"
FONT_SIZE = 11.0
# monospace advance is 0.6 em in the usual faces; the margin keeps an estimate from ever being short
CHAR_EM = 0.64
MAX_LABEL = 48  # characters of one visible label: a long name is cut, its whole text stays in the tooltip
# what ``xml.sax.saxutils.escape(text, {'"': "&quot;", "'": "&apos;"})`` replaces, in one pass (the same
# bytes: its ``&`` goes first, and no replacement makes another); that module imports urllib.request, http
# and email, ~25 ms of every command's start-up
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"})


def xml_text(value: Any) -> str:
    """Text (or an attribute value) that stays text: invisible and control characters gone, then escaped."""
    text = "" if value is None else str(value)
    return strip_hidden(INVISIBLE_RE, text).translate(_ESCAPES)


def cut(value: Any, limit: int = MAX_LABEL) -> str:
    text = strip_hidden(INVISIBLE_RE, "" if value is None else str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def text_width(text: str, size: float = FONT_SIZE) -> float:
    """An upper bound of the drawn width of ``text`` in the picture's monospace face."""
    return len(text) * size * CHAR_EM


def num(value: float) -> str:
    out = f"{value:.1f}"
    return out[:-2] if out.endswith(".0") else out


def _attrs(attrs: dict[str, Any]) -> str:
    return "".join(f' {name}="{num(v) if isinstance(v, float) else xml_text(v)}"' for name, v in attrs.items()
                   if v is not None)


def element(tag: str, attrs: dict[str, Any], inner: str = "") -> str:
    """``tag`` and the attribute names are the caller's constants; ``inner`` is markup already built here."""
    return f"<{tag}{_attrs(attrs)}>{inner}</{tag}>" if inner else f"<{tag}{_attrs(attrs)}/>"


def title(tip: Any) -> str:
    """A tooltip: the full text a mark stands for (never drawn, so its length cannot crowd the picture)."""
    return f"<title>{xml_text(cut(tip, 400))}</title>" if tip else ""


def label(x: float, y: float, text: str, fill: str = INK, size: float = FONT_SIZE, tip: Any = None,
          backdrop: str | None = None) -> str:
    """Visible text, left-aligned at ``x`` on baseline ``y``; with ``backdrop`` it sits on a box of that
    colour, so a lane line or a link drawn before it does not run through the words."""
    attrs = {"class": "tl-text", "x": float(x), "y": float(y), "fill": fill, "font-size": float(size)}
    box = rect(x - 2.0, y - size, text_width(text, size) + 4.0, size + 4.0, backdrop) if backdrop else ""
    return box + element("text", attrs, xml_text(text) + title(tip))


def rect(x: float, y: float, w: float, h: float, fill: str, tip: Any = None, **extra: Any) -> str:
    return element("rect", {"x": float(x), "y": float(y), "width": float(max(w, 0.5)), "height": float(max(h, 0.5)),
                            "fill": fill, **extra}, title(tip))


def line(x1: float, y1: float, x2: float, y2: float, stroke: str = LINE, width: float = 1.0, **extra: Any) -> str:
    return element("line", {"x1": float(x1), "y1": float(y1), "x2": float(x2), "y2": float(y2), "stroke": stroke,
                            "stroke-width": float(width), **extra})


def circle(cx: float, cy: float, r: float, fill: str, tip: Any = None, **extra: Any) -> str:
    return element("circle", {"cx": float(cx), "cy": float(cy), "r": float(r), "fill": fill, **extra}, title(tip))


def polygon(points: list[tuple[float, float]], fill: str, tip: Any = None) -> str:
    pts = " ".join(f"{num(x)},{num(y)}" for x, y in points)
    return element("polygon", {"points": pts, "fill": fill}, title(tip))


def svg(width: float, height: float, body: list[str], name: str, aria: str) -> str:
    """The picture: scales to its container (``viewBox``), no script, no external reference."""
    attrs = {"xmlns": "http://www.w3.org/2000/svg", "class": f"tl {name}", "role": "img", "aria-label": aria,
             "viewBox": f"0 0 {num(width)} {num(height)}", "width": "100%", "font-family": FONT,
             "preserveAspectRatio": "xMinYMin meet"}
    return f"<svg{_attrs(attrs)}>" + "".join(body) + "</svg>"
