"""The evaluation report of a real pipeline run, rendered by the real ZenML dashboard in headless
Chromium: metric table, hit-rate curves, score histograms and data counts must show, with the
numbers of that run's evaluation.

Uses the session's e2e runs (tests/e2e/conftest.py) and serves their store with
``zenml login --local --blocking`` on a free port; no pipeline runs of its own. The screenshot goes
to ``docs/images/zenml-dashboard-report.png`` (or ``$EMBEDTUNE_DASHBOARD_SCREENSHOT``) and to the
test's tmp dir.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.browser import start_chromium, wait_for
from tests.conftest import PROJECT_ROOT
from tests.e2e.dashboard import LocalDashboard, open_report, save_small_png

pytestmark = pytest.mark.e2e

SCREENSHOT = Path(os.environ.get("EMBEDTUNE_DASHBOARD_SCREENSHOT")
                  or PROJECT_ROOT / "docs" / "images" / "zenml-dashboard-report.png")


@pytest.fixture(scope="module")
def dashboard(workspace, tmp_path_factory):
    server = LocalDashboard(workspace["env"], tmp_path_factory.mktemp("zenml-server") / "server.log")
    server.start()
    try:
        user = server.finish_onboarding()
        assert user["metadata"]["user_metadata"]["finished_onboarding_survey"] is True
        yield server
    finally:
        assert server.stop() == 0, server.log_tail()


@pytest.fixture
def browser(tmp_path):
    session = start_chromium(tmp_path / "chromium", window_size="1400,900")
    yield session
    session.quit()


def test_report_artifact_renders_in_the_dashboard_with_the_runs_numbers(dashboard, workspace, browser,
                                                                       tmp_path):
    from selenium.webdriver.common.by import By

    run = workspace["zenml"]["runs"][2]  # the run the gate compared with production
    evaluation = json.loads((workspace["root"] / "outputs-third" / "evaluation.json").read_text())
    open_report(browser, dashboard.url, run["id"], "evaluation_report")

    wait_for(lambda: [h for h in browser.find_elements(By.TAG_NAME, "h2")
                      if h.text == "Was finetuning worth it?"], what="the report's heading")
    def rendered_charts():
        charts = browser.find_elements(By.CSS_SELECTOR, "div.chart > svg")
        return charts if len(charts) == 2 and all(c.size["height"] > 100 for c in charts) else None

    charts = wait_for(rendered_charts, what="the hit-rate and score charts, drawn")
    assert all(chart.is_displayed() for chart in charts)

    # The first table: the shipped retrieval, then the options that need no finetuning.
    shipped, metric = evaluation["candidate"], evaluation["no_training"]["metric"]
    headers = [th.text for th in browser.find_elements(By.CSS_SELECTOR, "table:first-of-type th")]
    assert headers[:2] == ["retrieval", metric]
    first_rows = browser.find_elements(By.CSS_SELECTOR, "table:first-of-type tr")[1:]
    assert [r.find_elements(By.TAG_NAME, "td")[1].text for r in first_rows] == [
        f"{evaluation['metrics'][s][metric]:.3f}" for s in [shipped, *evaluation["no_training"]["options"]]]
    # Every system's row and the hit-rate curves carry this run's evaluation.
    for system in ("base", "finetuned", "bm25", shipped):
        row = browser.find_element(By.XPATH, f"//table[preceding::h3[@id='systems']]//tr[td[1]='{system}']")
        assert row.find_elements(By.TAG_NAME, "td")[1].text == f"{evaluation['metrics'][system]['hit_rate@1']:.3f}"
    for system in ("base", "finetuned", "bm25"):
        dots = browser.find_elements(By.CSS_SELECTOR, f"g.series[data-series='{system}'] circle")
        assert len(dots) == 10
        curve = {int(d.get_attribute("data-x")): float(d.get_attribute("data-y")) for d in dots}
        for k in (1, 5, 10):
            assert curve[k] == pytest.approx(evaluation["metrics"][system][f"hit_rate@{k}"], abs=1e-4)
    # One relevant and one best-wrong cosine per held-out query, for each embedding model.
    for model in ("base", "finetuned"):
        bars = browser.find_elements(
            By.CSS_SELECTOR, f"g.panel[data-panel='{model}'] g.histogram[data-name='relevant chunk'] rect")
        assert sum(int(bar.get_attribute("data-count")) for bar in bars) == evaluation["n_queries"]
    # Data counts: the e2e config sends 3 chunks per split to the LLM.
    sent = browser.find_element(By.XPATH, "//tr[td[1]='chunks sent to the LLM']")
    assert [td.text for td in sent.find_elements(By.TAG_NAME, "td")][1:] == ["3", "3"]
    assert browser.find_elements(By.XPATH, "//h3[normalize-space()='Promoted to production']")

    browser.execute_script("document.getElementById('hit-rate').scrollIntoView()")
    browser.switch_to.default_content()
    local = tmp_path / "zenml-dashboard-report.png"
    save_small_png(browser.get_screenshot_as_png(), local, SCREENSHOT)
    assert local.stat().st_size > 10_000
