"""Settings: one table in resources/settings.py, the README's table the same, the environment read nowhere else."""

import re

import dagster as dg
import pytest

from resources import settings
from resources.finra import FinraClient
from resources.sec_fails import SecFailsClient
from resources.sectors import SecClient
from tests.helpers import ROOT

ROW = re.compile(r"^\| `(TICKERLAKE_[A-Z0-9_]+)` \| (.*?) \| (.*?) \|$")


def readme_settings() -> dict[str, tuple[str, str]]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Configuration") : text.index("## Layout")]
    return {m[1]: (m[2].strip("`"), m[3]) for m in map(ROW.match, section.splitlines()) if m}


def test_the_readme_table_is_the_settings_table() -> None:
    documented = readme_settings()
    declared = {s.name: (s.shown, s.meaning) for s in settings.SETTINGS}
    assert documented == declared


def test_only_the_settings_module_reads_the_environment() -> None:
    readers = [
        path.relative_to(ROOT).as_posix()
        for folder in ("assets", "resources", "sensors", "platform")
        for path in (ROOT / folder).rglob("*.py")
        if re.search(r"os\.environ|os\.getenv", path.read_text())
    ]
    assert readers == ["resources/settings.py"]


def test_an_unknown_setting_is_refused() -> None:
    with pytest.raises(KeyError, match="not a tickerlake setting"):
        settings.value("TICKERLAKE_NO_SUCH_THING")


def test_a_source_setting_wins_over_the_mirror(monkeypatch: pytest.MonkeyPatch) -> None:
    for setting in settings.SETTINGS:  # the session's platform build sets some for its whole life
        monkeypatch.delenv(setting.name, raising=False)
    monkeypatch.setenv(settings.MIRROR, "http://127.0.0.1:9")
    monkeypatch.setenv("TICKERLAKE_SEC_WWW_URL", "http://proxy.internal")
    config = settings.resource_config("sectors", SecClient.model_fields)
    assert config["www_url"] == "http://proxy.internal"
    assert config["data_url"] == "http://127.0.0.1:9/data.sec.gov"
    assert config["user_agent"] == dg.EnvVar("TICKERLAKE_SEC_USER_AGENT"), "a secret is passed by name only"
    assert settings.resource_config("finra", FinraClient.model_fields) == {
        "base_url": "http://127.0.0.1:9/cdn.finra.org"
    }
    fails = settings.resource_config("sec_fails", SecFailsClient.model_fields)
    assert fails == {"www_url": "http://proxy.internal", "user_agent": dg.EnvVar("TICKERLAKE_SEC_USER_AGENT")}, (
        "both SEC clients say who we are from one setting"
    )


def test_without_settings_a_client_keeps_its_real_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    for setting in settings.SETTINGS:
        monkeypatch.delenv(setting.name, raising=False)
    assert settings.resource_config("finra", FinraClient.model_fields) == {}
    assert (
        FinraClient(**settings.resource_config("finra", FinraClient.model_fields)).base_url == "https://cdn.finra.org"
    )


def test_the_readme_default_of_a_resource_setting_is_the_resources_own() -> None:
    """A setting that configures a resource field shows that field's default, not a copy that can drift."""
    from assets.exports import ExportDirectory
    from assets.sources import sources
    from resources.notifier import Notifier

    classes = {key: source.client for key, source in sources().items()} | {
        "notifier": Notifier,
        "exports": ExportDirectory,
    }
    drifted = {}
    for setting in settings.SETTINGS:
        if setting.resource is None or setting.secret:
            continue
        for key in (setting.resource, *setting.also):
            default = classes[key].model_fields[setting.field].default
            same = (
                str(default) == setting.shown.removeprefix("./")
                or (default is None and setting.shown == "-")
                or (isinstance(default, int | float) and float(default) == float(setting.shown))
            )
            if not same:
                drifted[f"{setting.name} ({key})"] = (setting.shown, default)
    assert drifted == {}


def test_a_literal_default_is_what_the_code_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TICKERLAKE_CRYPTO_1M_DAYS", raising=False)
    assert settings.value("TICKERLAKE_CRYPTO_1M_DAYS") == "7"
    monkeypatch.delenv("TICKERLAKE_END_DATE", raising=False)
    assert settings.value("TICKERLAKE_END_DATE") is None, "a shown default that is not a value stays the reader's"
