"""The Dagster UI in a real browser, on the world `make demo` builds, opened the way `make demo-ui` opens it.

A newcomer's first hour: the asset graph, an asset's partitions, sample days materialized from the launch
dialog, a mart's preview and plot, the automation page. Chromium is Debian's (`make test-integration`
installs it; `playwright install` downloads a browser and cannot run here). Every page is kept as a
screenshot under build/browser/ for CI's artifacts.
"""

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from tests.helpers import FETCHING, ROOT, RUNNING
from tests.services import dashboard_server, free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]

SHOTS = ROOT / "build" / "browser"
# Dagster asks a UI on 127.0.0.1 to join its community once; a user answers it once, the suite up front.
NO_COMMUNITY_PROMPT = "window.localStorage.setItem('communityNux', '1')"
LOCATION_QUERY = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"
BACKFILLS_QUERY = "{ partitionBackfillsOrError { ... on PartitionBackfills { results { id status } } } }"
FINISHED = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}
SAMPLE_DAYS = ("2024-07-11", "2024-07-12")


def _graphql(url: str, query: str) -> dict:
    """The UI's own API: the suite asks it what the pages are drawn from, to know when to look."""
    request = urllib.request.Request(
        f"{url}/graphql", data=json.dumps({"query": query}).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)["data"]


def _location_loaded(url: str) -> bool:
    try:
        entries = _graphql(url, LOCATION_QUERY)["workspaceOrError"]["locationEntries"]
    except OSError:
        return False
    return bool(entries) and all(entry["loadStatus"] == "LOADED" for entry in entries)


def _backfills(url: str) -> dict[str, str]:
    return {b["id"]: b["status"] for b in _graphql(url, BACKFILLS_QUERY)["partitionBackfillsOrError"]["results"]}


@pytest.fixture(scope="module")
def demo_world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """`make demo` into a world of its own (lake, catalog, Dagster instance), its output kept beside the shots."""
    home = tmp_path_factory.mktemp("demo-world")
    (home / "dagster").mkdir()
    shutil.copy(ROOT / "platform" / "dagster.yaml", home / "dagster" / "dagster.yaml")
    env = {
        **os.environ,
        "TICKERLAKE_LAKE_ROOT": str(home / "lake"),
        "TICKERLAKE_CATALOG": f"sqlite:{home / 'catalog.sqlite'}",
        "DAGSTER_HOME": str(home / "dagster"),
    }
    SHOTS.mkdir(parents=True, exist_ok=True)
    with (SHOTS / "demo.log").open("w") as log:
        command = [sys.executable, "sample/demo.py"]
        demo = subprocess.run(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    assert demo.returncode == 0, f"make demo failed: {SHOTS / 'demo.log'}"
    return env


@pytest.fixture(scope="module")
def ui_url(demo_world: dict[str, str]) -> Iterator[str]:
    """`make demo-ui` on a free port: the sample served for as long as the UI runs; stopped as Ctrl-C would."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with (SHOTS / "ui.log").open("w") as log:
        ui = subprocess.Popen(
            [sys.executable, "sample/ui.py", "127.0.0.1", str(port)],
            cwd=ROOT,
            env=demo_world,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 300
            while not _location_loaded(url):
                assert ui.poll() is None, f"the UI exited with {ui.returncode}: {SHOTS / 'ui.log'}"
                assert time.monotonic() < deadline, f"the UI did not load its code location in 5 minutes: {SHOTS}"
                time.sleep(2)
            yield url
        finally:
            os.killpg(ui.pid, signal.SIGINT)
            try:
                ui.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(ui.pid, signal.SIGKILL)
                ui.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is not installed: run `make test-integration`, which installs it"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        launched.close()


@contextlib.contextmanager
def _tab(browser: Browser, url: str, name: str, width: int, init_script: str | None = None) -> Iterator[Page]:
    """A fresh tab on `url`; whatever it shows last is kept as build/browser/<name>.png, passed or failed."""
    context = browser.new_context(base_url=url, viewport={"width": width, "height": 1000})
    if init_script:
        context.add_init_script(init_script)
    context.set_default_timeout(60_000)
    expect.set_options(timeout=60_000)  # a page is drawn first and filled in as its queries answer
    tab = context.new_page()
    try:
        yield tab
    finally:
        with contextlib.suppress(Exception):
            tab.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
        context.close()


@pytest.fixture
def page(browser: Browser, ui_url: str, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A tab on the Dagster UI."""
    with _tab(browser, ui_url, request.node.name, 1600, NO_COMMUNITY_PROMPT) as tab:
        yield tab


def test_the_asset_graph_shows_every_group(page: Page) -> None:
    page.goto("/asset-groups")
    for group in ("finra", "prices", "symbols", "staging", "marts", "crypto"):
        page.get_by_text(group, exact=True).first.wait_for()
    page.get_by_text("Materialize all").wait_for()


def test_an_assets_partitions_are_the_demos_trading_days(page: Page) -> None:
    """The demo's world ends 2024-07-12: 92 trading days, none missing, none after it."""
    page.goto("/assets/raw/finra_short_volume?view=partitions")
    page.get_by_text("Materialized (92)").wait_for()
    assert page.get_by_text("Missing (0)").is_visible()
    assert page.get_by_text("Failed (0)").is_visible()
    assert page.get_by_text("2024-07-15").count() == 0


def test_sample_days_materialize_from_the_launch_dialog(page: Page, ui_url: str) -> None:
    """The first thing a newcomer tried: two sample FINRA days from the UI, fetched from the sample's server."""
    before = _backfills(ui_url).keys()
    page.goto("/assets/raw/finra_short_volume")
    page.get_by_role("button", name="Materialize…").click()
    dialog = page.get_by_role("dialog")
    days = dialog.get_by_placeholder("ex: ", exact=False)
    days.fill(f"[{SAMPLE_DAYS[0]}...{SAMPLE_DAYS[1]}]")
    days.press("Enter")
    dialog.get_by_text("2 partitions").wait_for()
    dialog.get_by_role("button", name="Launch backfill").click()
    dialog.wait_for(state="hidden")

    deadline = time.monotonic() + 600
    while not (launched := _backfills(ui_url).keys() - before):
        assert time.monotonic() < deadline, "no backfill appeared after Launch backfill"
        time.sleep(2)
    (backfill,) = launched
    while (status := _backfills(ui_url)[backfill]) not in FINISHED:
        assert time.monotonic() < deadline, f"backfill {backfill} did not finish in 10 minutes"
        time.sleep(5)
    page.goto(f"/runs/b/{backfill}")
    page.get_by_text(f"{SAMPLE_DAYS[0]}...{SAMPLE_DAYS[1]}").wait_for()
    assert status in {"COMPLETED", "COMPLETED_SUCCESS"}, f"backfill {backfill}: {status}"
    page.get_by_text("Succeeded", exact=True).first.wait_for()
    page.get_by_text("100% completed").wait_for()
    page.goto("/assets/raw/finra_short_volume?view=partitions")
    page.get_by_text("Materialized (92)").wait_for()
    assert page.get_by_text("Failed (0)").is_visible()
    page.goto(f"/assets/raw/finra_short_volume?view=partitions&partition={SAMPLE_DAYS[1]}")
    page.get_by_text(re.compile(r"View all historical events \([1-9]")).wait_for()  # the demo's run, then ours


def test_a_marts_metadata_shows_its_preview_and_plot(page: Page) -> None:
    """The plot in place (text bars: the UI hides markdown of 1,000 characters or more), its PNG one click away."""
    page.goto("/assets/marts/mart_volatility_ranking")
    page.get_by_text("mean_return_volatility", exact=True).first.wait_for()
    expect(page.locator("tr", has=page.get_by_text("preview", exact=True))).to_contain_text("volatility_rank")
    bars = page.locator("tr", has=page.get_by_text("most volatile symbols", exact=True))
    expect(bars).to_contain_text("█")
    assert bars.get_by_text("[Show Markdown]").count() == 0
    page.locator("tr", has_text="bar chart (PNG)").get_by_text("[Show Markdown]").click()
    plot = page.get_by_role("dialog").locator("img")
    plot.wait_for()
    width, height = plot.evaluate("image => [image.naturalWidth, image.naturalHeight]")
    assert width > 200 and height > 200, "the plot's PNG did not load"


def test_the_automation_page_leaves_fetching_automations_stopped(page: Page) -> None:
    page.goto("/automation")

    def switch(name: str) -> Locator:
        row = page.locator("div[data-index]", has=page.get_by_text(name, exact=True))
        return row.locator("input[type=checkbox]").nth(1)  # after the row's selection box

    # A switch is drawn off until its state arrives: the running ones first, so the states have arrived.
    for name in sorted(RUNNING):
        expect(switch(name)).to_be_checked()
    for name in sorted(FETCHING):
        expect(switch(name)).not_to_be_checked()
    expect(page.locator("div[data-index]:has(input[type=checkbox])")).to_have_count(len(RUNNING | FETCHING))


@pytest.fixture(scope="module")
def dashboard_url(demo_world: dict[str, str]) -> Iterator[str]:
    """`make dashboard` (the API and the dashboard, one process) on a free port, over the demo's lake."""
    with dashboard_server(demo_world, SHOTS / "dashboard.log") as url:
        yield url


@pytest.fixture
def dashboard(browser: Browser, dashboard_url: str, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A tab on the dashboard."""
    with _tab(browser, dashboard_url, request.node.name, 1400) as tab:
        yield tab


def test_the_ranking_follows_the_look_back_and_a_click_shows_a_history(dashboard: Page) -> None:
    """The demo's symbols of every market ranked over a year; ten days rank them anew (the first row's
    volatility changes); a click on a symbol draws its rolling volatility."""
    dashboard.goto("/")
    first_volatility = dashboard.locator("#most-volatile tr").nth(1).locator("td").nth(4)
    first_volatility.wait_for()
    assert (
        dashboard.locator("#most-volatile tr").count() == 11 and dashboard.locator("#least-volatile tr").count() == 11
    )
    markets = set(dashboard.locator("#most-volatile tr td:nth-child(3)").all_inner_texts())
    assert len(markets) > 1, "symbols of several markets rank together"
    year = first_volatility.text_content()
    dashboard.fill("#lookback", "10")
    dashboard.press("#lookback", "Enter")
    expect(first_volatility).not_to_have_text(year)
    dashboard.fill("#lookback", "2")
    dashboard.press("#lookback", "Enter")
    expect(dashboard.locator("#ranking-message")).to_have_text("look-back: a whole number of days from 5 to 3650")
    dashboard.locator("#most-volatile button.symbol").first.click()
    dashboard.locator("#history .scatterlayer .trace").first.wait_for()
    expect(dashboard.locator("#history")).to_contain_text("21-day volatility")


def test_the_predictions_page_shows_the_models_evaluation(dashboard: Page) -> None:
    """The demo trains crypto_1m: its scores beside the baselines' as bars; no model promoted, no prediction."""
    dashboard.goto("/predictions")
    dashboard.locator("#evaluation .barlayer .trace").first.wait_for()
    expect(dashboard.locator("#evaluation")).to_contain_text("crypto_1m-")
    expect(dashboard.locator("#latest-predictions")).to_be_visible()


def test_the_short_page_shows_a_symbols_panel_and_the_sector_heat_map(dashboard: Page) -> None:
    """SOFI (on Nasdaq's threshold list in the sample) beside its close; an unknown symbol is named."""
    dashboard.goto("/short")
    dashboard.locator("#correlations .hm").first.wait_for()
    dashboard.fill("#short-symbol", "ZZZZ")
    dashboard.press("#short-symbol", "Enter")
    expect(dashboard.locator("#short-message")).to_have_text("symbol: no short-selling data for 'ZZZZ'")
    dashboard.fill("#short-symbol", "SOFI")
    dashboard.press("#short-symbol", "Enter")
    expect(dashboard.locator("#short-panel")).to_contain_text("SOFI: close, short ratio and days to cover")
    expect(dashboard.locator("#deciles")).to_contain_text("days_to_cover")


def test_every_api_endpoint_answers_on_the_demos_lake(dashboard_url: str) -> None:
    """The API over the demo's world (tests/test_api.py checks the values on a lake of its own): every
    endpoint answers, and each kind of bad parameter is the 4xx that names it."""
    with httpx.Client(base_url=f"{dashboard_url}/api/v1", timeout=60) as client:
        ranking = client.get("/ranking", params={"lookback_days": 365, "limit": 5}).json()
        assert ranking["total"] > 20 and len(ranking["rows"]) == 5
        assert client.get("/symbols/SOFI/short").json()["total"] > 0
        bars = client.get("/pairs/BTCUSDT/bars", params={"interval": "1h"}).json()
        assert bars["total"] > 0 and {"rsi_14", "bb_upper", "td_buy_setup", "s1"} <= set(bars["rows"][0])
        assert client.get("/alerts").json()["total"] > 0
        assert client.get("/predictions", params={"dataset": "crypto_1m"}).status_code == 200
        assert client.get("/models/crypto_1m/evaluation").json()["dataset"] == "crypto_1m"
        csv = client.get("/ranking", params={"format": "csv", "limit": 3})
        assert csv.headers["content-type"].startswith("text/csv") and len(csv.text.splitlines()) == 4
        assert client.get("/symbols/ZZZZ/short").status_code == 404
        assert client.get("/pairs/ZZZUSDT/bars").status_code == 404
        assert client.get("/ranking", params={"lookback_days": 2}).json()["detail"][0]["loc"] == [
            "query",
            "lookback_days",
        ]
        assert client.get("/symbols/SOFI/short", params={"start": "2024-07-10", "end": "2024-07-01"}).status_code == 400
        assert client.get("/pairs/BTCUSDT/bars", params={"start": "July"}).status_code == 422


def test_the_coin_explorer_draws_a_pairs_candles_and_ranks_the_universe(dashboard: Page) -> None:
    """The demo's three pairs by their coin's market cap rank (BTC 1st); a click on one draws its candles
    with the indicators, and each interval redraws them."""
    dashboard.goto("/coins")
    expect(dashboard.locator("#coin-chart")).to_contain_text("BTCUSDT 1h")
    ranks = dashboard.locator("#coin-universe tr td:nth-child(1)").all_inner_texts()
    pairs = dashboard.locator("#coin-universe tr td:nth-child(2)").all_inner_texts()
    assert pairs[0] == "BTCUSDT" and ranks[0] == "1" and set(pairs) == {"BTCUSDT", "ETHUSDT", "SOLUSDT"}
    dashboard.locator("#coin-universe a", has_text="ETHUSDT").click()
    expect(dashboard.locator("#coin-chart")).to_contain_text("ETHUSDT 1h")
    for shown in ("RSI 14", "bb_upper", "s1", "TD buy setup"):
        expect(dashboard.locator("#coin-chart .legend")).to_contain_text(shown)
    dashboard.get_by_role("radio", name="1d", exact=True).check()
    expect(dashboard.locator("#coin-chart")).to_contain_text("ETHUSDT 1d")
    dashboard.get_by_role("radio", name="1m", exact=True).check()
    expect(dashboard.locator("#coin-chart")).to_contain_text("ETHUSDT 1m")


# The alert sensor's tick and the run it asks for, as the daemon would do them, on the demo's instance.
FIRE_ALERTS = """
import sys
import dagster as dg
sys.path.insert(0, "platform")
from definitions import defs
from sensors.alerts import crypto_alerts_sensor
instance = dg.DagsterInstance.get()
with dg.build_sensor_context(instance=instance, definitions=defs) as context:
    requests = [r for r in crypto_alerts_sensor(context) or [] if isinstance(r, dg.RunRequest)]
assert len(requests) == 1, requests
job = defs.resolve_job_def("crypto_alerts_job")
assert job.execute_in_process(instance=instance, tags=requests[0].tags, raise_on_error=False).success
"""


def test_an_alert_added_on_the_page_is_fired_by_the_sensor(dashboard: Page, demo_world: dict[str, str]) -> None:
    """The demo's rules are listed; a bad threshold is refused naming the field; a rule added through the
    form is evaluated by the alert sensor's run on the sample, and its firing shows with the time it was
    sent; the rule can then be paused, resumed and deleted."""
    dashboard.goto("/alerts")
    expect(dashboard.locator("#rules-table")).to_contain_text("rsi-oversold-1h")
    expect(dashboard.locator("#delivered-table")).to_contain_text("td-sell-setup-1h")
    dashboard.fill("#rule-name", "btc-closed-above-zero")
    dashboard.locator("#rule-interval").click()
    dashboard.get_by_role("option", name="1d", exact=True).click()
    dashboard.locator("#rule-series").click()
    dashboard.get_by_role("option", name="close", exact=True).click()
    dashboard.locator("#rule-operator").click()
    dashboard.get_by_role("option", name="above", exact=True).click()
    dashboard.fill("#rule-pairs", "BTCUSDT")
    dashboard.fill("#rule-threshold", "zero")
    dashboard.click("#rule-add")
    expect(dashboard.locator("#rule-message")).to_contain_text("needs threshold: a number or a price or indicator")
    dashboard.fill("#rule-threshold", "0")
    dashboard.click("#rule-add")
    expect(dashboard.locator("#rule-message")).to_have_text("stored btc-closed-above-zero: close above 0 on 1d bars")
    expect(dashboard.locator("#rules-table")).to_contain_text("btc-closed-above-zero")

    fired = subprocess.run([sys.executable, "-c", FIRE_ALERTS], cwd=ROOT, env=demo_world, capture_output=True)
    assert fired.returncode == 0, fired.stderr.decode()[-3000:]
    dashboard.reload()
    # The sample's newest daily bar (2025-01-08) is still open: the closed bars within 24 hours of the
    # newest closed one (2025-01-07) fire, those of 01-06 and 01-07.
    delivered = dashboard.locator("#delivered-table tr", has_text="btc-closed-above-zero")
    expect(delivered).to_have_count(2)
    expect(delivered.first).to_contain_text("2025-01-07 00:00")
    expect(delivered.nth(1)).to_contain_text("2025-01-06 00:00")
    assert re.search(r"20\d\d-\d\d-\d\d \d\d:\d\d:\d\d UTC", delivered.first.inner_text()), "the time it was sent"
    row = dashboard.locator("#rules-table tr", has_text="btc-closed-above-zero")
    row.locator("button", has_text="pause").click()
    expect(dashboard.locator("#rule-message")).to_have_text("paused btc-closed-above-zero")
    expect(row.locator("td").nth(6)).to_have_text("paused")
    expect(row.locator("button").first).to_have_text("resume")
    row.locator("button", has_text="resume").click()
    expect(row.locator("td").nth(6)).to_have_text("active")
    row.locator("button", has_text="delete").click()
    expect(dashboard.locator("#rule-message")).to_have_text("deleted btc-closed-above-zero")
    expect(row).to_have_count(0)
    expect(delivered).to_have_count(2)  # what it fired stays delivered
