"""`llm-energy report --html`: one self-contained page, opened in headless Chromium.

The browser test needs Chromium and its driver from the distribution (Debian: ``chromium`` and
``chromium-driver``) and `selenium` (the ``dev`` extra); the screenshot goes to the test's
temporary directory, or to ``$LLM_ENERGY_SCREENSHOT`` when set.
"""

from __future__ import annotations

import base64
import json
import os
import random
import re
import shutil
import tempfile
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tracker.cli._report import main
from tracker.render import _units as U

START = datetime(2026, 10, 1, tzinfo=timezone.utc)
MODELS = ["gpt-4o-mini", "gpt-4.1", "claude-haiku-4-5", "claude-sonnet-4-5", "llama-3.1-8b"]
REGIONS = ["gcp:us-central1", "aws:us-east-1", "world"]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def make_ledger(path: Path, lines: int, days: float, seed: int = 3) -> Path:
    rng = random.Random(seed)
    with path.open("w") as f:
        for _ in range(lines):
            when = START + timedelta(seconds=rng.uniform(0, days * 86400))
            kwh = rng.uniform(1e-6, 2e-3)
            grid = rng.choice([120.0, 380.0, 458.29])
            f.write(json.dumps({
                "timestamp": when.isoformat(), "event": "energy.request",
                "function": rng.choice(["answer", "summarise", "classify", None]),
                "labels": {"team": rng.choice(["search", "support"]), "env": "prod"},
                "gen_ai.request.model": rng.choice(MODELS),
                "gen_ai.provider.name": rng.choice(["openai", "anthropic"]),
                "energy.method": "calibrated", "energy.hardware": "h100",
                "energy.region": rng.choice(REGIONS), "energy.pue": 1.2,
                "energy.grid_gco2e_per_kwh": grid, "energy.grid_source": "registry",
                "energy.price_usd_per_kwh": 0.12,
                "gen_ai.usage.input_tokens": rng.randint(10, 4000),
                "gen_ai.usage.output_tokens": rng.randint(1, 900),
                "energy.kwh": kwh, "energy.gco2e": kwh * grid, "energy.usd": kwh * 0.12,
                "energy.water_l": kwh * 1.1}) + "\n")
    return path


class _Page(HTMLParser):
    """Tags, attributes and the totals' data-value of the generated page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.totals: dict[str, str] = {}
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        if (values.get("id") or "").startswith("total-"):
            self.totals[str(values["id"])[len("total-"):]] = str(values["data-value"])
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]


def report_json(ledger: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    assert main([str(ledger), "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 10,000-line, 30-day ledger and its HTML report."""
    root = tmp_path_factory.mktemp("html")
    ledger = make_ledger(root / "ledger.jsonl", 10_000, 30)
    page = root / "report.html"
    assert main([str(ledger), "--html", str(page)]) == 0
    return ledger, page


def test_the_page_is_self_contained_and_its_totals_are_the_json_totals(
        month: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    ledger, page = month
    html = page.read_text(encoding="utf-8")
    parsed = _Page()
    parsed.feed(html)
    assert "script" not in parsed.tags and "img" not in parsed.tags and "link" not in parsed.tags
    assert parsed.urls == [] and "url(" not in html and "@import" not in html
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", html)
    assert "default-src 'none'" in html  # the browser refuses any request
    doc = report_json(ledger, capsys)
    for key, value in doc["total"].items():
        assert parsed.totals[key] == repr(value), key  # exactly the same sums
    assert U.energy(doc["total"]["energy_kwh"]) in html
    assert U.carbon(doc["total"]["gco2e"]) in html
    assert parsed.tags.count("svg") >= 10  # over time, by model, function, provider, labels
    for model in MODELS:
        assert f">{model}<" in html
    assert "Energy over time" in html and "Carbon over time" in html
    assert "Energy by label team" in html
    assert "GoogleCloudPlatform" in html or "Our World in Data" in html  # factor sources


def test_one_day_of_data_draws_bars_by_hour(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    ledger = make_ledger(tmp_path / "day.jsonl", 300, 0.9)
    page = tmp_path / "day.html"
    assert main([str(ledger), "--html", str(page), "--by", "model"]) == 0
    html = page.read_text(encoding="utf-8")
    assert "Energy by hour" in html and "Energy over time" not in html
    assert "<polyline" not in html


def test_filters_apply_to_the_page(month: tuple[Path, Path], tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    ledger, _ = month
    page = tmp_path / "week.html"
    assert main([str(ledger), "--since", "2026-10-08", "--until", "2026-10-14",
                 "--html", str(page)]) == 0
    capsys.readouterr()
    parsed = _Page()
    parsed.feed(page.read_text(encoding="utf-8"))
    doc = report_json(ledger, capsys, "--since", "2026-10-08", "--until", "2026-10-14")
    assert 0 < doc["total"]["calls"] < 10_000
    assert parsed.totals["calls"] == repr(doc["total"]["calls"])
    assert parsed.totals["energy_kwh"] == repr(doc["total"]["energy_kwh"])


def _driver(profile: str) -> Any:
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.skip("needs the distribution's chromium and chromium-driver packages")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--window-size=1280,1000",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def test_chromium_renders_it_offline_without_errors(month: tuple[Path, Path], tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    ledger, page = month
    doc = report_json(ledger, capsys)
    with tempfile.TemporaryDirectory() as profile:
        driver = _driver(profile)
        try:
            driver.get("about:blank")
            driver.get_log("performance")  # drain what the browser did before the page
            driver.get_log("browser")
            url = page.resolve().as_uri()
            driver.get(url)
            shown = driver.execute_script(
                "return Object.fromEntries([...document.querySelectorAll('[id^=total-]')]"
                ".map(e => [e.id.slice(6), [e.dataset.value, e.textContent]]))")
            svgs = driver.execute_script(
                "return [...document.querySelectorAll('svg')].filter("
                "s => s.getBoundingClientRect().width > 200).length")
            console = driver.get_log("browser")
            events = [json.loads(e["message"])["message"] for e in driver.get_log("performance")]
            height = driver.execute_script("return document.documentElement.scrollHeight")
            driver.set_window_size(1280, min(int(height) + 40, 12_000))
            shot = Path(os.environ.get("LLM_ENERGY_SCREENSHOT") or tmp_path / "report.png")
            assert driver.save_screenshot(str(shot))
            pdf = base64.b64decode(driver.print_page())
        finally:
            driver.quit()
    assert console == [], console
    requests = [e["params"]["request"]["url"] for e in events
                if e["method"] == "Network.requestWillBeSent"]
    assert requests and all(r == url for r in requests), requests
    for key, value in doc["total"].items():
        assert shown[key][0] == repr(value), key
    assert shown["energy_kwh"][1] == U.energy(doc["total"]["energy_kwh"])
    assert shown["calls"][1] == f"{doc['total']['calls']:,}"
    assert svgs >= 10
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    assert pdf[:5] == b"%PDF-" and pdf.count(b"/Type /Page") >= 2
    print(f"screenshot: {shot}")


#: Every element that shows text, and whether it lies inside the viewport (or, for SVG text,
#: inside its chart) or spills out; tables scroll inside their own box and are left out.
_OUTSIDE = """
const width = window.innerWidth, bad = [];
for (const e of document.querySelectorAll('h1,h2,h3,p,li,dt,dd,figure svg text,footer')) {
  if (e.closest('.scroll') || !e.textContent.trim()) continue;
  const r = e.getBoundingClientRect();
  const box = e.closest('svg') ? e.closest('svg').getBoundingClientRect() : {left: 0, right: width};
  if (r.left < box.left - 1 || r.right > box.right + 1 || r.right > width + 1)
    bad.push([e.tagName, e.textContent.slice(0, 60), r.left, r.right, box.left, box.right]);
}
return [bad, document.documentElement.scrollWidth, width];
"""


@pytest.mark.parametrize("width", [1400, 390])
def test_no_text_outside_the_viewport(width: int, tmp_path: Path) -> None:
    """At a desktop and a phone width: labels inside their charts, the page never wider."""
    ledger = make_ledger(tmp_path / "ledger.jsonl", 600, 20)
    with ledger.open("a") as f:  # names longer than a chart's width, and markup-like ones
        for name in ("us.meta.llama3-1-405b-instruct-v1:0-with-a-very-long-deployment-suffix-2025",
                     "summarise_with_claude_and_then_translate_the_summary_into_french_please",
                     "<b>[/bold]</b>"):
            line = json.loads(ledger.read_text().splitlines()[0])
            line["gen_ai.request.model"] = line["function"] = name
            f.write(json.dumps(line) + "\n")
    page = tmp_path / "report.html"
    assert main([str(ledger), "--html", str(page)]) == 0
    html = page.read_text(encoding="utf-8")
    assert "&lt;b&gt;[/bold]&lt;/b&gt;" in html and "<b>[/bold]" not in html
    assert "Against the previous period" in html and "range " in html
    with tempfile.TemporaryDirectory() as profile:
        driver = _driver(profile)
        try:
            driver.set_window_size(width, 1000)
            driver.get(page.resolve().as_uri())
            inner = driver.execute_script("return window.innerWidth")
            if inner != width:  # the window has borders: size the viewport itself
                driver.set_window_size(2 * width - inner, 1000)
            bad, scroll_width, viewport = driver.execute_script(_OUTSIDE)
            titles = driver.execute_script(
                "return [...document.querySelectorAll('svg text.label title')]"
                ".map(t => t.textContent)")
        finally:
            driver.quit()
    assert bad == [], bad
    assert scroll_width <= viewport, (scroll_width, viewport)
    assert any(t.startswith("us.meta.llama3-1-405b-instruct") for t in titles)  # whole on hover
