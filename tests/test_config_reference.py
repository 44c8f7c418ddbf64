"""docs/configuration.md is generated from the settings models, so it cannot fall behind them."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from townsquare.cli import app
from townsquare.config import load_settings
from townsquare.config_reference import env_name, fields, from_environment, reference

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
REGENERATE = "regenerate it: PYTHONPATH=src python -m townsquare.cli config reference > docs/configuration.md"


def test_docs_match_the_models():
    assert DOC.read_text(encoding="utf-8") == reference(), f"docs/configuration.md is out of date; {REGENERATE}"


def test_the_command_prints_it():
    r = CliRunner().invoke(app, ["config", "reference"])
    assert r.exit_code == 0 and r.stdout == reference()


def test_every_setting_is_described_and_listed():
    text = reference()
    missing = [".".join(path) for path, info in fields() if not (info.description or "").strip()]
    assert not missing, "settings without a description= (the reference needs one): " + ", ".join(missing)
    for path, info in fields():
        assert f"**`{path[-1]}`**" in text or f"`[{'.'.join(path)}]`" in text, path
    assert "TOWNSQUARE_SITE_DEFAULTS__MODERATION_RULES__MAX_LINKS" in text
    assert "TOWNSQUARE_PUBLIC_URL" in text and "confirmation mails" in text


def _as_text(value) -> str:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


# Tried with each default's own value; an empty one would be ignored (as an empty variable is).
WITH_VALUES = [(p, i.get_default(call_default_factory=True)) for p, i in fields() if from_environment(i.annotation)]


@pytest.mark.parametrize("path, default", [(p, d) for p, d in WITH_VALUES if d is not None and _as_text(d)],
                         ids=lambda x: ".".join(x) if isinstance(x, tuple) else "")
def test_the_environment_names_are_real(path, default):
    """Each variable the reference names sets its setting."""
    settings = load_settings(None, environ={env_name(path): _as_text(default)})
    value = settings
    for part in path:
        value = getattr(value, part)
    assert value == default


def test_a_new_setting_appears_by_itself():
    """Settings added to the models later are listed with no change here (types included)."""
    import ipaddress

    from pydantic import Field, IPvAnyNetwork

    from townsquare.alerts.settings import AlertSettings
    from townsquare.config import Settings

    class Alerts(AlertSettings):
        allow_private_targets: bool = Field(False, description="Let webhooks reach private addresses")

    class Extended(Settings):
        trusted_proxies: list[IPvAnyNetwork] = Field(default_factory=lambda: [ipaddress.ip_network("10.0.0.0/8")],
                                                     description="Proxies whose forwarded addresses are believed")
        alerts: Alerts = Field(Alerts(), description="The alert delivery worker")

    text = reference(Extended)
    assert ('- **`trusted_proxies`**: list of IP networks; default `["10.0.0.0/8"]`; environment: file only.  \n'
            "  Proxies whose forwarded addresses are believed.") in text
    assert "`TOWNSQUARE_ALERTS__ALLOW_PRIVATE_TARGETS`" in text


def test_the_example_file_is_valid(tmp_path):
    example = reference().split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "ts.toml").write_text(example)
    settings = load_settings(tmp_path / "ts.toml", environ={})
    assert settings.public_url == "https://comments.example.org" and settings.email.starttls
