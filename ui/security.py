"""Who may open the page: the login pair from `--auth` or `RAG_UI_AUTH`, and a warning for exposed addresses."""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Awaitable, Callable
from typing import Any

from rag.errors import SettingsError

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """`USER:PASSWORD` as a pair (None when unset). Raises SettingsError when either part is missing."""
    if value is None or value == "":
        return None
    user, sep, password = value.partition(":")
    if not sep or not user.strip() or not password:
        raise SettingsError("--auth (or RAG_UI_AUTH) must be USER:PASSWORD, both non-empty")
    return user.strip(), password


def bind_warning(host: str, auth: tuple[str, str] | None) -> str | None:
    """The warning to print when the page would be reachable from other machines without a login."""
    if host in LOCAL_HOSTS or auth is not None:
        return None
    return (
        f"warning: serving on {host} without a login: anyone who can reach this machine can read and change "
        "your documents; add --auth USER:PASSWORD (or set RAG_UI_AUTH)"
    )


class Throttle:
    """Wrong logins slow down: past the first FREE failures each attempt waits FIRST s, doubling up to MOST s.

    Attempts are taken one at a time, so parallel guesses queue behind each other's waits. A success, or
    QUIET seconds without a failure, starts over.
    """

    FREE, FIRST, MOST, QUIET = 3, 0.5, 5.0, 900.0

    def __init__(self) -> None:
        self.failures = 0
        self.last_failure = 0.0

    def delay(self, now: float) -> float:
        """Seconds the next attempt waits before its password is checked."""
        if now - self.last_failure > self.QUIET:
            self.failures = 0
        extra = self.failures - self.FREE
        return 0.0 if extra < 0 else min(self.MOST, self.FIRST * 2**extra)

    def record(self, success: bool, now: float) -> None:
        """Count a failure, or forget them all after a success."""
        if success:
            self.failures = 0
        else:
            self.failures += 1
            self.last_failure = now


def login_checker(credentials: tuple[str, str]) -> Callable[[str, str], Awaitable[bool]]:
    """Gradio's `auth` callable: the pair compared in constant time, repeated failures throttled."""
    user, password = (part.encode() for part in credentials)
    throttle, lock = Throttle(), asyncio.Lock()

    async def check(username: str, attempt: str) -> bool:
        async with lock:
            wait = throttle.delay(time.monotonic())
            if wait:
                await asyncio.sleep(wait)
            ok = hmac.compare_digest(username.encode(), user) & hmac.compare_digest(attempt.encode(), password)
            throttle.record(ok, time.monotonic())
            return ok

    return check


# Gradio's login form empties the user name after a wrong password and shows no app name; this puts the name
# back and titles the page (the page's own `js` does not run on the login page, so the script is added to the
# HTML of "/").
KEEP_USER_NAME = b"""<script>
(() => {
  let name = '', sent = false;
  const fields = () => [document.querySelector('input[type=password]'),
                        [...document.querySelectorAll('input[type=text], textarea')][0]];
  document.addEventListener('input', () => {
    const [pw, user] = fields();
    if (pw && user && user.value) name = user.value;
  }, true);
  const mark = () => { if (fields()[0]) sent = true; };
  document.addEventListener('click', (e) => { if (e.target.closest('button')) mark(); }, true);
  document.addEventListener('keydown', (e) => { if (e.key === 'Enter') mark(); }, true);
  setInterval(() => {
    const [pw, user] = fields();
    const heading = pw && document.querySelector('h2');
    if (heading && !document.getElementById('rag-login-name')) {  // the login page carries the app's name
      const name = document.createElement('h1');
      name.id = 'rag-login-name';
      name.textContent = 'rag \u2014 ask your documents';
      heading.before(name);
      document.title = 'rag \u2014 sign in';
    }
    if (!sent || !pw || !user || user.value || !name) return;
    sent = false;
    const setter = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(user), 'value').set;
    setter.call(user, name);
    user.dispatchEvent(new Event('input', {bubbles: true}));
  }, 100);
})();
</script>"""


class KeepLoginName:
    """ASGI middleware: adds KEEP_USER_NAME to the page's HTML (GET /), and touches nothing else."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] != "/":
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        body = bytearray()

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body"):
                return
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            html = bytes(body)
            if any(k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in headers):
                html = html.replace(b"</body>", KEEP_USER_NAME + b"</body>", 1)
            headers.append((b"content-length", str(len(html)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": html})

        await self.app(scope, receive, capture)
