"""MailSend against a real local SMTP server (aiosmtpd) over SMTP, STARTTLS and SMTPS with a
self-signed certificate the test trusts, with authentication; TeamsIncomingWebhook against a
local HTTP server."""

from __future__ import annotations

import email
import json
import socket
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from pathlib import Path
from typing import Any

import pytest
from run_support import messages, start

from engine.engine import Engine
from engine.states import State

aiosmtpd = pytest.importorskip("aiosmtpd.controller")
from aiosmtpd.smtp import AuthResult


@dataclass
class Mailbox:
    received: list[dict[str, Any]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(
            {
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "message": email.message_from_bytes(envelope.content, policy=policy.default),
                "login": getattr(session, "auth_data", None),
            }
        )
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("cert")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = auth_data.login == b"bot" and auth_data.password == b"s3cret-pass"
    return AuthResult(success=ok, handled=False, auth_data=auth_data.login if ok else None)


@pytest.fixture
def smtp_server(
    request: pytest.FixtureRequest, certificate: tuple[Path, Path]
) -> Iterator[tuple[int, Mailbox]]:
    mode = getattr(request, "param", "SMTP")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    mailbox = Mailbox()
    port = free_port()
    options: dict[str, Any] = {
        "authenticator": authenticator,
        # with implicit TLS (SMTPS) aiosmtpd does not see the TLS layer, so it cannot require it
        "auth_require_tls": mode == "SMTP_TLS",
    }
    if mode == "SMTPS":
        controller = aiosmtpd.Controller(
            mailbox, hostname="127.0.0.1", port=port, ssl_context=context, **options
        )
    else:
        if mode == "SMTP_TLS":
            options["tls_context"] = context
            options["require_starttls"] = True
        controller = aiosmtpd.Controller(mailbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield port, mailbox
    finally:
        controller.stop()


def mail_flow(port: int, strategy: str, extra: str = "") -> str:
    return f"""
id: mail
namespace: company.team
inputs:
  - id: who
    type: STRING
    defaults: Ada
tasks:
  - id: send
    type: io.kestra.plugin.notifications.mail.MailSend
    host: 127.0.0.1
    port: {port}
    transportStrategy: {strategy}
    username: bot
    password: s3cret-pass
    from: pausebot@example.com
    to: ops@example.com, "Lead" <lead@example.com>
    cc: audit@example.com
    subject: "Approve {{{{ flow.id }}}} for {{{{ inputs.who }}}}"
    htmlTextContent: "<p>Please <b>approve</b> {{{{ execution.id }}}}</p>"
    plainTextContent: "Please approve {{{{ execution.id }}}}"
{extra}"""


@pytest.mark.parametrize("smtp_server", ["SMTP", "SMTP_TLS", "SMTPS"], indirect=True)
def test_mail_is_delivered(
    engine: Engine,
    smtp_server: tuple[int, Mailbox],
    certificate: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    port, mailbox = smtp_server
    strategy = request.node.callspec.params["smtp_server"]
    done = start(engine, mail_flow(port, strategy))
    assert done.state.current == State.SUCCESS, messages(engine, done.id)
    (mail,) = mailbox.received
    assert mail["from"] == "pausebot@example.com"
    assert sorted(mail["to"]) == ["audit@example.com", "lead@example.com", "ops@example.com"]
    assert mail["login"] == b"bot"
    message = mail["message"]
    assert message["Subject"] == "Approve mail for Ada"
    assert message.get_body(("plain",)).get_content().strip() == f"Please approve {done.id}"
    assert f"<b>approve</b> {done.id}" in message.get_body(("html",)).get_content()
    assert all("s3cret-pass" not in m for m in messages(engine, done.id))


def test_wrong_password_fails_clearly_without_showing_it(
    engine: Engine, smtp_server: tuple[int, Mailbox]
) -> None:
    port, mailbox = smtp_server
    bad = start(engine, mail_flow(port, "SMTP").replace("s3cret-pass", "wrong"))
    assert bad.state.current == State.FAILED
    logs = messages(engine, bad.id)
    assert any("SMTPAuthenticationError" in m for m in logs)
    assert all("wrong" not in m for m in logs)
    assert mailbox.received == []


@pytest.mark.parametrize("smtp_server", ["SMTPS"], indirect=True)
def test_untrusted_certificate_is_refused(engine: Engine, smtp_server: tuple[int, Mailbox]) -> None:
    port, mailbox = smtp_server
    done = start(engine, mail_flow(port, "SMTPS"))
    assert done.state.current == State.FAILED
    assert any("CERTIFICATE_VERIFY_FAILED" in m for m in messages(engine, done.id))
    assert mailbox.received == []


def test_teams_incoming_webhook(engine: Engine, standin) -> None:  # type: ignore[no-untyped-def]
    for type_name in (
        "io.kestra.plugin.notifications.teams.TeamsIncomingWebhook",
        "io.kestra.plugin.microsoft365.teams.TeamsIncomingWebhook",
    ):
        done = start(
            engine,
            f"""
id: teams
namespace: company.team
tasks:
  - id: notify
    type: {type_name}
    url: {standin.url}/teams/webhook
    payload: |
      {{
        "@type": "MessageCard",
        "@context": "http://schema.org/extensions",
        "summary": "Approval needed",
        "text": "Approve {{{{ execution.id }}}} — {{{{ flow.namespace }}}}"
      }}
""",
        )
        assert done.state.current == State.SUCCESS, messages(engine, done.id)
        sent = standin.requests[-1]
        assert sent["path"] == "/teams/webhook"
        assert json.loads(sent["body"])["text"] == f"Approve {done.id} — company.team"
    broken = start(
        engine,
        f"""
id: teams-bad
namespace: company.team
tasks:
  - id: notify
    type: io.kestra.plugin.notifications.teams.TeamsIncomingWebhook
    url: {standin.url}/teams/webhook
    payload: "not json"
""",
    )
    assert broken.state.current == State.FAILED
    assert any("not valid JSON" in m for m in messages(engine, broken.id))
