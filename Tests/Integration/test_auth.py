"""SMTP AUTH (RFC 4954) with Cyrus SASL in the lookup process, against the
running daemon (issue 4). Users live in a real sasldb made with
`saslpasswd2`; the clients are Python's smtplib and swaks.

The listener relays the SASL exchange; only the lookup opens the sasldb,
which is inside the lookup's root and not reachable from the listener's.
"""

from __future__ import annotations

import base64
import hmac
import os
import pathlib
import re
import shutil
import smtplib
import subprocess
import time

import pytest

from daemon import make_message, unique_token, wait_until
from tls_support import HOSTNAME, client_context, connect_plain, read_reply, tls_daemon

ALICE = "pt-alice@example.test"
USERS = {"carol": "Carol's secret 1", "dave": "dave-pw-2"}


def make_sasldb(jail) -> pathlib.Path:
    """The administrator's steps: saslpasswd2 into the configuration
    directory, then the file readable by the lookup's group only."""
    db = jail.config_dir / "sasldb2"
    for user, password in USERS.items():
        result = subprocess.run(["saslpasswd2", "-p", "-c", "-f", str(db), "-u", HOSTNAME, user],
                                input=password, capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stderr
    shutil.chown(db, "root", "postern-lookup")
    db.chmod(0o640)
    (jail.config_dir / "sender-logins").write_text(
        "# sender            logins\n"
        "carol@example.test  carol\n"
        "@carol.example      carol, dave\n")
    return db


@pytest.fixture(scope="module")
def auth(postern_bin):
    with tls_daemon(postern_bin, before_start=make_sasldb) as (d, ports, pki):
        yield d, ports, pki


@pytest.fixture(scope="module")
def bound(postern_bin):
    """A daemon with the sender-login map switched on."""

    def prepare(jail):
        make_sasldb(jail)
        from smtp_client import set_options
        set_options(jail.config, {"SenderLoginMap": jail.config_dir / "sender-logins"})

    with tls_daemon(postern_bin, before_start=prepare) as (d, ports, pki):
        yield d, ports, pki


def tls_client(d, port, pki) -> smtplib.SMTP:
    client = smtplib.SMTP(d.jail.host, port, timeout=30)
    client.ehlo("client.test")
    client.starttls(context=client_context(pki))
    client.ehlo("client.test")
    return client


def offered(client: smtplib.SMTP) -> list[str]:
    return client.esmtp_features.get("auth", "").upper().split()


def test_mechanisms_are_offered_only_under_tls(auth):
    d, ports, pki = auth
    plain = smtplib.SMTP(d.jail.host, ports.smtp, timeout=15)
    plain.ehlo("client.test")
    assert "auth" not in plain.esmtp_features
    assert plain.docmd("AUTH PLAIN")[0] == 538
    plain.close()
    client = tls_client(d, ports.smtp, pki)
    mechanisms = offered(client)
    # The default AuthMechanisms, all four: the nonce-drawing ones are
    # seeded from getrandom although the lookup's root has no /dev/urandom.
    assert mechanisms == ["SCRAM-SHA-256", "CRAM-MD5", "PLAIN", "LOGIN"], mechanisms
    assert "ANONYMOUS" not in mechanisms and "EXTERNAL" not in mechanisms
    client.quit()


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN", "CRAM-MD5"])
def test_login_with_each_mechanism_then_relay(auth, mechanism):
    d, ports, pki = auth
    client = tls_client(d, ports.submission, pki)
    if mechanism not in offered(client):
        pytest.fail(f"{mechanism} not offered: {offered(client)}")
    client.user, client.password = "carol", USERS["carol"]
    code, text = client.auth(mechanism, getattr(client, "auth_" + mechanism.lower().replace("-", "_")))
    assert (code, text) == (235, b"2.7.0 Authentication successful")
    offset = len(d.log())
    token = unique_token("auth-relay")
    # Authenticated: a remote recipient is accepted for relaying.
    client.sendmail("carol@example.test", ["someone@remote.test"], make_message(token, to="someone@remote.test"))
    client.quit()
    wait_until(lambda: "to=<someone@remote.test>, relay=relay" in d.log_since(offset), 10,
               what="the relayed message handed to the relay process")
    assert re.search(rf"authenticated, client=127\.0\.0\.1, mechanism={mechanism}, user=carol", d.log())


def test_scram_sha_256(auth):
    """SCRAM-SHA-256 (RFC 7677), computed here from the password: the
    server must prove it knows the verifier too."""
    d, ports, pki = auth
    client = tls_client(d, ports.smtp, pki)
    # libsasl2-modules (scripts/test installs it) has SCRAM: a missing
    # SCRAM-SHA-256 is the lookup withdrawing it, not the machine.
    if "SCRAM-SHA-256" not in offered(client):
        pytest.fail(f"SCRAM-SHA-256 not offered: {offered(client)}")
    import hashlib
    nonce = base64.b64encode(os.urandom(18)).decode()
    first_bare = f"n=carol,r={nonce}"
    code, text = client.docmd("AUTH SCRAM-SHA-256 " + base64.b64encode(("n,," + first_bare).encode()).decode())
    assert code == 334, text
    server_first = base64.b64decode(text).decode()
    fields = dict(item.split("=", 1) for item in server_first.split(","))
    assert fields["r"].startswith(nonce)
    salted = hashlib.pbkdf2_hmac("sha256", USERS["carol"].encode(), base64.b64decode(fields["s"]), int(fields["i"]))
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored = hashlib.sha256(client_key).digest()
    final_bare = f"c=biws,r={fields['r']}"
    message = f"{first_bare},{server_first},{final_bare}".encode()
    signature = hmac.new(stored, message, "sha256").digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    final = f"{final_bare},p={base64.b64encode(proof).decode()}"
    code, text = client.docmd(base64.b64encode(final.encode()).decode())
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    expected = "v=" + base64.b64encode(hmac.new(server_key, message, "sha256").digest()).decode()
    if code == 334:
        assert base64.b64decode(text).decode() == expected
        code, text = client.docmd("")
    assert (code, text) == (235, b"2.7.0 Authentication successful")
    client.quit()


def test_wrong_password_and_unknown_user_get_the_same_535(auth):
    d, ports, pki = auth
    offset = len(d.log())
    for user, password in (("carol", "not her password"), ("nobody", "whatever")):
        client = tls_client(d, ports.smtp, pki)
        blob = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        assert client.docmd("AUTH PLAIN " + blob) == (535, b"5.7.8 Authentication credentials invalid")
        client.close()
    log = d.log_since(offset)
    assert "not her password" not in log and "whatever" not in log, "a password reached the log"
    assert "authentication failed, client=127.0.0.1, mechanism=PLAIN" in log


def test_repeated_failures_are_slowed_and_then_disconnected(auth):
    d, ports, pki = auth
    client = tls_client(d, ports.smtp, pki)
    blob = base64.b64encode(b"\0carol\0wrong").decode()
    started = time.monotonic()
    assert client.docmd("AUTH PLAIN " + blob)[0] == 535
    assert client.docmd("AUTH PLAIN " + blob)[0] == 535
    assert client.docmd("AUTH PLAIN " + blob)[0] == 535
    took = time.monotonic() - started
    # The third failure (AuthMaxFailures = 3) ends the session with a 421.
    code, text = client.getreply()
    assert (code, text) == (421, f"4.7.0 {HOSTNAME} Error: too many authentication failures".encode())
    with pytest.raises((smtplib.SMTPServerDisconnected, ConnectionError, OSError)):
        client.noop()
        client.noop()
    # 1 + 2 + 3 s at least (more if this address failed before).
    assert took >= 6, f"three failures answered in {took:.1f}s: not slowed"


def test_without_auth_relaying_is_refused(auth):
    d, ports, pki = auth
    client = tls_client(d, ports.smtp, pki)
    client.mail("carol@example.test")
    code, text = client.rcpt("someone@remote.test")
    assert (code, text) == (550, b"5.7.1 <someone@remote.test>: Relaying denied")
    client.quit()


def test_auth_cancelled_with_a_star(auth):
    d, ports, pki = auth
    client = tls_client(d, ports.smtp, pki)
    assert client.docmd("AUTH LOGIN")[0] == 334
    assert client.docmd("*") == (501, b"5.0.0 Authentication aborted")
    assert client.noop()[0] == 250
    client.quit()


def test_swaks_with_tls_and_auth(auth):
    d, ports, pki = auth
    if shutil.which("swaks") is None:
        pytest.fail("swaks is not installed (scripts/test installs it)")
    token = unique_token("swaks")
    result = subprocess.run(
        ["swaks", "--server", f"127.0.0.1:{ports.submission}", "--tls", "--tls-verify", "--tls-ca-path", str(pki.ca),
         "--tls-sni", HOSTNAME, "--auth", "LOGIN", "--auth-user", "dave", "--auth-password", USERS["dave"],
         "--from", "dave@carol.example", "--to", ALICE, "--helo", "client.test",
         "--header", f"Subject: {token}", "--body", f"token={token}"],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "235 2.7.0 Authentication successful" in result.stdout
    text = d.wait_for_mbox("pt-alice", lambda t: token in t, timeout=15)
    assert "with ESMTPSA id" in text


def test_submissions_port_with_auth(auth):
    d, ports, pki = auth
    token = unique_token("smtps")
    client = smtplib.SMTP_SSL(d.jail.host, ports.submissions, timeout=30, context=client_context(pki))
    client.ehlo("client.test")
    client.login("carol", USERS["carol"])
    client.sendmail("carol@example.test", [ALICE], make_message(token, to=ALICE))
    client.quit()
    text = d.wait_for_mbox("pt-alice", lambda t: token in t, timeout=15)
    message = text[text.rfind("\nFrom ", 0, text.index(token)):]
    assert "with ESMTPSA id" in message, message


def test_sasldb_is_neither_open_in_nor_reachable_from_the_listener(auth):
    d, ports, pki = auth
    # A login first, so that the lookup has used the database.
    client = tls_client(d, ports.smtp, pki)
    client.login("carol", USERS["carol"])
    client.quit()
    kids = d.children()
    listener = kids["listener"]
    db = d.jail.config_dir / "sasldb2"
    for fd in os.listdir(f"/proc/{listener}/fd"):
        try:
            target = os.readlink(f"/proc/{listener}/fd/{fd}")
        except OSError:
            continue
        assert "sasldb" not in target, f"the listener holds {target}"
        # The key was read before the drop and its file closed.
        assert "tls-key" not in target and "tls-cert" not in target, f"the listener holds {target}"
    root = pathlib.Path(os.readlink(f"/proc/{listener}/root"))
    assert root == d.jail.empty_dir, root
    assert not any("sasldb" in p.name for p in root.rglob("*")), "a sasldb inside the listener's root"
    assert not str(db).startswith(str(root) + "/")
    # The lookup's root holds it (that is where Cyrus SASL opens it).
    lookup_root = pathlib.Path(os.readlink(f"/proc/{kids['lookup']}/root"))
    assert (lookup_root / "sasldb2").exists()
    assert oct(db.stat().st_mode & 0o777) == "0o640"


def test_sender_login_map_binds_senders_to_logins(bound):
    d, ports, pki = bound
    client = tls_client(d, ports.submission, pki)
    client.login("dave", USERS["dave"])
    assert client.mail("dave@carol.example")[0] == 250
    client.rset()
    code, text = client.mail("carol@example.test")
    assert (code, text) == (553, b"5.7.1 <carol@example.test>: Sender address rejected: not owned by user dave")
    assert client.mail("")[0] == 250
    client.quit()
    client = tls_client(d, ports.submission, pki)
    client.login("carol", USERS["carol"])
    assert client.mail("carol@example.test")[0] == 250
    client.quit()
