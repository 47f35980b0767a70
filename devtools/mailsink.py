"""A local SMTP server that keeps every message it gets, for development and tests.

Listens on 127.0.0.1 only (port 0 picks a free one), accepts any sender and
recipient, never relays, and writes each message as a ``.eml`` file into a
directory (``make run``: ``instance/mail/``) and keeps it in ``messages``.
Built on aiosmtpd's SMTP protocol, served from an event loop on a thread of its
own, so a test or ``devtools.devserver`` starts and stops it in-process.

    python -m devtools.mailsink --port 8025 --dir instance/mail
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import email
import email.policy
import itertools
import threading
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope

HOST = "127.0.0.1"
DEFAULT_PORT = 8025


class MailSink:
    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        self.messages: list[EmailMessage] = []
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._count = itertools.count(1)
        self._lock = threading.Lock()

    # aiosmtpd handler hook
    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(message)
            n = next(self._count)
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
            path = self.directory / f"{stamp}-{n:04d}.eml"
            path.write_bytes(raw)
            print(f" * Mail to {', '.join(envelope.rcpt_tos)} saved: {path}", flush=True)
        return "250 Message accepted for delivery"

    def start(self, port: int = 0) -> MailSink:
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                self._server = loop.run_until_complete(loop.create_server(
                    lambda: SMTP(self, hostname="mailsink.local", decode_data=False,
                                 enable_SMTPUTF8=True), HOST, port))
            except OSError as exc:
                failure.append(exc)
                ready.set()
                return
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            loop.run_forever()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="mailsink", daemon=True)
        self._thread.start()
        ready.wait(30)
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        loop, server = self._loop, self._server
        if loop is None:
            return

        async def close() -> None:
            if server is not None:
                server.close()
                await server.wait_closed()

        if server is not None:
            asyncio.run_coroutine_threadsafe(close(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(30)
        loop.close()
        self._loop = None


def main() -> None:
    parser = argparse.ArgumentParser(description="Keep e-mail sent to 127.0.0.1 in .eml files")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--dir", type=Path, default=Path("instance/mail"))
    args = parser.parse_args()
    sink = MailSink(args.dir).start(args.port)
    print(f" * Local mail sink on {HOST}:{sink.port}: messages are saved in {args.dir}/")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        sink.stop()


if __name__ == "__main__":
    main()
