"""A site's accent colours on its alert pages: checked for contrast (WCAG 2 relative luminance) so
links and buttons stay readable in light and dark."""

from __future__ import annotations

import re

HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
LIGHT_BG, DARK_BG = "#ffffff", "#17181c"  # the pages' backgrounds (static/page.css)
DEFAULT_LIGHT, DEFAULT_DARK = "#0a58ca", "#8ab4f8"
MIN_CONTRAST = 4.5  # WCAG 1.4.3 for text: the accent colours links, and button text is the background colour


def luminance(colour: str) -> float:
    def channel(v: int) -> float:
        c = v / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def check_accent(colour: str, background: str, mode: str) -> str:
    """`colour` if it is #rrggbb and reads well on the page's background in `mode`; ValueError saying why not."""
    if not HEX.match(colour):
        raise ValueError(f"{colour!r} is not a colour written #rrggbb")
    ratio = contrast(colour, background)
    if ratio < MIN_CONTRAST:
        raise ValueError(f"{colour} has a contrast of {ratio:.1f}:1 with the {mode} background ({background}); "
                         f"links and buttons need {MIN_CONTRAST}:1")
    return colour.lower()


def accents(light: str | None, dark: str | None) -> tuple[str, str]:
    """The (light, dark) accents a site's pages wear: its own, else the light one in dark mode too when it
    reads well there, else Townsquare's."""
    light = light or DEFAULT_LIGHT
    if dark is None:
        dark = light if contrast(light, DARK_BG) >= MIN_CONTRAST else DEFAULT_DARK
    return light, dark
