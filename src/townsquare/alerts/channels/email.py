"""Email over SMTP (aiosmtplib), or appended to a local mbox file for demos.

Every alert carries an RFC 8058 one-click unsubscribe (`List-Unsubscribe` with a signed link and
`List-Unsubscribe-Post: List-Unsubscribe=One-Click`); its Message-ID is the outbox key, so a
repeat after a crash is recognisably the same message.
"""

from __future__ import annotations

import asyncio
import mailbox
import threading
import re
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr, formatdate, parseaddr
from pathlib import Path

import aiosmtplib

from townsquare.alerts.channels import DeliveryError, Outgoing
from townsquare.alerts.settings import EmailSettings
from townsquare.alerts.templating import render


def message_id_left(key: str) -> str:
    """The outbox key as the left part of a Message-ID (RFC 5322 dot-atom: no ':' or '@')."""
    return re.sub(r"[^A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]", "-", key).strip(".") or "alert"


# Header lines up to the SMTP limit, so the one-click unsubscribe URL stays on one line.
UNFOLDED = compat32.clone(max_line_length=998)


def build_message(message: Outgoing, *, sender: str) -> Message:
    """A multipart/alternative message (plain text and HTML).

    Built with the `email.mime` classes (compat32 policy): about four times faster than the
    modern EmailMessage API, which matters when one article goes to 100,000 readers.
    """
    msg = MIMEMultipart("alternative", policy=UNFOLDED)
    name, address = parseaddr(sender)
    msg["From"] = formataddr((name, address), charset="utf-8")
    msg["To"] = message.target
    msg["Subject"] = Header(message.subject, "utf-8")
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = f"<{message_id_left(message.key)}@{address.rpartition('@')[2] or 'localhost'}>"
    # RFC 3834: tell autoresponders not to answer.
    msg["Auto-Submitted"] = "auto-generated"
    if message.unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    name = {"confirm": "confirm_email", "notice": "notice_email"}.get(message.kind, "email")
    msg.attach(MIMEText(render(f"{name}.txt", m=message), "plain", "utf-8"))
    msg.attach(MIMEText(render(f"{name}.html", m=message), "html", "utf-8"))
    return msg


class EmailChannel:
    def __init__(self, settings: EmailSettings):
        self.settings = settings
        self._smtp: aiosmtplib.SMTP | None = None

    async def send(self, message: Outgoing) -> None:
        msg = build_message(message, sender=self.settings.sender)
        if self.settings.backend == "file":
            await asyncio.to_thread(_append_to_mbox, self.settings.mailbox, msg)
            return
        raw = msg.as_bytes(policy=UNFOLDED.clone(linesep="\r\n"))
        try:
            smtp = await self._connection()
            await smtp.sendmail(parseaddr(self.settings.sender)[1], [message.target], raw)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            raise DeliveryError(f"recipient refused: {exc}", permanent=all(c >= 500 for c in codes)) from exc
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code < 500:
                await self.close()
            raise DeliveryError(f"SMTP {exc.code}: {exc.message}", permanent=exc.code >= 500) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            await self.close()
            raise DeliveryError(f"SMTP server unavailable: {exc}") from exc

    async def _connection(self) -> aiosmtplib.SMTP:
        if self._smtp is not None and self._smtp.is_connected:
            return self._smtp
        s = self.settings
        smtp = aiosmtplib.SMTP(
            hostname=s.smtp_host, port=s.smtp_port, timeout=s.timeout, use_tls=s.tls,
            start_tls=s.starttls, username=s.username,
            password=s.password.get_secret_value() if s.password else None,
        )
        await smtp.connect()
        self._smtp = smtp
        return smtp

    async def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None and smtp.is_connected:
            try:
                await smtp.quit()
            except (aiosmtplib.SMTPException, OSError):
                smtp.close()


# Deliveries run in parallel threads; mbox's dot-lock refuses a second holder instead of waiting.
_mbox_lock = threading.Lock()


def _append_to_mbox(path: Path, msg: Message) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with _mbox_lock:
        _append_locked(path, msg)


def _append_locked(path: Path, msg: Message) -> None:
    box = mailbox.mbox(path)
    box.lock()
    try:
        box.add(msg)
        box.flush()
    finally:
        box.unlock()
        box.close()
