"""Masquerading against the running daemon (issue 6, seed 001): a host name
under the masqueraded domain becomes the domain in From:/Sender:, root is
exposed, display names and other fields stay as written, and the envelope
is masqueraded only under MasqueradeEnvelope."""

from __future__ import annotations

import smtplib

import pytest

from daemon import unique_token
from smtp_client import fresh_daemon


def message(token: str, sender_header: str) -> str:
    return (f"From: {sender_header}\r\n"
            "Sender: Bob <bob@mail.example.test>\r\n"
            "To: alice <pt-alice@example.test>\r\n"
            "Reply-To: bobo@host.example.test\r\n"
            f"Subject: masquerade {token}\r\n"
            f"Message-ID: <{token}@client.test>\r\n"
            "\r\n"
            f"body {token} bobo@host.example.test\r\n")


def deliver(d, token, sender_header, envelope="bobo@host.example.test") -> str:
    with smtplib.SMTP(d.jail.host, d.jail.port, timeout=15) as c:
        c.sendmail(envelope, ["pt-alice@example.test"], message(token, sender_header))
    text = d.wait_for_mbox("pt-alice", lambda t: token in t, timeout=20)
    full = "\n" + text
    return full[full.rindex("\nFrom ", 0, full.index(token)) + 1:]


@pytest.fixture(scope="module")
def masq(postern_bin):
    with fresh_daemon(postern_bin, {"MasqueradeAs": "example.test", "MasqueradeDomains": ".example.test"}) as d:
        yield d


def test_host_names_under_the_domain_become_the_domain(masq):
    token = unique_token("masq")
    text = deliver(masq, token, '"Bobo (host.example.test)" <bobo@host.example.test>')
    assert 'From: "Bobo (host.example.test)" <bobo@example.test>\n' in text
    assert "Sender: Bob <bob@example.test>\n" in text
    # Not a sender field, not the body: as written.
    assert "Reply-To: bobo@host.example.test\n" in text
    assert f"body {token} bobo@host.example.test" in text
    # The envelope is left alone without MasqueradeEnvelope.
    assert text.startswith("From bobo@host.example.test ")


def test_root_is_exposed(masq):
    token = unique_token("root")
    text = deliver(masq, token, "root@host.example.test")
    assert "From: root@host.example.test\n" in text


def test_other_domains_are_not_touched(masq):
    token = unique_token("other")
    text = deliver(masq, token, "someone@host.other.test")
    assert "From: someone@host.other.test\n" in text


def test_masquerade_envelope(postern_bin):
    with fresh_daemon(postern_bin, {"MasqueradeAs": "example.test", "MasqueradeDomains": ".example.test",
                                    "MasqueradeEnvelope": "yes"}) as d:
        token = unique_token("envelope")
        text = deliver(d, token, "bobo@host.example.test")
        assert text.startswith("From bobo@example.test ")
        assert "Return-Path: <bobo@example.test>" in text
