"""A real browser (Debian's chromium, driven by Playwright) asks the ScaleAI question and reads the answer.

Playwright never downloads a browser here: it launches /usr/bin/chromium, which tests/run.sh installs.
The time to the first answer text and to the finished answer are measured inside the page.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.conftest import CORPUS
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
    if (t.done === undefined && document.querySelector('#rag-chat .rag-source')) t.done = now;
  };
  new MutationObserver(check).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    assert CHROMIUM.exists(), "chromium is missing: `apt-get install chromium` (tests/run.sh does it)"
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
    said = chat.locator(".rag-said").first
    assert said.inner_text().startswith("«") and "»" in said.inner_text()  # the quote reads as a quote
    quote = chat.locator(".rag-source .rag-quote", has_text="14.3").first  # the source the answer cites
    assert quote.is_visible() and "Scale" in quote.inner_text()
    assert chat.locator("mark.rag-figure", has_text="14.3").first.is_visible()
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

    # A second answer: a [1] in the FIRST answer still opens the first answer's own passage.
    box.fill("Where did Llama 4 rank on LMArena?")
    box.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('#rag-chat .rag-sources').length === 2", timeout=60_000)
    first_answer = chat.locator(".rag-answer").first
    first_answer.locator("a.rag-marker").first.click()
    active = page.locator(".rag-source.rag-active")
    assert active.count() == 1 and "14.3" in active.inner_text() and active.is_visible()
    assert active.get_attribute("id").startswith("rag-m1-")
    # Screen readers hear each answer's text, not its HTML.
    labels = [el.get_attribute("aria-label") for el in page.locator('[aria-label*="\'s message: "]').all()]
    assert labels and not any("<" in label for label in labels), labels

    # The chat's own trash icon is the same one reset: messages, memory and sources all go.
    page.locator("#rag-chat button[aria-label='Clear']").first.click()
    box.fill("How old is he?")
    box.press("Enter")
    page.wait_for_selector("#rag-chat .rag-refusal, #rag-chat .rag-answer", timeout=60_000)
    assert "Who or what do you mean" in chat.inner_text() and chat.locator(".rag-source").count() == 0

    # An example question on an empty chat, after "New conversation": French question, French answer.
    page.locator("#rag-reset").click()
    chat.get_by_text("Combien d'employés ont été licenciés ?").click()
    page.wait_for_selector("#rag-chat .rag-source", timeout=60_000)
    assert "100" in chat.locator(".rag-answer").last.inner_text() and "licenciés" in chat.inner_text()
    # A refusal looks like a refusal, not an error.
    box.fill("What is the capital of Peru?")
    box.press("Enter")
    refusal = chat.locator(".rag-refusal")
    refusal.wait_for(timeout=60_000)
    assert "couldn't find this in the sources" in refusal.inner_text() and chat.locator(".rag-error").count() == 0
    assert page.locator("#rag-title").inner_text().startswith("rag — ask your documents")
    assert " documents · " in page.locator("#rag-title").inner_text()
    assert outside == []
    page.close()


def test_a_refusal_offers_the_question_as_the_sources_spell_it_and_a_click_asks_it(
    browser: Any, ui_app: RunningApp
) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(ui_app.url)
    box = page.locator("#rag-question textarea")
    box.wait_for()
    chat = page.locator("#rag-chat")
    box.fill("Who leads MLS?")
    box.press("Enter")
    chat.locator(".rag-refusal").wait_for(timeout=60_000)
    assert "did you mean “MSL”?" in chat.inner_text()
    chat.get_by_role("button", name="Who leads MSL?").click()
    page.wait_for_function(
        "() => document.querySelectorAll('#rag-chat .rag-refusal, #rag-chat .rag-answer').length === 2",
        timeout=60_000,
    )
    asked = [m.inner_text() for m in chat.locator(".message.user, [data-testid='user']").all()]
    assert any("Who leads MSL?" in text for text in asked), asked
    assert chat.inner_text().count("did you mean") == 1  # asked as the sources write it, nothing to suggest
    page.close()


def test_a_phone_sees_sources_under_each_answer_without_scrolling_sideways(browser: Any, ui_app: RunningApp) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(ui_app.url)
    box = page.locator("#rag-question textarea")
    box.fill(QUESTION)
    box.press("Enter")
    page.wait_for_selector("#rag-chat .rag-source", timeout=60_000)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    card = page.locator("#rag-chat .rag-source").first
    answer = page.locator("#rag-chat .rag-answer").last
    assert card.bounding_box()["y"] > answer.bounding_box()["y"]  # right under its answer
    page.get_by_role("tab", name="Documents").click()
    header = page.locator("#rag-documents th").first
    header.wait_for()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    # Removing a document asks first; saying no removes nothing.
    asked: list[str] = []
    page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.locator("#rag-doomed input").click()
    page.get_by_role("option").first.click()
    page.get_by_role("button", name="Remove").click()
    page.wait_for_function("() => document.querySelector('#rag-doc-status textarea').value !== ''", timeout=10_000)
    assert page.locator("#rag-doc-status textarea").input_value() == "nothing removed"
    assert len(asked) == 1 and asked[0].startswith("Remove ") and asked[0].endswith(" from the index?")
    page.close()


def test_stop_ends_a_streaming_answer_and_the_box_waits_for_it(
    browser: Any, llm_server: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from ingest.pipeline import ingest_paths
    from rag.config import Settings
    from rag.engine import Engine
    from tests.conftest import free_port
    from ui.app import launch

    settings = Settings(
        home=tmp_path_factory.mktemp("stop-home"),
        answerer="openai",
        llm_base_url=llm_server,
        llm_model="smollm2",
        llm_context_window=2048,
        llm_max_tokens=1024,
        top_k=2,
    )
    ingest_paths([CORPUS / "related" / "scale-ai-deal.md"], settings, notice=lambda message: None)
    engine = Engine(settings)
    port = free_port()
    app = launch(settings, port=port, engine=engine, block=False, quiet=True)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"http://127.0.0.1:{port}/")
        box = page.locator("#rag-question textarea")
        box.fill("Write a long story about the Scale AI deal, in many paragraphs.")
        box.press("Enter")
        page.locator("#rag-chat .rag-streaming").wait_for(timeout=60_000)
        assert box.is_disabled()  # no second question can be typed, and so none is lost, while one streams
        page.get_by_role("button", name="Stop").click()
        try:
            page.locator("#rag-chat .rag-stopped").wait_for(timeout=10_000)
        except Exception as exc:
            raise AssertionError(page.locator("#rag-chat").inner_html()[-3000:]) from exc
        page.wait_for_function("() => !document.querySelector('#rag-question textarea').disabled", timeout=10_000)
        streamed = page.locator("#rag-chat .rag-stopped").inner_text()
        page.wait_for_timeout(1500)
        assert page.locator("#rag-chat .rag-stopped").inner_text() == streamed  # nothing arrives after Stop
        assert page.get_by_role("button", name="Ask").is_visible()
        # The answer's worker has let go of the server's stream (the next streamed piece made it stop).
        deadline = time.monotonic() + 10
        while any(t.name == "rag-answer" for t in threading.enumerate()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(t.name == "rag-answer" for t in threading.enumerate())
        page.close()
    finally:
        app.close()


def test_the_login_page_names_the_app_and_keeps_the_user_name_after_a_wrong_password(
    browser: Any, ui_app: RunningApp
) -> None:
    from tests.conftest import free_port
    from ui.app import launch

    port = free_port()
    app = launch(ui_app.settings, port=port, auth="ann:s3cret", engine=ui_app.engine, block=False, quiet=True)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"http://127.0.0.1:{port}/")
        password = page.locator("input[type=password]")
        password.wait_for()
        assert page.locator("#rag-login-name").inner_text() == "rag — ask your documents"
        user = page.locator("input[type=text], textarea").first
        user.fill("ann")
        password.fill("wrong")
        page.get_by_role("button", name="Login").click()
        page.get_by_text("Incorrect Credentials", exact=False).wait_for(timeout=10_000)
        page.wait_for_function("() => document.querySelector('input[type=text], textarea').value === 'ann'")
        password.fill("s3cret")
        page.get_by_role("button", name="Login").click()
        page.locator("#rag-question").wait_for(timeout=20_000)
        logout = page.locator("#rag-logout")
        assert logout.is_visible()
        logout.click()
        page.locator("input[type=password]").wait_for(timeout=20_000)  # logged out: the login page again
        page.close()
    finally:
        app.close()
