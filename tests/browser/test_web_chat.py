"""End to end in a real browser: headless Chromium drives the sandbox's web chat.

Uses the Debian packages ``chromium`` and ``chromium-driver`` (never a browser download:
selenium is given the driver path, so selenium-manager is not used). Skips without them.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.config import Settings
from bot.sandbox import Sandbox, SandboxOptions
from storage.models import Article

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WAIT = 20.0

if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    pytest.skip(
        f"headless Chromium not installed ({CHROMIUM} and {CHROMEDRIVER} are needed; "
        "apt-get install chromium chromium-driver)",
        allow_module_level=True,
    )
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")

from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

pytestmark = pytest.mark.timeout(180)


class SandboxThread:
    """The sandbox in its own thread and event loop (selenium calls block)."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.url = ""
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="sandbox", daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            try:
                async with Sandbox(self.settings, self.engine, SandboxOptions(port=0)) as sandbox:
                    self.url = sandbox.url
                    self._ready.set()
                    await self._stop.wait()
            finally:
                self._ready.set()

        try:
            asyncio.run(main())
        except BaseException as exc:  # reported to the test thread
            self.error = exc
            self._ready.set()

    def __enter__(self) -> SandboxThread:
        self._thread.start()
        if not self._ready.wait(WAIT) or self.error or not self.url:
            raise RuntimeError(f"sandbox did not start: {self.error!r}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(WAIT)


@pytest.fixture
def sandbox_url(settings: Settings, engine: Engine) -> Iterator[str]:
    """The sandbox with paged detail views (DIGESTBOT_RICH_MESSAGES=off)."""
    paged = settings.model_copy(update={"rich_messages": False})
    with SandboxThread(paged, engine) as running:
        yield running.url


@pytest.fixture
def rich_sandbox_url(settings: Settings, engine: Engine) -> Iterator[str]:
    """The sandbox with rich messages on (the default)."""
    with SandboxThread(settings, engine) as running:
        yield running.url


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tempfile.mkdtemp(prefix="digestbot-chromium-")
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=420,1400",
        f"--user-data-dir={profile}",
        "--lang=en-US",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def shots() -> Callable[[WebDriver, str], Path]:
    folder = Path(tempfile.mkdtemp(prefix="digestbot-screenshots-"))

    def take(driver: WebDriver, name: str) -> Path:
        path = folder / f"{name}.png"
        driver.save_screenshot(str(path))
        print(f"screenshot: {path}")  # noqa: T201 - where to look
        return path

    return take


# --- helpers --------------------------------------------------------------------------------


def wait(driver: WebDriver, condition: Callable[[WebDriver], Any], what: str) -> Any:
    def safe(d: WebDriver) -> Any:
        try:
            return condition(d)
        except StaleElementReferenceException:
            return None  # the message was edited in place; look again

    return WebDriverWait(driver, WAIT, poll_frequency=0.05).until(safe, f"waiting for {what}")


def bot_messages(driver: WebDriver) -> list[WebElement]:
    return driver.find_elements(By.CSS_SELECTOR, "#messages article.msg:not(.mine)")


def send(driver: WebDriver, text: str) -> int:
    """Type ``text`` and press Enter; returns how many bot messages there were before."""
    before = len(bot_messages(driver))
    box = driver.find_element(By.ID, "composer-input")
    box.send_keys(text)
    box.send_keys(Keys.ENTER)
    return before


def next_bot_message(driver: WebDriver, before: int) -> WebElement:
    def found(d: WebDriver) -> WebElement | None:
        messages = bot_messages(d)
        return messages[before] if len(messages) > before else None

    return wait(driver, found, f"bot message #{before + 1}")


def button(message: WebElement, label: str | re.Pattern[str]) -> WebElement:
    for candidate in message.find_elements(By.CSS_SELECTOR, ".keyboard .kb-btn"):
        text = candidate.text.strip()
        if label.search(text) if isinstance(label, re.Pattern) else text == label:
            return candidate
    labels = [b.text for b in message.find_elements(By.CSS_SELECTOR, ".keyboard .kb-btn")]
    raise AssertionError(f"no button {label!r}; buttons: {labels}")


def has_chinese(text: str) -> bool:
    return re.search(r"[\u4e00-\u9fff]", text) is not None


def article_id(engine: Engine, external_id: str) -> tuple[int, int]:
    with Session(engine) as session:
        row = session.exec(select(Article).where(Article.external_id == external_id)).one()
        assert row.id is not None
        return row.id, row.hot


# --- the test -------------------------------------------------------------------------------


def test_start_chinese_top_detail_next_page_and_share(
    sandbox_url: str,
    browser: WebDriver,
    engine: Engine,
    shots: Callable[[WebDriver, str], Path],
) -> None:
    driver = browser
    driver.get(sandbox_url)
    wait(driver, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready"), "page")
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    # Every form control has a label.
    for control in driver.find_elements(By.CSS_SELECTOR, "input:not([type=checkbox]), select"):
        control_id = control.get_attribute("id")
        assert driver.find_elements(By.CSS_SELECTOR, f"label[for='{control_id}']"), control_id

    # /start in English.
    greeting = next_bot_message(driver, send(driver, "/start"))
    wait(driver, lambda d: greeting.text.strip(), "the greeting text")
    assert not has_chinese(greeting.find_element(By.CSS_SELECTOR, ".body").text)
    assert greeting.find_elements(By.CSS_SELECTOR, ".keyboard .kb-btn")
    shots(driver, "1-start-en")

    # A long article (its English analysis is paged): › edits the same message to page 2.
    long_id, hot = article_id(engine, "sample-001")
    long_view = next_bot_message(driver, send(driver, f"/article {long_id}"))
    message_id = long_view.get_attribute("data-id")
    assert re.search(rf"🔥\D{{0,12}}{hot}\b", long_view.text), long_view.text
    first_page = button(long_view, re.compile(r"^1/\d+$")).text
    total = first_page.split("/")[1]
    assert int(total) >= 2
    count = len(bot_messages(driver))
    button(long_view, "›").click()

    def page_two(d: WebDriver) -> WebElement | None:
        node = d.find_element(By.CSS_SELECTOR, f"#messages article[data-id='{message_id}']")
        labels = [b.text for b in node.find_elements(By.CSS_SELECTOR, ".kb-btn")]
        return node if f"2/{total}" in labels else None

    edited = wait(driver, page_two, f"page 2/{total}")
    assert len(bot_messages(driver)) == count, "› edits in place, no new message"
    assert "‹" in [b.text for b in edited.find_elements(By.CSS_SELECTOR, ".kb-btn")]
    assert "edited" in edited.find_element(By.CSS_SELECTOR, ".meta").text
    assert not has_chinese(edited.find_element(By.CSS_SELECTOR, ".body").text)
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", edited)
    shots(driver, "2-detail-page-2-en")

    # Switch to 中文 with the /language buttons.
    chooser = next_bot_message(driver, send(driver, "/language"))
    chooser_id = chooser.get_attribute("data-id")
    count = len(bot_messages(driver))
    button(chooser, "简体中文").click()

    def confirmed_in_chinese(d: WebDriver) -> bool:
        # The language message is edited in place, or the bot confirms in a new message.
        latest = bot_messages(d)[count - 1 :]
        return any(
            has_chinese(m.find_element(By.CSS_SELECTOR, ".body").text)
            for m in latest
            if m.get_attribute("data-id") == chooser_id or latest.index(m) > 0
        )

    wait(driver, confirmed_in_chinese, "the bot confirming in Chinese")

    # /top in Chinese.
    top = next_bot_message(driver, send(driver, "/top"))
    body = top.find_element(By.CSS_SELECTOR, ".body")
    assert has_chinese(body.text), body.text
    assert body.get_attribute("lang") == "zh-Hans"
    assert top.find_elements(By.CSS_SELECTOR, ".body strong"), "titles are bold"
    shots(driver, "3-top-zh")

    # Open the first article's detail view.
    before = len(bot_messages(driver))
    button(top, re.compile(r"^📖 \d+$")).click()
    detail = next_bot_message(driver, before)
    detail_text = detail.find_element(By.CSS_SELECTOR, ".body").text
    assert has_chinese(detail_text)
    assert re.search(r"🔥\D{0,12}\d+", detail_text), detail_text
    assert re.search(r"⭐\D{0,12}\d+", detail_text) and re.search(r"💥\D{0,12}\d+", detail_text)
    shots(driver, "4-detail-zh")

    # Share: a deep link to the bot that opens the article.
    before = len(bot_messages(driver))
    button(detail, re.compile(r"^↗")).click()
    shared = next_bot_message(driver, before)
    links = [a.get_attribute("href") or "" for a in shared.find_elements(By.CSS_SELECTOR, "a")]
    deep = [h for h in links if re.match(r"https://t\.me/digest_sandbox_bot\?start=\S+", h)]
    assert deep, links
    assert any(h.startswith("https://t.me/share/url?") for h in links), links
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", shared)
    assert has_chinese(shared.text), shared.text
    shots(driver, "5-share-zh")

    # Following the deep link in the sandbox opens the article in the private chat.
    before = len(bot_messages(driver))
    shared.find_element(By.CSS_SELECTOR, f"a[href='{deep[0]}']").click()
    opened = next_bot_message(driver, before)
    assert re.search(r"🔥\D{0,12}\d+", opened.text), opened.text

    # Phone width: nothing overflows horizontally at 360 px.
    driver.set_window_size(360, 1200)
    overflow = driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"page is {overflow}px wider than a 360px screen"
    shots(driver, "6-phone-360")


def test_subscribe_conversation_in_traditional_chinese(
    sandbox_url: str, browser: WebDriver, shots: Callable[[WebDriver, str], Path]
) -> None:
    """A 繁體中文 user: /start, tap 訂閱, tap 台北 — two taps to 08:00 Taipei time."""
    driver = browser
    driver.get(sandbox_url)
    wait(driver, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready"), "page")
    driver.find_element(By.CSS_SELECTOR, "#new-user summary").click()
    driver.find_element(By.ID, "user-name").send_keys("美玲")
    driver.find_element(By.CSS_SELECTOR, "#user-lang option[value='zh-hant']").click()
    driver.find_element(By.CSS_SELECTOR, "#user-form button[type=submit]").click()
    wait(
        driver,
        lambda d: "美玲" in d.find_element(By.ID, "user-select").text,
        "the new user to be selected",
    )
    welcome = next_bot_message(driver, send(driver, "/start"))
    wait(driver, lambda d: "訂閱" in welcome.text, "the welcome in Traditional Chinese")
    message_id = welcome.get_attribute("data-id")
    button(welcome, "🔔 訂閱").click()

    def edited(needle: str) -> Callable[[WebDriver], WebElement | None]:
        def find(d: WebDriver) -> WebElement | None:
            node = d.find_element(By.CSS_SELECTOR, f"#messages article[data-id='{message_id}']")
            return node if needle in node.text else None

        return find

    subscribed = wait(driver, edited("訂閱成功"), "the subscribe reply")
    shots(driver, "zh-hant-1-subscribed")
    button(subscribed, "台北").click()
    taipei = wait(driver, edited("台北時間（UTC+08:00）"), "Taipei chosen")
    text = taipei.find_element(By.CSS_SELECTOR, ".body").text
    assert "08:00" in text and "第一份摘要" in text, text
    assert not any(ch in text for ch in "发们这时"), "Traditional characters only"
    assert "✓ 台北" in [b.text for b in taipei.find_elements(By.CSS_SELECTOR, ".kb-btn")]
    shots(driver, "zh-hant-2-taipei")


def test_rich_detail_shows_its_table_and_a_collapsible_analysis(
    rich_sandbox_url: str,
    browser: WebDriver,
    engine: Engine,
    shots: Callable[[WebDriver, str], Path],
) -> None:
    driver = browser
    driver.get(rich_sandbox_url)
    wait(driver, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready"), "page")
    seed_id, hot = article_id(engine, "seed-margin-financing-2026")
    detail = next_bot_message(driver, send(driver, f"/article {seed_id}"))
    body = wait(driver, lambda d: detail.find_element(By.CSS_SELECTOR, ".body.rich"), "rich body")
    assert body.find_element(By.TAG_NAME, "h2").text.startswith("Two Markets")
    headers = [th.text for th in body.find_elements(By.CSS_SELECTOR, "table th")]
    assert headers == ["🔥 Hot", "⭐ Quality", "💥 Impact"]
    assert str(hot) in [td.text for td in body.find_elements(By.CSS_SELECTOR, "table td")]
    details = body.find_element(By.TAG_NAME, "details")
    summary = details.find_element(By.TAG_NAME, "summary")
    assert summary.text == "📝 Analysis"
    first_paragraph = details.find_element(By.CSS_SELECTOR, "p")
    assert details.get_attribute("open") is None and not first_paragraph.is_displayed()
    shots(driver, "7-rich-detail-folded")
    summary.click()
    wait(driver, lambda d: first_paragraph.is_displayed() or None, "the analysis unfolded")
    assert "Silicon Valley's AI titans" in first_paragraph.text
    assert "for reference only" in body.find_element(By.TAG_NAME, "footer").text
    labels = [b.text for b in detail.find_elements(By.CSS_SELECTOR, ".keyboard .kb-btn")]
    assert labels == ["↗ Share", "🔗 Source"]
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", detail)
    shots(driver, "8-rich-detail-open")
