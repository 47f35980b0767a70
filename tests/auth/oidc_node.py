"""panva's certified ``oidc-provider`` (Node.js), run locally for the sign-in tests.

``devtools/oidc-node/server.mjs`` serves it in a profile that behaves like
Microsoft Entra ID, Okta or Google Workspace. The packages come from that
folder's package-lock.json, installed once with ``npm ci`` (no browser, no
binary); without Node.js and npm the tests that need it are skipped.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import selectors
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests

NODE_DIR = Path(__file__).resolve().parents[2] / "devtools" / "oidc-node"
REDIRECT_URI = "http://portal.test/login/callback"
CLIENT_ID = "cme-portal-node"
CLIENT_SECRET = "node-test-client-secret"  # noqa: S105
PROFILES = ("entra", "okta", "google")
#: Seconds for the server to print its address (it makes its signing keys first).
START_TIMEOUT = 60


def require_node() -> str:
    """The ``node`` executable, or skip the test with the reason."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("Node.js and npm are not installed; the tests against panva's "
                    "oidc-provider need them (devtools/oidc-node)")
    return node


def install() -> None:
    """``npm ci`` in devtools/oidc-node, unless node_modules matches the lock file already."""
    npm = shutil.which("npm")
    assert npm is not None
    lock = NODE_DIR / "package-lock.json"
    marker = NODE_DIR / "node_modules" / ".installed-lock-sha256"
    wanted = hashlib.sha256(lock.read_bytes()).hexdigest()
    with open(NODE_DIR / ".install.lock", "w") as guard:
        # Two test runs in the same checkout install one after the other.
        fcntl.flock(guard, fcntl.LOCK_EX)
        if marker.exists() and marker.read_text() == wanted:
            return
        subprocess.run(  # noqa: S603 - fixed arguments
            [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=NODE_DIR, check=True, timeout=600, stdin=subprocess.DEVNULL,
        )
        marker.write_text(wanted)


class NodeProvider:
    """One running server in one profile; ``issuer`` is its URL."""

    def __init__(self, profile: str, node: str, log: Path) -> None:
        self.profile = profile
        self._log = open(log, "w")  # noqa: SIM115 - closed in stop()
        self._process = subprocess.Popen(  # noqa: S603 - fixed arguments
            [node, "server.mjs", profile, REDIRECT_URI, CLIENT_ID, CLIENT_SECRET],
            cwd=NODE_DIR, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=self._log, text=True,
        )
        self.issuer = self._read_address()

    def _read_address(self) -> str:
        assert self._process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self._process.stdout, selectors.EVENT_READ)
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline:
                if selector.select(timeout=deadline - time.monotonic()):
                    line = self._process.stdout.readline()
                    if not line:
                        break
                    if line.startswith("listening "):
                        return line.split()[1]
        self.stop()
        raise RuntimeError(f"the {self.profile} provider did not start; see {self._log.name}")

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._log.close()


class NodeBrowser:
    """A person signing in through the Node provider: our site through ``client``."""

    def __init__(self, client) -> None:
        self.client = client

    def sign_in(self, claims: dict, next_url: str | None = None):
        """Sign in at the provider as the account with ``claims``; our callback's response."""
        login = self.client.get("/login" if next_url is None else f"/login?next={next_url}")
        assert login.status_code == 302, login.get_data(as_text=True)
        with requests.Session() as provider:
            answer = provider.get(login.headers["Location"], allow_redirects=False, timeout=10)
            assert answer.status_code == 303, answer.text
            interaction = urljoin(answer.url, answer.headers["Location"])
            answer = provider.post(f"{interaction}/login", data={"claims": json.dumps(claims)},
                                   allow_redirects=False, timeout=10)
            for _ in range(5):
                assert answer.status_code in (302, 303), answer.text
                target = urljoin(answer.url, answer.headers["Location"])
                if urlsplit(target).netloc == "portal.test":
                    callback = urlsplit(target)
                    return self.client.get(f"{callback.path}?{callback.query}")
                answer = provider.get(target, allow_redirects=False, timeout=10)
        raise AssertionError("the provider never sent the browser back to the site")
