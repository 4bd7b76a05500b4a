"""Headless Debian Chromium driven by selenium, for the tests that check a real web UI (the
Argilla review UI, the ZenML dashboard). Chromium and chromedriver come from Debian
(``apt-get install chromium chromium-driver``; ``scripts/install_system_deps.sh`` installs them).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Callable, TypeVar

import pytest

CHROMIUM_FLAGS = (
    "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
    "--disable-background-networking --disable-component-update --disable-sync"
).split()

T = TypeVar("T")


def start_chromium(user_data_dir: Path, window_size: str = "1400,1000"):
    """A selenium session on Debian's chromium; fails (not skips) the test when it is missing,
    since a UI test that silently does not run proves nothing."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.fail("Debian chromium and chromium-driver are needed: apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    for flag in CHROMIUM_FLAGS + [f"--window-size={window_size}", f"--user-data-dir={user_data_dir}"]:
        options.add_argument(flag)
    options.binary_location = chromium
    return webdriver.Chrome(service=Service(driver), options=options)


def wait_for(condition: Callable[[], T], timeout: float = 60.0, what: str = "condition") -> T:
    """Poll ``condition`` until it returns something truthy (a single-page app renders after the
    page has "loaded"); return that value, or fail naming what never appeared."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"Timed out after {timeout:.0f} s waiting for {what}")


def click_when_ready(browser, by: str, locator: str, timeout: float = 60.0, what: str = "element") -> None:
    """Click an element ``locator`` finds, the first that takes the click.

    A single-page app adds an element before it can be clicked: a side sheet slides in, and
    until it has, its buttons are in the page but "not interactable". Finding the element is
    not enough, so the click itself is retried until the deadline.
    """
    from selenium.common.exceptions import (
        ElementClickInterceptedException,
        ElementNotInteractableException,
        StaleElementReferenceException,
    )

    def clicked() -> bool:
        for element in browser.find_elements(by, locator):
            try:
                element.click()
                return True
            except (ElementNotInteractableException, ElementClickInterceptedException,
                    StaleElementReferenceException):
                continue
        return False

    wait_for(clicked, timeout, f"{what} to take a click")
