"""Tiny server-drawn SVG bar sparklines (like ``charts``: no JavaScript, no libraries)."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT, GAP = 132, 30, 2


def sparkline(counts: Sequence[int], labels: Sequence[str], title: str) -> Markup:
    """One bar per count, scaled to the largest; the last bar (the period in progress) is
    drawn lighter. Each bar's tooltip says its label and count."""
    if not counts:
        return Markup("")
    top = max(max(counts), 1)
    slot = WIDTH / len(counts)
    bar = max(1.0, slot - GAP)
    parts = [
        f'<svg class="spark" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>"
    ]
    for i, (count, label) in enumerate(zip(counts, labels, strict=True)):
        height = max(1.0, (HEIGHT - 2) * count / top) if count else 1.0
        cls = "now" if i == len(counts) - 1 else ("on" if count else "off")
        parts.append(
            f'<rect class="{cls}" x="{i * slot:.1f}" y="{HEIGHT - height:.1f}" '
            f'width="{bar:.1f}" height="{height:.1f}">'
            f"<title>{escape(label)}: {count}</title></rect>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every label and title is escaped above
