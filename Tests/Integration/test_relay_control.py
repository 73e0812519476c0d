"""Relay control against the real daemon (issue 3): relaying is refused by
default, and none of the classic open-relay test addresses gets around that.

One daemon serves the whole module (local domain example.test, access map
`Connect:127.0.0.9 RELAY`):

- 127.0.0.1 has no entry: it may not relay. Every trick address is refused
  at RCPT, its DATA gets no 354, and nothing reaches a local mailbox.
- 127.0.0.9 may relay: the same addresses are accepted at RCPT with 250.
  Those whose real destination is remote are queued for the relay process,
  which (the test harness's smart host being a closed port on 127.0.0.1)
  defers them: nothing leaves loopback; those whose routing ends at a local
  user are delivered into that user's mbox.

The addresses are the ones the open-relay testers used (the MAPS/ORDB/
rt.njabl.org style lists): the percent hack, bang paths, quoted local parts
holding `@`, `%` or `!`, source routes, address literals (ours and others),
upper case and mixtures. Addresses that are not valid RFC 5321 syntax at all
(trailing dots, `@` twice, bare local parts other than postmaster) are
refused for every client with 501 5.1.3: they are listed separately.
"""

from __future__ import annotations

import pathlib
import re
import shutil
import smtplib
import tempfile

import pytest

import conftest
from daemon import Daemon, make_message, unique_token, wait_until

DOMAIN = "example.test"
RELAY_CLIENT = "127.0.0.9"
PLAIN_CLIENT = "127.0.0.1"

# Real destination remote: relayed for RELAY_CLIENT, "Relaying denied" for
# everyone else.
REMOTE_TRICKS = [
    "user@remote.test",
    "USER@REMOTE.TEST",
    "user%remote.test@example.test",
    "USER%REMOTE.TEST@EXAMPLE.TEST",
    "user%remote.test@EXAMPLE.test",
    '"user@remote.test"@example.test',
    '"USER@REMOTE.TEST"@EXAMPLE.TEST',
    '"user%remote.test"@example.test',
    '"user\\@remote.test"@example.test',
    '"user%remote.test@example.test"@example.test',
    '"@remote.test:user@remote.test"@example.test',
    "remote.test!user@example.test",
    '"remote.test!user"@example.test',
    "remote.test.!user@example.test",
    "remote.test!remote2.test!user@example.test",
    "remote.test!user%example.test@example.test",
    "user%remote.test%example.test@example.test",
    "@example.test:user@remote.test",
    "@example.test,@mail.example.test:user@remote.test",
    "user%remote.test@[127.0.0.1]",
    "remote.test!user@[127.0.0.1]",
    '"user@remote.test"@[127.0.0.1]',
    '"remote.test!user"@[127.0.0.1]',
    "user%remote.test@[IPv6:::1]",
    "user%remote.test@[IPv6:::ffff:127.0.0.1]",
    '"user%[192.0.2.1]"@example.test',
    "user@[192.0.2.1]",
    "user@[IPv6:2001:db8::1]",
    "user@[127.0.0.2]",
    "user@localhost",
    "user%remote.test@localhost",
    "user@example.test.remote.test",
    "user@remote.test.example.test",
]

# Routed through a local part to a local user: relaying to ourselves, which
# only a client that may relay gets; for it, they reach pt-alice.
LOCAL_TRICKS = [
    "pt-alice%example.test@example.test",
    "PT-ALICE%EXAMPLE.TEST@EXAMPLE.TEST",
    "example.test!pt-alice@example.test",
    '"example.test!pt-alice"@example.test',
    '"pt-alice@example.test"@example.test',
    "pt-alice%example.test@[127.0.0.1]",
    '"pt-alice%example.test"@[127.0.0.1]',
    '"pt-alice%[127.0.0.1]"@example.test',
]

# Not RFC 5321 paths: refused for every client, relaying or not.
MALFORMED = [
    "user@remote.test.",
    "user@REMOTE.test.",
    "user%remote.test@example.test.",
    "user%remote.test.@example.test",
    "pt-alice@example.test.",
    "user@remote.test@example.test",
    "user@example.test@remote.test",
    "user@remote.test@[127.0.0.1]",
    "user%[192.0.2.1]@example.test",
    "user@[127.0.0.1].remote.test",
    "@[127.0.0.1]:user@remote.test",
    "remote.test!user",
    "user%remote.test",
    '"user@remote.test"',
]

# Genuinely local: accepted from every client and delivered to pt-alice.
GENUINELY_LOCAL = [
    "pt-alice@example.test",
    "PT-ALICE@EXAMPLE.TEST",
    "pt-alice@[127.0.0.1]",
    # RFC 5321 §3.6.1: a source route is ignored; the mailbox is ours.
    "@remote.test:pt-alice@example.test",
]


# ------------------------------------------------------------------ daemon


@pytest.fixture(scope="module")
def relay_daemon(postern_bin):
    """One daemon for the module on a jail of its own."""
    conftest.require_root()
    prefix = pathlib.Path(tempfile.mkdtemp(prefix="pt-", dir=conftest.PREFIX_PARENT))
    d = None
    try:
        port = conftest.free_port()
        result = conftest.run_setup_jail(prefix, "--listen", f"127.0.0.1:{port}", "--domain", DOMAIN)
        assert result.returncode == 0, result.stdout + result.stderr
        jail = conftest.Jail(prefix=prefix, config=prefix / "etc/postern/postern.conf", host="127.0.0.1",
                             port=port, domain=DOMAIN, hostname=f"mail.{DOMAIN}",
                             setup_output=result.stdout + result.stderr)
        (jail.config_dir / "access").write_text(f"Connect:{RELAY_CLIENT} RELAY\n")
        with open(jail.config, "a") as f:
            # Well over the ~100 connections this module opens per client
            # address; rate limiting is not what is tested here.
            f.write("MaxConnectionRatePerClient = 1000\n")
        d = Daemon(jail, postern_bin)
        d.start()
        yield d
    finally:
        if d is not None:
            d.kill_all()
        shutil.rmtree(prefix, ignore_errors=True)


# ------------------------------------------------------------------ helpers


def session(d, source: str):
    client = smtplib.SMTP(timeout=15, source_address=(source, 0))
    code, msg = client.connect(d.jail.host, d.jail.port)
    assert code == 220, f"greeting for {source}: {code} {msg!r}"
    code, _ = client.docmd("EHLO client.test")
    assert code == 250
    return client


def cmd(client, line: str) -> tuple[int, str]:
    code, msg = client.docmd(line)
    return code, msg.decode(errors="replace")


def rcpt_reply(d, source: str, address: str, sender: str = "") -> tuple[int, str, int]:
    """(RCPT code, RCPT text, DATA code) in a fresh session."""
    client = session(d, source)
    try:
        assert cmd(client, f"MAIL FROM:<{sender}>") == (250, "2.1.0 Ok")
        code, text = cmd(client, f"RCPT TO:<{address}>")
        data_code, _ = cmd(client, "DATA")
        if data_code == 354:
            # Do not leave a half-open message behind; nothing is sent.
            client.close()
            return code, text, data_code
        cmd(client, "QUIT")
    finally:
        client.close()
    return code, text, data_code


def without_route(address: str) -> str:
    """The mailbox of a path: an RFC 5321 source route (`@a,@b:`) dropped,
    as the server does before anything else looks at the address."""
    return address.split(":", 1)[1] if address.startswith("@") else address


def relaying_denied(address: str) -> tuple[int, str]:
    return 550, f"5.7.1 <{without_route(address)}>: Relaying denied"


def send_raw(d, source: str, sender: str, address: str, body: str) -> None:
    """One message to one recipient with the address sent exactly as
    written (smtplib.sendmail would re-quote it); asserts every 2xx/3xx."""
    client = session(d, source)
    try:
        assert cmd(client, f"MAIL FROM:<{sender}>") == (250, "2.1.0 Ok")
        assert cmd(client, f"RCPT TO:<{address}>") == (250, "2.1.5 Ok"), address
        code, msg = client.data(body)
        assert code == 250, (address, code, msg)
        cmd(client, "QUIT")
    finally:
        client.close()


# ------------------------------------------------------------------- tests


def test_address_lists_are_big_enough():
    assert len(REMOTE_TRICKS) + len(LOCAL_TRICKS) >= 25
    assert len(set(REMOTE_TRICKS + LOCAL_TRICKS + MALFORMED + GENUINELY_LOCAL)) == (
        len(REMOTE_TRICKS) + len(LOCAL_TRICKS) + len(MALFORMED) + len(GENUINELY_LOCAL))


def test_relaying_is_refused_by_default(relay_daemon):
    d = relay_daemon
    code, text, data = rcpt_reply(d, PLAIN_CLIENT, "someone@remote.test", sender="tester@client.test")
    assert (code, text) == relaying_denied("someone@remote.test")
    assert data == 554, "DATA without an accepted recipient"
    assert "reject: RCPT from 127.0.0.1: 550 5.7.1 <someone@remote.test>: Relaying denied" in d.log()


@pytest.mark.parametrize("address", REMOTE_TRICKS + LOCAL_TRICKS)
def test_trick_is_refused_for_a_client_that_may_not_relay(relay_daemon, address):
    code, text, data = rcpt_reply(relay_daemon, PLAIN_CLIENT, address, sender="tester@client.test")
    assert (code, text) == relaying_denied(address)
    assert data != 354


@pytest.mark.parametrize("address", REMOTE_TRICKS + LOCAL_TRICKS)
def test_trick_is_accepted_at_rcpt_for_a_client_that_may_relay(relay_daemon, address):
    code, text, data = rcpt_reply(relay_daemon, RELAY_CLIENT, address)
    assert (code, text) == (250, "2.1.5 Ok")
    assert data == 354


@pytest.mark.parametrize("source", [PLAIN_CLIENT, RELAY_CLIENT])
@pytest.mark.parametrize("address", MALFORMED)
def test_malformed_address_is_refused_for_every_client(relay_daemon, address, source):
    code, text, data = rcpt_reply(relay_daemon, source, address)
    assert (code, text) == (501, "5.1.3 Bad recipient address syntax")
    assert data != 354


def test_local_part_without_a_user_at_our_literal_is_unknown_not_relayed(relay_daemon):
    # user@[127.0.0.1] and user@MyHostname are our own addresses (MyHostname
    # is always local, as Sendmail's $j is in class w): no such user.
    for address in ("user@[127.0.0.1]", "user@mail.example.test"):
        for source in (PLAIN_CLIENT, RELAY_CLIENT):
            code, text, _ = rcpt_reply(relay_daemon, source, address)
            assert (code, text) == (
                550, f"5.1.1 <{address}>: Recipient address rejected: User unknown in local recipient table"), source


def test_nothing_reaches_a_local_mailbox_through_a_trick_from_a_client_that_may_not_relay(relay_daemon):
    d = relay_daemon
    tokens = []
    for address in LOCAL_TRICKS + REMOTE_TRICKS:
        token = unique_token("trick")
        tokens.append(token)
        client = session(d, PLAIN_CLIENT)
        try:
            assert cmd(client, "MAIL FROM:<tester@client.test>")[0] == 250
            assert cmd(client, f"RCPT TO:<{address}>")[0] == 550, address
            # Push the message anyway, as a relay tester would.
            code, _ = cmd(client, "DATA")
            if code == 354:
                client.send(make_message(token, to=address).encode() + b"\r\n.\r\n")
                code, _ = client.getreply()
            assert code != 250, f"a message to {address} was accepted"
            cmd(client, "QUIT")
        finally:
            client.close()
    # Anything accepted before this control message would have been
    # delivered by the time it arrives.
    control = unique_token("control")
    client = session(d, PLAIN_CLIENT)
    try:
        assert client.sendmail("tester@client.test", [f"pt-alice@{DOMAIN}"], make_message(control)) == {}
    finally:
        client.close()
    text = d.wait_for_mbox("pt-alice", lambda t: control in t)
    leaked = [t for t in tokens if t in text]
    assert not leaked, f"{len(leaked)} messages reached pt-alice through a relay trick"


@pytest.mark.parametrize("source", [PLAIN_CLIENT, RELAY_CLIENT])
def test_genuinely_local_addresses_are_delivered_for_every_client(relay_daemon, source):
    d = relay_daemon
    tokens = {}
    for address in GENUINELY_LOCAL:
        token = tokens[address] = unique_token("local")
        send_raw(d, source, "tester@client.test", address, make_message(token, to=without_route(address)))
    text = d.wait_for_mbox("pt-alice", lambda t: all(tok in t for tok in tokens.values()))
    for address, token in tokens.items():
        assert text.count(f"token={token}") == 1, address


def test_local_tricks_from_a_relaying_client_are_delivered_to_the_local_user(relay_daemon):
    d = relay_daemon
    tokens = {}
    for address in LOCAL_TRICKS:
        token = tokens[address] = unique_token("relayed-local")
        send_raw(d, RELAY_CLIENT, "", address, make_message(token, to=address))
    text = d.wait_for_mbox("pt-alice", lambda t: all(tok in t for tok in tokens.values()), timeout=15)
    for address, token in tokens.items():
        assert text.count(f"token={token}") == 1, address


def test_relaying_client_queues_remote_mail_for_the_relay_process(relay_daemon):
    d = relay_daemon
    kids = d.children()
    offset = len(d.log())
    token = unique_token("relayed-remote")
    client = session(d, RELAY_CLIENT)
    try:
        # The null sender: the deferral must not start bounces.
        assert cmd(client, "MAIL FROM:<>") == (250, "2.1.0 Ok")
        for address in REMOTE_TRICKS:
            assert cmd(client, f"RCPT TO:<{address}>") == (250, "2.1.5 Ok"), address
        code, _ = client.data(make_message(token, to="user@remote.test"))
        assert code == 250
        cmd(client, "QUIT")
    finally:
        client.close()
    # Every remote recipient went to the relay process, none to local, and
    # the route through this host was taken off: the relay is handed the
    # address elsewhere, never one at our own domain (which would come
    # straight back).
    # Recipients that come to the same address ride on one delivery (one
    # copy per target): each is either relayed or named as riding on one.
    deferred = re.compile(r"to=<([^>]*)>, relay=relay, status=deferred \(4\.4\.1 connect to 127\.0\.0\.1\[127\.0\.0\.1\]:1: ")
    same = re.compile(r"to=<([^>]*)>: same delivery as <([^>]*)>, one copy")

    def accounted() -> int:
        new = d.log_since(offset)
        return len(deferred.findall(new)) + len(same.findall(new))

    try:
        wait_until(lambda: accounted() >= len(REMOTE_TRICKS), 10, what="the relay's deferrals")
    except AssertionError as e:
        raise AssertionError(f"{e}\n{d.log_since(offset)}") from None
    new = d.log_since(offset)
    relayed = deferred.findall(new)
    riding = same.findall(new)
    assert len(relayed) + len(riding) == len(REMOTE_TRICKS), (relayed, riding)
    assert len({a.lower() for a in relayed}) == len(relayed), f"one target relayed twice: {relayed}"
    for address in relayed + [a for a, _ in riding]:
        assert not address.lower().endswith("@example.test"), address
    assert all(primary in relayed for _, primary in riding), (relayed, riding)
    to_user = [a for a in relayed if a.lower() == "user@remote.test"]
    to_user += [a for a, primary in riding if primary.lower() == "user@remote.test"]
    assert len(to_user) >= 20, (relayed, riding)
    # The client's form is kept as the DSN's original recipient.
    controls = b"".join(p.read_bytes() for p in (d.jail.spool / "msg").iterdir() if p.is_file())
    assert b"rfc822;user%remote.test@example.test" in controls
    assert b"rfc822;remote.test!user@example.test" in controls
    assert "relay=local" not in new, new
    assert d.children() == kids, "a child was restarted while relaying"
    for user in ("pt-alice", "pt-bob", "user"):
        assert token not in d.mbox(user)
