"""STARTTLS (RFC 3207) and implicit TLS (RFC 8314) against the running
daemon (issue 4), with real clients: `openssl s_client`, Python's ssl and
smtplib. One daemon serves the module: an smtp listener (STARTTLS), a
submission listener (STARTTLS, AUTH required) and a submissions listener
(TLS from the first byte), with a certificate from a test CA.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
import subprocess
import time

import pytest

from daemon import make_message, unique_token
from tls_support import HOSTNAME, client_context, connect_plain, expired_certificate, make_pki, read_reply, tls_daemon

ALICE = "pt-alice@example.test"


@pytest.fixture(scope="module")
def tls(postern_bin):
    with tls_daemon(postern_bin) as (d, ports, pki):
        yield d, ports, pki


def ehlo_keywords(client: smtplib.SMTP) -> list[str]:
    code, text = client.ehlo("client.test")
    assert code == 250
    return [line.upper() for line in text.decode().splitlines()[1:]]


def test_openssl_s_client_starttls_verifies_and_speaks_tls13(tls):
    d, ports, pki = tls
    result = subprocess.run(
        ["openssl", "s_client", "-starttls", "smtp", "-connect", f"127.0.0.1:{ports.smtp}", "-CAfile", str(pki.ca),
         "-verify_return_error", "-verify_hostname", HOSTNAME, "-name", "client.test", "-ign_eof", "-crlf",
         "-brief"],
        input="EHLO client.test\nQUIT\n", capture_output=True, text=True, timeout=30)
    assert "Verification: OK" in result.stderr, result.stderr
    assert "Protocol version: TLSv1.3" in result.stderr, result.stderr
    # stdout is what came after the handshake: the EHLO reply under TLS,
    # which no longer offers STARTTLS, and the goodbye.
    assert result.stdout.startswith(f"250-{HOSTNAME}\n"), result.stdout
    assert "STARTTLS" not in result.stdout, result.stdout
    assert result.stdout.rstrip().endswith("221 2.0.0 Bye"), result.stdout


def test_tls12_is_accepted_and_tls11_is_refused(tls):
    d, ports, pki = tls
    for version, ok in ((ssl.TLSVersion.TLSv1_2, True), (ssl.TLSVersion.TLSv1_1, False)):
        context = client_context(pki)
        context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        context.maximum_version = version
        try:
            context.set_ciphers("ALL:@SECLEVEL=0")
        except ssl.SSLError:
            pass
        client = smtplib.SMTP(d.jail.host, ports.smtp, timeout=15)
        try:
            client.ehlo("client.test")
            if ok:
                client.starttls(context=context)
                assert client.sock.version() == "TLSv1.2"
                assert client.noop()[0] == 250
            else:
                with pytest.raises((ssl.SSLError, OSError, smtplib.SMTPException)):
                    client.starttls(context=context)
        finally:
            client.close()


def test_smtplib_starttls_delivers_and_the_received_line_names_tls(tls):
    d, ports, pki = tls
    token = unique_token("tls")
    client = smtplib.SMTP(d.jail.host, ports.smtp, timeout=15)
    try:
        assert "STARTTLS" in ehlo_keywords(client)
        code, text = client.starttls(context=client_context(pki))
        assert (code, text) == (220, b"2.0.0 Ready to start TLS")
        keywords = ehlo_keywords(client)
        assert "STARTTLS" not in keywords
        assert any(k.startswith("AUTH ") for k in keywords), keywords
        client.sendmail("sender@client.test", [ALICE], make_message(token, to=ALICE))
        client.quit()
    finally:
        client.close()
    text = d.wait_for_mbox("pt-alice", lambda t: token in t, timeout=15)
    message = text[text.rindex("\nFrom ", 0, text.index(token)) if "\nFrom " in text[:text.index(token)] else 0:]
    assert "with ESMTPS id" in message, message
    assert re.search(r"\(using TLSv1\.3 with cipher TLS_[A-Z0-9_]+ \(\d+/\d+ bits\)\)", message), message
    assert re.search(r"TLS established, client=127\.0\.0\.1: TLSv1\.3 with cipher", d.log())


def test_commands_pipelined_after_starttls_are_not_executed(tls):
    """CVE-2011-0411: the client sends STARTTLS and, in the same write, a
    MAIL command in cleartext. Nothing but the 220 may answer, and after
    the handshake the session has no transaction."""
    d, ports, pki = tls
    raw = connect_plain(ports.smtp)
    try:
        f = raw.makefile("rb")
        assert read_reply(f)[0] == 220
        raw.sendall(b"EHLO client.test\r\n")
        assert read_reply(f)[0] == 250
        raw.sendall(b"STARTTLS\r\nMAIL FROM:<evil@client.test>\r\nRCPT TO:<" + ALICE.encode() + b">\r\n")
        assert read_reply(f) == (220, ["2.0.0 Ready to start TLS"])
        tls_sock = client_context(pki).wrap_socket(raw, server_hostname=HOSTNAME)
        g = tls_sock.makefile("rb")
        tls_sock.sendall(b"EHLO client.test\r\n")
        code, lines = read_reply(g)
        assert code == 250, lines
        # The injected MAIL did not run: RCPT has no transaction to join.
        tls_sock.sendall(b"RCPT TO:<" + ALICE.encode() + b">\r\n")
        assert read_reply(g) == (503, ["5.5.1 Error: need MAIL command"])
        tls_sock.sendall(b"QUIT\r\n")
        assert read_reply(g)[0] == 221
        tls_sock.close()
    finally:
        raw.close()


def test_starttls_twice_and_inside_a_transaction_are_refused(tls):
    d, ports, pki = tls
    client = smtplib.SMTP(d.jail.host, ports.smtp, timeout=15)
    try:
        client.ehlo("client.test")
        client.mail("sender@client.test")
        assert client.docmd("STARTTLS") == (503, b"5.5.1 Error: MAIL transaction in progress")
        client.rset()
        client.starttls(context=client_context(pki))
        client.ehlo("client.test")
        assert client.docmd("STARTTLS") == (503, b"5.5.1 Error: TLS already active")
    finally:
        client.close()


def test_a_corrupt_handshake_costs_only_that_connection(tls):
    d, ports, pki = tls
    kids = d.children()
    for garbage in (b"\x16\x03\x01\x00\x05hello", b"GET / HTTP/1.0\r\n\r\n" * 10, b"\x16\x03\x03\xff\xff" + b"A" * 300):
        raw = connect_plain(ports.smtp, timeout=10)
        f = raw.makefile("rb")
        read_reply(f)
        raw.sendall(b"STARTTLS\r\n")
        assert read_reply(f)[0] == 220
        raw.sendall(garbage)
        raw.settimeout(10)
        # The server gives up on this connection: an alert or nothing, then EOF.
        try:
            while raw.recv(4096):
                pass
        except (ConnectionResetError, socket.timeout) as e:
            assert not isinstance(e, socket.timeout), "the server kept a broken handshake open"
        raw.close()
    # A client that leaves in the middle of its handshake.
    raw = connect_plain(ports.smtp)
    f = raw.makefile("rb")
    read_reply(f)
    raw.sendall(b"STARTTLS\r\n")
    read_reply(f)
    raw.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
    raw.close()
    time.sleep(0.3)
    assert d.children() == kids, "a failed handshake restarted a process"
    client = smtplib.SMTP(d.jail.host, ports.smtp, timeout=15)
    client.ehlo("client.test")
    client.starttls(context=client_context(pki))
    assert client.noop()[0] == 250
    client.quit()
    assert "connection error, client=127.0.0.1" in d.log()


def test_implicit_tls_port_greets_under_tls_and_requires_auth(tls):
    d, ports, pki = tls
    raw = connect_plain(ports.submissions)
    tls_sock = client_context(pki).wrap_socket(raw, server_hostname=HOSTNAME)
    try:
        assert tls_sock.version() in ("TLSv1.3", "TLSv1.2")
        f = tls_sock.makefile("rb")
        code, lines = read_reply(f)
        assert code == 220 and lines[0].startswith(HOSTNAME), lines
        tls_sock.sendall(b"EHLO client.test\r\n")
        code, lines = read_reply(f)
        keywords = [line.upper() for line in lines[1:]]
        assert "STARTTLS" not in keywords and any(k.startswith("AUTH ") for k in keywords), keywords
        tls_sock.sendall(b"MAIL FROM:<sender@client.test>\r\n")
        assert read_reply(f) == (530, ["5.7.0 Authentication required"])
        tls_sock.sendall(b"QUIT\r\n")
        assert read_reply(f)[0] == 221
    finally:
        tls_sock.close()
    # Cleartext on the TLS port is not SMTP: the server never answers it.
    raw = connect_plain(ports.submissions, timeout=5)
    raw.sendall(b"EHLO client.test\r\n")
    raw.settimeout(5)
    try:
        data = raw.recv(100)
    except (ConnectionResetError, socket.timeout):
        data = b""
    assert not data.startswith(b"220") and not data.startswith(b"250"), data
    raw.close()


def test_submission_port_offers_starttls_and_requires_auth(tls):
    d, ports, pki = tls
    client = smtplib.SMTP(d.jail.host, ports.submission, timeout=15)
    try:
        keywords = ehlo_keywords(client)
        assert "STARTTLS" in keywords
        assert not any(k.startswith("AUTH") for k in keywords), "AUTH offered before TLS"
        assert client.docmd("MAIL FROM:<sender@client.test>") == (530, b"5.7.0 Authentication required")
        assert client.docmd("AUTH PLAIN AHgAeQ==")[0] == 538
        client.starttls(context=client_context(pki))
        keywords = ehlo_keywords(client)
        assert any(k.startswith("AUTH ") for k in keywords), keywords
        assert client.docmd("MAIL FROM:<sender@client.test>") == (530, b"5.7.0 Authentication required")
    finally:
        client.close()


def test_port_25_without_auth_still_takes_mail_for_local_users(tls):
    d, ports, pki = tls
    token = unique_token("plain25")
    client = smtplib.SMTP(d.jail.host, ports.smtp, timeout=15)
    try:
        keywords = ehlo_keywords(client)
        assert not any(k.startswith("AUTH") for k in keywords), "AUTH offered in cleartext"
        client.sendmail("sender@client.test", [ALICE], make_message(token, to=ALICE))
        client.quit()
    finally:
        client.close()
    text = d.wait_for_mbox("pt-alice", lambda t: token in t, timeout=15)
    assert token in text


def run_check(d) -> subprocess.CompletedProcess:
    return subprocess.run([str(d.bin), "check", "-c", str(d.jail.config)], capture_output=True, text=True,
                          timeout=30)


def test_postern_check_reports_certificate_problems(tls, tmp_path):
    d, ports, pki = tls
    ok = run_check(d)
    assert ok.returncode == 0, ok.stderr
    assert "TLSCertificateFile = " in ok.stdout
    assert "error" not in ok.stderr and "warning" not in ok.stderr, ok.stderr
    cert_line = f"TLSCertificateFile = {d.jail.config_dir / 'tls-cert.pem'}"
    key_line = f"TLSKeyFile = {d.jail.config_dir / 'tls-key.pem'}"
    original = d.jail.config.read_text()
    assert cert_line in original and key_line in original
    try:
        # Expired.
        old = expired_certificate(tmp_path / "old")
        d.jail.config.write_text(original.replace(cert_line, f"TLSCertificateFile = {old.cert}")
                                 .replace(key_line, f"TLSKeyFile = {old.key}"))
        r = run_check(d)
        assert r.returncode == 1 and re.search(r"error: .*expired", r.stderr), r.stderr
        # A key that does not belong to the certificate.
        other = make_pki(tmp_path / "other")
        d.jail.config.write_text(original.replace(key_line, f"TLSKeyFile = {other.key}"))
        r = run_check(d)
        assert r.returncode == 1 and re.search(r"error: .*(does not match|mismatch)", r.stderr), r.stderr
        # Expiring soon: a warning only.
        soon = make_pki(tmp_path / "soon", days=10)
        d.jail.config.write_text(original.replace(cert_line, f"TLSCertificateFile = {soon.cert}")
                                 .replace(key_line, f"TLSKeyFile = {soon.key}"))
        r = run_check(d)
        assert r.returncode == 0 and re.search(r"warning: .*expires", r.stderr), r.stderr
    finally:
        d.jail.config.write_text(original)
