"""notifications.mail.MailSend (and the newer ``io.kestra.plugin.email.MailSend``): sends an
e-mail over SMTP with Kestra's properties. ``transportStrategy``: SMTP (plain), SMTP_TLS
(STARTTLS), SMTPS (TLS from the start, Kestra's default). Certificates are verified against the
system's trust store (``SSL_CERT_FILE`` adds one). ``attachments`` and ``embeddedImages`` read
``kestra:///`` files from the file storage. The password is never logged."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Literal, cast

from pydantic import BaseModel, ConfigDict, Field

from engine.tasks.base import RunContext, Task, TaskResult, register


class Attachment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    uri: str
    contentType: str = "application/octet-stream"


@register
class MailSendTask(Task):
    type_names = (
        "io.kestra.plugin.notifications.mail.MailSend",
        "io.kestra.plugin.email.MailSend",
    )
    host: str
    port: int | str
    username: str | None = None
    password: str | None = None
    transportStrategy: Literal["SMTP", "SMTPS", "SMTP_TLS", "SMTP_OAUTH2"] = "SMTPS"
    sessionTimeout: int = Field(default=10_000, ge=1)  # milliseconds, as in Kestra
    from_: str = Field(alias="from")
    to: str | list[str] | None = None
    cc: str | list[str] | None = None
    subject: str | None = None
    htmlTextContent: str | None = None
    plainTextContent: str | None = None
    attachments: list[Attachment] | None = None
    embeddedImages: list[Attachment] | None = None

    def run(self, context: RunContext) -> TaskResult:
        if self.transportStrategy == "SMTP_OAUTH2":
            raise context.fail("transportStrategy SMTP_OAUTH2 is not supported by pausebot")
        message = self.build(context)
        recipients = [
            a for _, a in getaddresses([message.get("To", ""), message.get("Cc", "")]) if a
        ]
        if not recipients:
            raise context.fail("the mail has no recipient: set `to` (or `cc`)")
        host = context.render_text(self.host)
        try:
            port = int(context.render_text(self.port))
        except ValueError:
            raise context.fail(f"port must be a number, got {self.port!r}") from None
        timeout = self.sessionTimeout / 1000
        try:
            if self.transportStrategy == "SMTPS":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    host, port, timeout=timeout, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(host, port, timeout=timeout)
            with client:
                if self.transportStrategy == "SMTP_TLS":
                    client.starttls(context=ssl.create_default_context())
                if self.username:
                    client.login(
                        context.render_text(self.username), context.render_text(self.password or "")
                    )
                refused = client.send_message(message, to_addrs=recipients)
        except (smtplib.SMTPException, OSError, ssl.SSLError) as error:
            raise context.fail(
                f"sending the mail through {host}:{port} ({self.transportStrategy}) failed: "
                f"{type(error).__name__}: {error}"
            ) from None
        if refused:
            context.log("WARN", f"the server refused some recipients: {', '.join(refused)}")
        context.log("INFO", f"Mail sent to {', '.join(recipients)}.")
        return TaskResult()

    def build(self, context: RunContext) -> EmailMessage:
        message = EmailMessage()
        message["From"] = context.render_text(self.from_)
        if self.to:
            message["To"] = _addresses(context, self.to)
        if self.cc:
            message["Cc"] = _addresses(context, self.cc)
        message["Subject"] = context.render_text(self.subject) if self.subject else ""
        plain = context.render_text(self.plainTextContent) if self.plainTextContent else None
        html = context.render_text(self.htmlTextContent) if self.htmlTextContent else None
        message.set_content(plain if plain is not None else "")
        if html is not None:
            message.add_alternative(html, subtype="html")
            html_part = cast(EmailMessage, message.get_body(("html",)))
            for image in self.embeddedImages or []:
                data, maintype, subtype = _file(context, image)
                html_part.add_related(data, maintype, subtype, cid=f"<{image.name}>")
        for attachment in self.attachments or []:
            data, maintype, subtype = _file(context, attachment)
            message.add_attachment(
                data,
                maintype=maintype,
                subtype=subtype,
                filename=context.render_text(attachment.name),
            )
        return message


def _addresses(context: RunContext, value: str | list[str]) -> str:
    items = value if isinstance(value, list) else [value]
    return ", ".join(context.render_text(item) for item in items)


def _file(context: RunContext, attachment: Attachment) -> tuple[bytes, str, str]:
    from engine.tasks.script import read_stored_file

    data = read_stored_file(context, context.render_text(attachment.uri))
    maintype, _, subtype = attachment.contentType.partition("/")
    return data, maintype or "application", subtype or "octet-stream"
