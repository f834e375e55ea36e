"""A scripted stand-in for the system browser: follows the OAuth server's pages over HTTP as a person would click them.

The app calls `open_browser(url)`; this opens nothing on screen but, on another thread like a real
browser, follows redirects, fills in oidc-provider's development login form, approves (or cancels) the
consent page, and finally loads the app's loopback redirect.
"""

from __future__ import annotations

import re
import threading
from urllib.parse import urljoin, urlsplit

import requests

#: How long a page may take: the local OAuth server has taken over 10 s on a loaded CI machine.
PAGE_SECONDS = 60


class ScriptedBrowser:
    def __init__(self, *, account: str = "maria", approve: bool = True, tamper_state: bool = False,
                 drop_state: bool = False):
        self.account, self.approve, self.tamper_state, self.drop_state = account, approve, tamper_state, drop_state
        self.opened: list[str] = []
        #: The app's loopback page the sign-in ended on: (HTTP status, its text).
        self.last_page: tuple[int, str] | None = None
        self.errors: list[BaseException] = []
        self._threads: list[threading.Thread] = []

    def __call__(self, url: str) -> bool:
        self.opened.append(url)
        thread = threading.Thread(target=self._run, args=(url,), daemon=True)
        thread.start()
        self._threads.append(thread)
        return True

    def join(self) -> None:
        for thread in self._threads:
            thread.join(timeout=4 * PAGE_SECONDS)
        if self.errors:
            raise self.errors[0]

    def _run(self, url: str) -> None:
        try:
            self._browse(url)
        except BaseException as exc:  # reported by join(): a thread's exception is otherwise lost
            self.errors.append(exc)

    def _browse(self, url: str) -> None:
        web = requests.Session()
        for _ in range(20):
            if urlsplit(url).path == "/callback":
                if self.tamper_state:
                    url = re.sub(r"state=[^&]+", "state=forged", url)
                if self.drop_state:
                    url = re.sub(r"[?&]state=[^&]+", "", url).replace("/callback&", "/callback?")
                page = web.get(url, timeout=PAGE_SECONDS)
                self.last_page = (page.status_code, page.text)
                return
            response = web.get(url, allow_redirects=False, timeout=PAGE_SECONDS)
            if response.is_redirect:
                url = urljoin(url, response.headers["Location"])
                continue
            page = response.text
            action = re.search(r'<form[^>]*action="([^"]+)"', page)
            if response.status_code != 200 or action is None:
                raise AssertionError(f"unexpected page at {url}: {response.status_code} {page[:300]}")
            target = urljoin(url, action.group(1))
            if 'name="prompt" value="login"' in page:
                response = web.post(target, data={"prompt": "login", "login": self.account, "password": "any"},
                                    allow_redirects=False, timeout=PAGE_SECONDS)
            elif not self.approve:
                response = web.get(target.rstrip("/") + "/abort", allow_redirects=False, timeout=PAGE_SECONDS)
            else:
                response = web.post(target, data={"prompt": "consent"}, allow_redirects=False, timeout=PAGE_SECONDS)
            url = urljoin(target, response.headers["Location"])
        raise AssertionError("the sign-in went round in circles")
