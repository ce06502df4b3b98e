"""The MLflow UI in a real browser: a finished tiny search, opened by the link `cpt-search ui` prints.

Headless Chromium from Debian's packages (``scripts/setup.sh`` installs ``chromium`` and
``chromium-driver`` when run as root) driven by selenium, against ``cpt-search ui`` serving the store on
127.0.0.1. The search is real (Ray Tune, Optuna, MLflow on SQLite) and seed-confirmed, so the page shows
the confirmed values. Everything is local: it passes in CI's loopback-only network namespace.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                       reason="headless Chromium not installed (Debian: apt-get install chromium chromium-driver; "
                              "scripts/setup.sh does it as root)"),
]
selenium = pytest.importorskip("selenium", reason="selenium not installed (it is in the test extra)")

SPACE = {
    "name": "browsed", "task": "digits/mlp", "budget": "tiny", "seeds": [0], "trials": 3,
    "concurrency": 2, "sampler": {"name": "random", "seed": 5},
    "schedule": {"profile": ["cosine", "linear"], "num_cycles": [2], "min_bits": {"low": 3, "high": 6},
                 "bits_span": {"low": 0, "high": 3}},
    "confirm": {"seeds": [1, 2], "max_trainings": 4},
}
RENDER_TIMEOUT_S = 90


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    """A finished, seed-confirmed tiny search in its own store (one driver process, as a user runs it)."""
    root = tmp_path_factory.mktemp("browser")
    space = root / "browsed.yaml"
    space.write_text(yaml.safe_dump(SPACE), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    done = subprocess.run([sys.executable, "-m", "cpt_search", "run", str(space), "--store", str(root / "store")],
                          env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    from cpt_search.search.snapshot import load_search
    from cpt_search.store import Store

    front = load_search(Store.at(root / "store"), "browsed").front
    assert front.confirmed is not None and front.members
    return root, front


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def served(searched):
    """``cpt-search ui`` on the store: (its printed lines, the front link, the parent link)."""
    root, _ = searched
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    process = subprocess.Popen([sys.executable, "-m", "cpt_search", "ui", "--store", str(root / "store"),
                                "--port", str(port)], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while True:  # the links are printed before the server starts; then wait for it to answer
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5):
                    break
            except OSError:
                assert process.poll() is None, process.stdout.read()
                assert time.monotonic() < deadline, "mlflow ui did not come up"
                time.sleep(1)
        os.set_blocking(process.stdout.fileno(), False)
        lines = (process.stdout.read() or "").splitlines()
        block = lines[lines.index("cpt_search/browsed") + 1:]  # the search's links (its .confirm follows)
        block = block[:next((i for i, line in enumerate(block) if not line.startswith("  ")), len(block))]
        matches = (re.match(r"\s+(front|parent)\s+(http\S+)", line) for line in block)
        links = {m.group(1): m.group(2) for m in matches if m}
        assert {"front", "parent"} <= set(links), lines
        yield lines, links["front"], links["parent"]
    finally:
        process.terminate()
        process.communicate(timeout=30)


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1600,1000", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def _page_text(driver, url: str, until: str) -> str:
    """Open ``url`` and wait for the React app to render ``until``; returns the visible text."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    WebDriverWait(driver, RENDER_TIMEOUT_S).until(lambda d: until in d.find_element(By.TAG_NAME, "body").text)
    time.sleep(1.5)  # the table's cells fill in after its header
    return driver.find_element(By.TAG_NAME, "body").text


def test_the_front_link_lists_the_front_runs_with_metric_and_cost(searched, served, browser, tmp_path: Path) -> None:
    _, front = searched
    lines, front_url, _ = served
    assert "workflowType=machine_learning" in front_url and "viewStateShareKey=" in front_url
    text = _page_text(browser, front_url, "matching run")  # "1 matching run", "3 matching runs"
    browser.save_screenshot(str(tmp_path / "front.png"))  # kept under pytest's tmp dir, not the repo
    # The model-training view (not the GenAI overview), the shared view with the front filter.
    assert "Runs" in text and "GenAI" in text and "Model training" in text
    assert "How do I get started with MLflow GenAI" not in text
    # Exactly the front's runs, listed flat (no collapsed parent row counted with them).
    assert f"{len(front.members)} matching run" in text, text
    for member in front.members:
        assert f"{member.trial:03d} {member.label}" in text, (member.label, text)
    # The confirmed metric and the cost are among the pinned columns, on screen without scrolling.
    # Their left-to-right order is the UI's choice (it differed between Chromium builds), so only
    # their presence in the header is checked.
    header = text[text.index("Run Name"):text.index(f"{front.members[0].trial:03d} ")]
    for column in ("val_accuracy_confirmed", "relative_cost", "p_front", "n_seeds"):
        assert column in header, (column, header)
    for member in front.members:
        assert f"{member.metric:.4f}"[:5] in text and f"{member.relative_cost:.4f}"[:5] in text


def test_the_parent_link_shows_the_confirmed_front_table(searched, served, browser, tmp_path: Path) -> None:
    _, front = searched
    _, _, parent_url = served
    text = _page_text(browser, parent_url, "Description")
    browser.save_screenshot(str(tmp_path / "parent.png"))
    assert "Seed-confirmed Pareto front of browsed" in text
    assert "95 % interval" in text and "P(front)" in text and "relative_cost" in text
    for member in front.members:
        assert f"{member.trial:03d} {member.label}" in text


def test_an_experiment_opened_from_mlflows_own_list_shows_the_runs_not_the_genai_overview(
        searched, served, browser, tmp_path: Path) -> None:
    """A new user (no remembered view) clicks the search in MLflow's experiment list: the runs table
    of the model-training view opens, not the GenAI overview; a view the user picks is kept."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from cpt_search.tracking.ui_app import WORKFLOW_STORAGE_KEY

    lines, _, _ = served
    base = next(line.split()[2] for line in lines if line.startswith("MLflow UI: "))
    browser.get(base + "/health")
    browser.execute_script("window.localStorage.clear()")  # a browser that never saw this UI
    _page_text(browser, base + "/#/experiments", "cpt_search/browsed")
    link = WebDriverWait(browser, RENDER_TIMEOUT_S).until(
        lambda d: next((a for a in d.find_elements(By.TAG_NAME, "a") if a.text == "cpt_search/browsed"), None))
    assert "workflowType" not in (link.get_attribute("href") or "")  # MLflow's own link, not ours
    link.click()
    WebDriverWait(browser, RENDER_TIMEOUT_S).until(lambda d: "matching run" in d.find_element(By.TAG_NAME, "body").text)
    text = browser.find_element(By.TAG_NAME, "body").text
    browser.save_screenshot(str(tmp_path / "from_list.png"))
    # The UI itself carried the remembered view into the address it navigated to.
    assert "workflowType=machine_learning" in browser.current_url, browser.current_url
    assert "How do I get started with MLflow GenAI" not in text
    assert "Run Name" in text, text
    assert browser.execute_script(f"return window.localStorage.getItem('{WORKFLOW_STORAGE_KEY}')") == '"machine_learning"'
    # The user's own choice wins: a remembered GenAI view is left alone on the next load.
    browser.execute_script(f"window.localStorage.setItem('{WORKFLOW_STORAGE_KEY}', '\"genai\"')")
    browser.get(base + "/#/experiments")
    WebDriverWait(browser, RENDER_TIMEOUT_S).until(lambda d: "cpt_search/browsed" in d.find_element(By.TAG_NAME, "body").text)
    assert browser.execute_script(f"return window.localStorage.getItem('{WORKFLOW_STORAGE_KEY}')") == '"genai"'
