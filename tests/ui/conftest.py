"""Browser tests: real headless Chromium (Debian's chromium and
chromium-driver) driving the real UI that kore serves from assets/dist,
against the `server` fixture of tests/conftest.py.

Each test gets fresh browser profiles (`browser()` makes one; call it
again for a second person), which are closed and checked for JavaScript
errors afterwards. Screens are found the way people find them: by
headings, labels and button text, not by CSS classes.
"""
import importlib
import os
import shutil
import sys
import tempfile

import pytest
from selenium import webdriver
from selenium.common.exceptions import (StaleElementReferenceException,
                                        TimeoutException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from apiclient import PASSWORD, unique_email

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHOTS = os.path.join(ROOT, "docs", "screenshots")

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--hide-scrollbars",
    "--force-device-scale-factor=1", "--lang=en-US",
]


def xpath_literal(s):
    """s as an XPath string literal, whatever quotes it holds."""
    if "'" not in s:
        return f"'{s}'"
    if '"' not in s:
        return f'"{s}"'
    return "concat(" + ", \"'\", ".join(f"'{p}'" for p in s.split("'")) + ")"


class Browser:
    """One person's browser, with the few verbs the tests need."""

    def __init__(self, base, width, height, tz=None):
        self.base = base
        self.profile = tempfile.mkdtemp(prefix="inbox-chromium-")
        opts = webdriver.ChromeOptions()
        opts.binary_location = "/usr/bin/chromium"
        for flag in CHROMIUM_FLAGS:
            opts.add_argument(flag)
        opts.add_argument(f"--user-data-dir={self.profile}")
        opts.add_argument(f"--window-size={width},{height}")
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        env = dict(os.environ, TZ=tz) if tz else None
        self.driver = webdriver.Chrome(
            service=Service("/usr/bin/chromedriver", env=env), options=opts)
        self.driver.set_window_size(width, height)
        # Screens re-render while we look: an element found a moment ago
        # may be gone; look again rather than fail.
        self.wait = WebDriverWait(
            self.driver, 15,
            ignored_exceptions=[StaleElementReferenceException])

    def quit(self):
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    # --- navigation -------------------------------------------------------

    def open(self, path="/"):
        """Loads the app at #path (reloading it if it is there already:
        a same-hash get() would do nothing)."""
        if self.driver.current_url == self.base + "/#" + path:
            self.driver.refresh()
        else:
            self.driver.get(self.base + "/#" + path)
        return self

    def path(self):
        url = self.driver.current_url
        return url.split("#", 1)[1] if "#" in url else "/"

    def wait_path(self, path):
        try:
            self.wait.until(lambda d: self.path() == path)
        except TimeoutException:
            raise AssertionError(f"expected #{path}, at #{self.path()}")

    # --- finding ----------------------------------------------------------

    def find(self, css, scope=None):
        return (scope or self.driver).find_element(By.CSS_SELECTOR, css)

    def find_all(self, css, scope=None):
        return (scope or self.driver).find_elements(By.CSS_SELECTOR, css)

    def wait_for(self, css):
        try:
            return self.wait.until(lambda d: self._visible(css))
        except TimeoutException:
            raise AssertionError(f"no visible {css!r}; page says:\n{self.text()}")

    def _visible(self, css):
        for el in self.driver.find_elements(By.CSS_SELECTOR, css):
            if el.is_displayed():
                return el
        return False

    def text(self):
        return self.driver.find_element(By.TAG_NAME, "body").text

    def wait_text(self, text, css="body"):
        try:
            self.wait.until(lambda d: any(
                text in el.text for el in d.find_elements(By.CSS_SELECTOR, css)))
        except TimeoutException:
            raise AssertionError(f"no {text!r} in {css}; page says:\n{self.text()}")

    def wait_heading(self, text):
        self.wait_text(text, "h1")

    def field(self, label, scope=None):
        """The control that the visible label names."""
        def find(_):
            labels = (scope or self.driver).find_elements(
                By.XPATH, f".//label[normalize-space()={xpath_literal(label)}]")
            for lab in labels:
                ctl = self.driver.find_elements(By.ID, lab.get_attribute("for"))
                if ctl:
                    return ctl[0]
            return False
        try:
            return self.wait.until(find)
        except TimeoutException:
            raise AssertionError(f"no field labelled {label!r}; page says:\n{self.text()}")

    def button(self, text, scope=None):
        xp = (f".//*[self::button or self::a][normalize-space()={xpath_literal(text)}"
              f" or @aria-label={xpath_literal(text)}]")
        def find(_):
            for el in (scope or self.driver).find_elements(By.XPATH, xp):
                if el.is_displayed():
                    return el
            return False
        try:
            return self.wait.until(find)
        except TimeoutException:
            raise AssertionError(f"no button {text!r}; page says:\n{self.text()}")

    def wait_focus(self, el):
        """Waits for el to have the focus (it moves after rendering)."""
        try:
            self.wait.until(lambda d: d.switch_to.active_element == el)
        except TimeoutException:
            active = self.driver.switch_to.active_element
            raise AssertionError("focus is on " + active.get_attribute("outerHTML")[:200])

    # --- doing ------------------------------------------------------------

    def fill(self, label, value, scope=None):
        el = self.field(label, scope)
        el.clear()
        el.send_keys(value)
        return el

    def erase(self, label, scope=None):
        """Empties a text field as a person does (clear() fires no input
        event, which is what the app listens to)."""
        el = self.field(label, scope)
        el.send_keys(Keys.CONTROL, "a")
        el.send_keys(Keys.BACKSPACE)
        return el

    def click(self, text, scope=None):
        self.button(text, scope).click()

    def confirm(self, trigger, answer):
        """Clicks the button labelled trigger, then answer in the
        question that replaces it."""
        self.click(trigger)
        self.click(answer, self.wait_for(".confirm"))

    def check(self, label, scope=None):
        """Clicks the radio button or checkbox that label wraps."""
        lab = (scope or self.driver).find_element(
            By.XPATH, f".//label[normalize-space()={xpath_literal(label)}]")
        lab.find_element(By.TAG_NAME, "input").click()

    def choose(self, label, value, scope=None):
        from selenium.webdriver.support.ui import Select
        Select(self.field(label, scope)).select_by_value(value)

    def shot(self, name):
        """Saves docs/screenshots/<name>.png, when UI_SCREENSHOTS=1: the
        committed pictures change only when someone means to update them."""
        if os.environ.get("UI_SCREENSHOTS") != "1":
            return
        os.makedirs(SHOTS, exist_ok=True)
        self.driver.save_screenshot(os.path.join(SHOTS, name + ".png"))

    # --- the steps many tests share --------------------------------------

    def signup(self, org="Acme", name="Ann Owner", email=None,
               password=PASSWORD):
        """Signs up through the form; returns the email used."""
        email = email or unique_email("owner")
        self.open("/signup")
        self.wait_heading("Create your organization")
        self.fill("Organization name", org)
        self.fill("Your name", name)
        self.fill("Email", email)
        self.fill("Password", password)
        self.click("Create organization")
        self.wait_path("/inbox")
        self.wait_heading("Inbox")
        return email

    def login(self, email, password=PASSWORD):
        self.open("/login")
        self.wait_heading("Sign in")
        self.fill("Email", email)
        self.fill("Password", password)
        self.click("Sign in")

    def account_menu(self):
        """Opens the account menu; returns its panel."""
        if not self.find_all("#account-panel"):
            self.find(".account-button").click()
        return self.wait_for("#account-panel")

    def current_org(self):
        return self.find(".account-org").text

    def logout(self):
        self.click("Log out", self.account_menu())
        self.wait_path("/login")

    def nav(self, label):
        """Follows the main navigation's link that starts with label (the
        Inbox link also carries its unread count)."""
        def find(_):
            for a in self.find_all(".mainnav a"):
                if a.text.startswith(label):
                    return a
            return False
        try:
            self.wait.until(find).click()
        except TimeoutException:
            raise AssertionError(f"no {label!r} in the main navigation")

    def mark_page(self):
        """Marks this page load; page_was_kept() then says whether what
        changed since came without a reload."""
        self.driver.execute_script("window.__sameLoad = true")

    def page_was_kept(self):
        return self.driver.execute_script("return window.__sameLoad === true")

    def js_errors(self):
        """Console errors other than failed requests (a 401 is expected)
        and refused websocket connections (the live stream reconnects by
        design: the tests check that it does)."""
        return [e["message"] for e in self.driver.get_log("browser")
                if e["level"] == "SEVERE"
                and "Failed to load resource" not in e["message"]
                and "WebSocket connection to" not in e["message"]]


def _root_conftest(config):
    """tests/conftest.py, the module: while the browser tests run, this
    file holds the name "conftest" in sys.modules."""
    path = os.path.join(ROOT, "tests", "conftest.py")
    for plugin in config.pluginmanager.get_plugins():
        if getattr(plugin, "__file__", None) == path:
            return plugin
    raise RuntimeError("tests/conftest.py is not loaded")


def api_tests_module(config, name):
    """tests/api/<name>.py, for its helpers. Those modules import
    `conftest` meaning tests/conftest.py, which is put back under that
    name for the import."""
    api_dir = os.path.join(ROOT, "tests", "api")
    if api_dir not in sys.path:
        sys.path.insert(0, api_dir)
    mine = sys.modules.get("conftest")
    sys.modules["conftest"] = _root_conftest(config)
    try:
        return importlib.import_module(name)
    finally:
        sys.modules["conftest"] = mine


@pytest.fixture
def kore_nodes(request, fakes, tmp_path):
    """start() starts another kore on the test database, configured as
    the `server` fixture's (tests/conftest.py's Server: stop() and
    start() it again at will); all are stopped at the end."""
    root = _root_conftest(request.config)
    started = []

    def start():
        env = dict(fakes.bases, PLUGINS=root.TEST_PLUGINS)
        node = root.Server(str(tmp_path / f"kore{len(started)}"), env=env)
        os.makedirs(node.dir)
        started.append(node)
        return node.start()

    yield start
    for node in started:
        node.stop()
        assert "died" not in node.read_log(), node.read_log()[-3000:]


@pytest.fixture(scope="session")
def dispatcher(request, fakes, tmp_path_factory):
    """An inbox-dispatcher (tests/api/test_dispatcher.py's, with its short
    timeouts and backoffs) sending what the browser tests queue to the
    fakes; started by the first test that needs sends to go out."""
    root = _root_conftest(request.config)
    Dispatcher = api_tests_module(request.config, "test_dispatcher").Dispatcher
    d = Dispatcher(tmp_path_factory.mktemp("dispatcher"),
                   dict(fakes.bases, PLUGINS=root.TEST_PLUGINS)).start()
    yield d
    d.stop()
    log = d.read_log()
    assert "Segmentation" not in log and "AddressSanitizer" not in log


@pytest.fixture
def browser(server):
    """Makes browsers: browser() for a desktop, browser(360, 740) for a
    phone, browser(tz="Asia/Tokyo") for someone elsewhere,
    browser(base=url) for another server. All are closed at the end, and
    must have logged no JS error."""
    made = []

    def make(width=1200, height=800, tz=None, base=None):
        b = Browser(base or server.url, width, height, tz)
        made.append(b)
        return b

    yield make
    errors = []
    for b in made:
        try:
            errors += b.js_errors()
        finally:
            b.quit()
    assert not errors, "JavaScript errors:\n" + "\n".join(errors)
