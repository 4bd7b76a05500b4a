"""Drive the real local ZenML dashboard (``zenml login --local --blocking``) for the e2e test.

How the report is reached, found in ZenML 0.98's dashboard bundle
(``zenml/zen_server/dashboard/assets/routes-*.js`` and ``page-*.js``): artifact versions have no
page of their own. A run's page is ``/projects/default/runs/<run id>``; clicking an artifact node
in its DAG opens a side sheet with the tabs Overview / Metadata / Visualization; an HTML
visualization then waits behind a "Load Preview" button (the dashboard asks before rendering
untrusted HTML) and is finally shown in ``<iframe title="Secure HTML Content" sandbox srcdoc=…>``,
without scripts. The first page a fresh server shows is an onboarding survey, skipped through the
API (``PUT /api/v1/current-user``) before the browser opens any page.
"""

from __future__ import annotations

import io
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ONBOARDING_DONE = {
    "email_opted_in": False,
    "full_name": "Local User",
    "user_metadata": {"finished_onboarding_survey": True, "awareness_channels": ["Other"]},
}
REPORT_IFRAME = "iframe[title='Secure HTML Content']"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalDashboard:
    """``zenml login --local --blocking`` on a free port, against the store of ``env``'s
    ``ZENML_CONFIG_PATH``; the server process is ours, so it is stopped with SIGINT (what Ctrl+C
    does to the blocking server) and waited for."""

    def __init__(self, env: dict[str, str], log_path: Path, port: int | None = None):
        self.env = {**env, "ZENML_ANALYTICS_OPT_IN": "false"}
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 180.0) -> "LocalDashboard":
        zenml = Path(sys.executable).parent / "zenml"
        log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [str(zenml), "login", "--local", "--blocking", "--port", str(self.port)],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"The ZenML server exited with {self.process.returncode}:\n"
                                   f"{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/v1/info", timeout=5) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(1)
        raise RuntimeError(f"The ZenML server did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def finish_onboarding(self) -> dict:
        """Mark the survey done for the (only) local user, so the dashboard opens on the page
        asked for instead of redirecting to the survey."""
        request = urllib.request.Request(
            f"{self.url}/api/v1/current-user", data=json.dumps(ONBOARDING_DONE).encode(),
            method="PUT", headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def stop(self, timeout: float = 30.0) -> int:
        """SIGINT, then wait; a server that ignores it is killed and reported as an error."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise RuntimeError(f"The ZenML server did not stop within {timeout:.0f} s of SIGINT; "
                               f"killed it.\n{self.log_tail()}") from None

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""


def open_report(browser, dashboard_url: str, run_id: str, artifact: str, timeout: float = 90.0):
    """Open the run's page, the artifact's side sheet, its Visualization tab and the preview;
    return with the driver switched into the report's iframe."""
    from selenium.webdriver.common.by import By

    from tests.browser import click_when_ready, wait_for

    browser.get(f"{dashboard_url}/projects/default/runs/{run_id}")
    # The DAG draws only the nodes in view, and it may open zoomed in on its first steps: fit it
    # to the view until the artifact's node is drawn.
    def artifact_node():
        found = browser.find_elements(By.XPATH, f"//p[normalize-space()='{artifact}']")
        if not found:
            for button in browser.find_elements(By.CSS_SELECTOR, "button[aria-label='Fit view']"):
                browser.execute_script("arguments[0].click()", button)
        return found

    node = wait_for(artifact_node, timeout, f"the {artifact} node in the run's DAG")[0]
    # A DAG of ~30 nodes is drawn to fit; a script click reaches a node however small it is.
    browser.execute_script("arguments[0].click()", node)
    click_when_ready(browser, By.XPATH, "//button[@role='tab'][normalize-space()='Visualization']",
                     timeout, "the Visualization tab of the artifact's sheet")
    click_when_ready(browser, By.XPATH, "//button[normalize-space()='Load Preview']",
                     timeout, "the Load Preview button")
    frame = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, REPORT_IFRAME),
                     timeout, "the iframe with the HTML visualization")[0]
    browser.switch_to.frame(frame)


def save_small_png(png: bytes, *paths: Path, colors: int = 128) -> None:
    """Save a screenshot as a palette PNG (a fraction of the size, fine for a UI screenshot
    committed to the repository)."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=colors)
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path, optimize=True)
