"""Handing one message to the mail server, saying exactly how far it got.

The answer can be lost: if the connection drops after the message was handed
over (after ``DATA`` was accepted), the server may have queued it or not. Such a
message is reported ``Unknown`` and never sent again automatically (a duplicate
is worse than a gap the staff console shows). Everything before that point is
safe to try again: a refused or failed connection, a ``4xx`` answer to ``MAIL``,
``RCPT`` or ``DATA``, and a ``4xx`` answer to the message itself (the server
said it did not take it).
"""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from typing import Any

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

#: CRLF line ends; header lines folded only past RFC 5322's 998 characters, so a long
#: ``List-Unsubscribe`` address stays one plain URL rather than encoded words.
POLICY = SMTP_POLICY.clone(max_line_length=998)
#: The same with UTF-8 headers, for an address beyond ASCII (``josé@example.org``, which
#: the import accepts) sent with SMTPUTF8 (RFC 6531).
UTF8_POLICY = POLICY.clone(utf8=True)


@dataclass(frozen=True)
class Settings:
    server: str
    port: int
    use_tls: bool
    username: str
    password: str
    sender: str
    timeout: float
    tries: int
    retry_base: float

    @classmethod
    def from_config(cls, config: Any) -> Settings:
        return cls(config["MAIL_SERVER"], config["MAIL_PORT"], config["MAIL_USE_TLS"],
                   config["MAIL_USERNAME"], config["MAIL_PASSWORD"], config["MAIL_FROM"],
                   config["MAIL_TIMEOUT"], max(1, config["NOTIFY_RETRY_TRIES"]),
                   config["NOTIFY_RETRY_BASE_SECONDS"])

    def __repr__(self) -> str:  # never the password
        return f"<mail settings {self.server}:{self.port} tls={self.use_tls}>"


class NotSent(Exception):
    """The server certainly did not take the message; it may be tried again."""


class Refused(Exception):
    """The server refused the message for good (a 5xx answer)."""


class Unknown(Exception):
    """The message was handed over and the answer was lost: it may have been delivered."""


class Stopped(Exception):
    """The mail settings do not work (sign-in refused): nothing more is tried in this run."""


def build(*, sender: str, to: str, subject: str, text: str, html: str, message_id: str,
          date: str, unsubscribe_url: str | None) -> EmailMessage:
    msg = EmailMessage(policy=POLICY)
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = date
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"
    if unsubscribe_url:
        # RFC 8058 one-click: mail programs POST "List-Unsubscribe=One-Click" to the link.
        msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


def _classify(code: int, reply: bytes, step: str) -> Exception:
    words = reply.decode("utf-8", "replace")[:300]
    if 400 <= code < 500 or code == -1:
        return NotSent(f"{step}: {code} {words}")
    return Refused(f"{step}: {code} {words}")


def _stuffed(data: bytes) -> bytes:
    """The message as DATA carries it: leading dots doubled, ended by a lone dot."""
    data = re.sub(rb"(?m)^\.", b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _send_once(settings: Settings, msg: EmailMessage) -> None:
    to = str(msg["To"])
    utf8 = not (to.isascii() and settings.sender.isascii())
    policy = UTF8_POLICY if utf8 else POLICY
    data = msg.as_bytes(policy=policy)
    try:
        smtp = smtplib.SMTP(settings.server, settings.port, timeout=settings.timeout)
    except (OSError, smtplib.SMTPException) as exc:
        raise NotSent(f"cannot connect to {settings.server}:{settings.port}: "
                      f"{type(exc).__name__}") from None
    handed_over = False
    try:
        smtp.ehlo_or_helo_if_needed()
        if settings.use_tls:
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if settings.username:
            try:
                smtp.login(settings.username, settings.password)
            except smtplib.SMTPAuthenticationError as exc:
                raise Stopped(f"the mail server refused the sign-in of MAIL_USERNAME "
                              f"({exc.smtp_code})") from None
        options: list[str] = []
        if utf8:
            if not smtp.has_extn("smtputf8"):
                raise Refused("the address has characters beyond ASCII and the mail server "
                              "does not offer SMTPUTF8")
            options = ["SMTPUTF8", "BODY=8BITMIME"]
        elif not data.isascii():
            # A body beyond ASCII (a name, a dash) is 8-bit: declared to a server that
            # offers 8BITMIME (RFC 6152), re-encoded (quoted-printable, base64) for any other.
            if smtp.has_extn("8bitmime"):
                options = ["BODY=8BITMIME"]
            else:
                data = msg.as_bytes(policy=policy.clone(cte_type="7bit"))
        code, reply = smtp.mail(settings.sender, options)
        if code != 250:
            raise _classify(code, reply, "MAIL FROM")
        code, reply = smtp.rcpt(to)
        if code not in (250, 251):
            raise _classify(code, reply, "RCPT TO")
        code, reply = smtp.docmd("DATA")
        if code != 354:
            raise _classify(code, reply, "DATA")
        # From here the server may store the message whatever happens to the connection.
        handed_over = True
        smtp.send(_stuffed(data))
        code, reply = smtp.getreply()
        handed_over = False
        if code == -1:
            # A reply without a code (smtplib's -1) says nothing of what the server stored.
            raise Unknown("the mail server's answer to the message could not be read; it may "
                          "have been delivered")
        if code != 250:
            raise _classify(code, reply, "end of message")
    except (OSError, smtplib.SMTPException) as exc:
        if handed_over:
            raise Unknown(f"the connection failed after the message was handed over "
                          f"({type(exc).__name__}); it may have been delivered") from None
        raise NotSent(f"{type(exc).__name__}: {str(exc)[:200]}") from None
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def send(settings: Settings, msg: EmailMessage,
         before_try: Callable[[], None] | None = None) -> None:
    """Send ``msg``, trying again with exponential backoff while the server certainly did
    not take it. Raises ``NotSent`` (after the last try), ``Refused``, ``Unknown`` or
    ``Stopped``. ``before_try`` runs before each try (the engine renews its claim there;
    whatever it raises ends the sending)."""
    for attempt in Retrying(retry=retry_if_exception_type(NotSent),
                            stop=stop_after_attempt(settings.tries),
                            wait=wait_exponential(multiplier=settings.retry_base,
                                                  max=max(settings.retry_base * 8, 0)),
                            reraise=True):
        with attempt:
            if before_try is not None:
                before_try()
            _send_once(settings, msg)
