"""The real Argilla web UI, in headless Debian Chromium: sign in and see the pushed records.

The screenshot goes to ``outputs/test-artifacts/argilla-ui.png`` (gitignored), or to
``$EMBEDTUNE_UI_SCREENSHOT``. Chromium and chromedriver come from Debian
(``apt-get install chromium chromium-driver``; ``.ci/run`` installs them).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser import start_chromium, wait_for
from tests.conftest import PROJECT_ROOT
from tests.review.test_round_trip import make_rows

SCREENSHOT = Path(os.environ.get("EMBEDTUNE_UI_SCREENSHOT")
                  or PROJECT_ROOT / "outputs" / "test-artifacts" / "argilla-ui.png")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    session = start_chromium(tmp_path_factory.mktemp("chromium"))
    yield session
    session.quit()


def test_sign_in_and_see_the_pushed_records(browser, argilla_server, argilla_client, base_model):
    from selenium.webdriver.common.by import By

    from embedtune.config import ArgillaConfig
    from embedtune.review.push import push_queries

    rows = make_rows()
    result = push_queries(argilla_client, ArgillaConfig(api_url=argilla_server.url, dataset_prefix="ui"),
                          rows, base_model)

    browser.get(f"{argilla_server.url}/sign-in")
    username = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "input[type=text]"), what="sign-in form")[0]
    username.send_keys(argilla_server.username)
    browser.find_element(By.CSS_SELECTOR, "input[type=password]").send_keys(argilla_server.password)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(lambda: result.dataset in browser.page_source, what="the dataset in the home page")

    browser.get(result.url)
    body = lambda: browser.find_element(By.TAG_NAME, "body").text  # noqa: E731
    shown = wait_for(lambda: next((r for r in rows if r["query"] in body()), None), what="a record's query")
    assert shown["positive"] in body()  # the chunk field is shown with it
    assert "Does the chunk answer the query?" in body()
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000
