"""A real browser (Debian's chromium, driven by Playwright) asks the ScaleAI question and reads the answer.

Playwright never downloads a browser here: it launches /usr/bin/chromium, which `.ci/run` installs.
The time to the first answer text and to the finished answer are measured inside the page.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.ui.conftest import RunningApp

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
QUESTION = "How much did Meta pay for ScaleAI?"

# Runs in the page: note when Enter is pressed in the question box, when "Searching…" shows, when the
# first answer text shows and when the sources panel is filled (performance.now(), milliseconds).
TIMER = """() => {
  const t = (window.__ragTimes = {});
  const box = document.querySelector('#rag-question textarea');
  box.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && t.start === undefined) t.start = performance.now();
  }, true);
  const check = () => {
    if (t.start === undefined) return;
    const now = performance.now();
    if (t.searching === undefined && document.querySelector('#rag-chat .rag-searching')) t.searching = now;
    if (t.first === undefined && document.querySelector('#rag-chat .rag-answer, #rag-chat .rag-refusal')) t.first = now;
    if (t.done === undefined && document.querySelector('#rag-sources .rag-source')) t.done = now;
  };
  new MutationObserver(check).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    assert CHROMIUM.exists(), "chromium is missing: `apt-get install chromium` (.ci/run does it)"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield chromium
        chromium.close()


def test_the_scaleai_question_in_a_real_browser(browser: Any, ui_app: RunningApp, artifacts: Path) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    outside: list[str] = []

    def only_this_server(route: Any) -> None:  # offline: the page must fetch nothing but from our server
        url = route.request.url
        if urlparse(url).hostname == "127.0.0.1" or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    page.route("**/*", only_this_server)
    page.goto(ui_app.url)
    box = page.locator("#rag-question textarea")
    box.wait_for()
    chat = page.locator("#rag-chat")
    assert chat.get_by_text(QUESTION).is_visible()  # the example questions on the empty chat
    assert chat.get_by_text("Combien Meta a-t-elle payé pour ScaleAI ?").is_visible()

    page.evaluate(TIMER)
    box.fill(QUESTION)
    started = time.perf_counter()
    box.press("Enter")
    page.wait_for_function("() => window.__ragTimes.done !== undefined", timeout=60_000)
    wall = time.perf_counter() - started
    times = page.evaluate("() => window.__ragTimes")

    answer = chat.locator(".rag-answer").last
    assert "$14.3 billion" in answer.inner_text() and answer.is_visible()
    quote = page.locator("#rag-sources .rag-quote").first
    assert quote.is_visible() and "14.3" in quote.inner_text() and "Scale" in quote.inner_text()
    assert page.locator("#rag-sources mark.rag-figure", has_text="14.3").first.is_visible()
    page.wait_for_timeout(300)  # let the last frame paint before the screenshot
    shot = artifacts / "ui-scaleai.png"
    page.screenshot(path=str(shot), full_page=True)

    timings = {
        "feedback_ms": round(times["searching"] - times["start"], 1),
        "first_token_ms": round(times["first"] - times["start"], 1),
        "total_ms": round(times["done"] - times["start"], 1),
        "python_wall_ms": round(wall * 1000, 1),
    }
    (artifacts / "ui-timings.json").write_text(json.dumps(timings, indent=1))
    print(f"\nbrowser timings for {QUESTION!r}: {timings}; screenshot: {shot}")
    assert times["start"] <= times["searching"] <= times["first"] <= times["done"]

    # An example question on an empty chat, after "New conversation": French question, French answer.
    page.locator("#rag-reset").click()
    chat.get_by_text("Quel âge a Mark Zuckerberg ?").click()
    page.wait_for_selector("#rag-sources .rag-source", timeout=60_000)
    assert "41 ans" in chat.locator(".rag-answer").last.inner_text()
    # A refusal looks like a refusal, not an error.
    box.fill("What is the capital of Peru?")
    box.press("Enter")
    refusal = chat.locator(".rag-refusal")
    refusal.wait_for(timeout=60_000)
    assert "couldn't find this in the sources" in refusal.inner_text() and chat.locator(".rag-error").count() == 0
    assert outside == []
    page.close()
