"""A site's accent colours for its alert pages: refused when they would not read well (WCAG contrast)."""

from __future__ import annotations

import pytest

from townsquare.config import ConfigError, SiteSettings, site_settings
from townsquare.domain import colours


def test_contrast_is_the_wcag_ratio():
    assert colours.contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert colours.contrast("#0a58ca", "#ffffff") == pytest.approx(6.4, abs=0.1)
    assert colours.contrast("#ffffff", "#ffffff") == pytest.approx(1.0)


def test_site_accents_must_read_well_on_their_background():
    chosen = site_settings(SiteSettings(), {"accent": "#B00020", "accent_dark": "#ff8a80"})
    assert (chosen.accent, chosen.accent_dark) == ("#b00020", "#ff8a80")
    with pytest.raises(ConfigError, match=r"#ffcc00 has a contrast of 1\.\d:1 with the light background"):
        site_settings(SiteSettings(), {"accent": "#ffcc00"})
    with pytest.raises(ConfigError, match="with the dark background"):
        site_settings(SiteSettings(), {"accent_dark": "#b00020"})
    with pytest.raises(ConfigError, match="not a colour written #rrggbb"):
        site_settings(SiteSettings(), {"accent": "red; background: url(x)"})


def test_dark_mode_keeps_the_accent_only_when_it_reads_well_there():
    assert colours.accents(None, None) == (colours.DEFAULT_LIGHT, colours.DEFAULT_DARK)
    assert colours.accents("#b00020", None) == ("#b00020", colours.DEFAULT_DARK)  # too dark on #17181c
    assert colours.accents("#b00020", "#ff8a80") == ("#b00020", "#ff8a80")
    assert colours.contrast("#ff8a80", colours.DARK_BG) >= colours.MIN_CONTRAST
