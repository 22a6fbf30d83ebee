"""Charts as inline SVG, drawn on the server: no JavaScript, nothing loaded, fine under the CSP.

Each chart has a <title> and a text summary for screen readers, and its numbers are also shown in
a table next to it (the templates do that).
"""

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Distinguishable with the common colour-vision deficiencies (Okabe–Ito).
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9"]
# One colour per outcome, whichever chart shows it: "unsubscribed" is the same in the report's
# bars, its timeline and the subscriber growth chart. Other series take PALETTE in turn.
STATUS_COLOURS = {
    "sent": "#0072B2",
    "delivered": "#56B4E9",
    "opened": "#009E73",
    "clicked": "#E69F00",
    "bounced": "#D55E00",
    "complained": "#882255",
    "unsubscribed": "#CC79A7",
    "failed": "#6F6F6F",
    "joined": "#0072B2",
    "confirmed": "#009E73",
}


def colour(key: str | None, index: int) -> str:
    """The colour of series `key` (an outcome), or the index-th of the palette."""
    return STATUS_COLOURS.get(key or "", PALETTE[index % len(PALETTE)])


FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def bar_chart(
    items: list[tuple[str, int]],
    *,
    title: str,
    width: int = 560,
    keys: list[str] | None = None,
) -> SafeString:
    """Horizontal bars, one per (label, value); `keys` names each bar's outcome for its colour."""
    row, label_width, pad = 24, 190, 8
    height = pad * 2 + row * max(len(items), 1)
    top = max([value for _, value in items] + [1])
    span = width - label_width - 60
    parts = [_open(width, height, title, ", ".join(f"{k}: {v}" for k, v in items))]
    for i, (label, value) in enumerate(items):
        y = pad + i * row
        length = round(span * value / top)
        fill = colour(keys[i] if keys else None, i)
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end" {FONT}>'
            f"{escape(label)}</text>"
            f'<rect x="{label_width}" y="{y + 3}" width="{max(length, 1)}" height="{row - 8}" '
            f'fill="{fill}"/>'
            f'<text x="{label_width + length + 6}" y="{y + 15}" {FONT}>{value}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every label is escaped above


def line_chart(
    labels: list[str], series: dict[str, list[int]], *, title: str, width: int = 640
) -> SafeString:
    """One line per series over shared x labels, with a legend; a single point shows as a dot."""
    height, left, right, top_pad, bottom = 240, 40, 12, 28, 40
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    top = max([max(values, default=0) for values in series.values()] + [1])
    n = max(len(labels), 1)

    def x(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(value: int) -> float:
        return top_pad + plot_h - plot_h * value / top

    summary = "; ".join(f"{name}: {sum(values)} in all" for name, values in series.items())
    parts = [_open(width, height, title, summary)]
    # Axes and a few horizontal guides with their values.
    for fraction in (0, 0.5, 1):
        value = round(top * fraction)
        gy = y(value)
        parts.append(
            f'<line x1="{left}" y1="{gy:.1f}" x2="{width - right}" y2="{gy:.1f}" '
            f'stroke="#ddd" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{gy + 4:.1f}" text-anchor="end" {FONT}>{value}</text>'
        )
    step = max(1, -(-n // 7))  # at most seven labels on the x axis, counted back from the last
    for i, label in enumerate(labels):
        if (n - 1 - i) % step == 0:
            # The end labels lean inwards so they are not cut off at the edges.
            anchor = "start" if i == 0 and n > 1 else "end" if i == n - 1 and n > 1 else "middle"
            parts.append(
                f'<text x="{x(i):.1f}" y="{height - bottom + 16}" text-anchor="{anchor}" {FONT}>'
                f"{escape(label)}</text>"
            )
    for k, (name, values) in enumerate(series.items()):
        stroke = colour(name, k)
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        if len(values) > 1:
            parts.append(
                f'<polyline points="{points}" fill="none" stroke="{stroke}" stroke-width="2"/>'
            )
        for i, v in enumerate(values):
            if len(values) == 1 or v:
                parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="2.5" fill="{stroke}"/>')
        lx = left + k * 120
        parts.append(
            f'<rect x="{lx}" y="6" width="10" height="10" fill="{stroke}"/>'
            f'<text x="{lx + 14}" y="15" {FONT}>{escape(name)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every label is escaped above


def _open(width: int, height: int, title: str, summary: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="engage-chart" role="img" '
        f'width="100%" viewBox="0 0 {width} {height}" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f"<desc>{escape(summary)}</desc>"
    )
