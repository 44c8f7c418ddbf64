"""Mark the spans behind a decision in the comment's text, for the moderator's eyes."""

from __future__ import annotations

from markupsafe import Markup, escape


def spans_by_label(reasons: list[dict]) -> list[tuple[int, int, str]]:
    return [(start, end, r["label"]) for r in reasons for start, end in r.get("spans", [])]


def highlight(text: str, reasons: list[dict]) -> Markup:
    """The text, escaped, with each reason's spans in <mark> (overlapping spans merged, labels
    joined), and line breaks kept."""
    marks = sorted((max(0, a), min(len(text), b), label) for a, b, label in spans_by_label(reasons) if a < b)
    merged: list[list] = []
    for start, end, label in marks:
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
            merged[-1][2].add(label)
        else:
            merged.append([start, end, {label}])
    out, pos = [], 0
    for start, end, labels in merged:
        out.append(escape(text[pos:start]))
        out.append(Markup('<mark title="{}">{}</mark>').format(", ".join(sorted(labels)), text[start:end]))
        pos = end
    out.append(escape(text[pos:]))
    return Markup("").join(out).replace("\n", Markup("<br>\n"))
