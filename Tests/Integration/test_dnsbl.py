"""DNS block lists against the real daemon (issue 3), with dnsmasq on
loopback as the lists' DNS server (dns_server.py) — never a real list, and
dnsmasq never forwards anywhere.

The zones (RFC 5782: the client's octets reversed under the zone):

    bl.test   127.0.0.2  listed, TXT "listed for testing"
              127.0.0.4  answers 127.255.255.254: the list refusing to
                         answer (Spamhaus style), not a listing
              127.0.0.5  listed, TXT (exempted by the access map in a test)
              127.0.0.7  listed, TXT with CR LF, a fake reply line and ESC
              127.0.0.8  listed, a 400-character TXT
              anything else in bl.test: NXDOMAIN (not listed)
    bl2.test  127.0.0.6  listed, no TXT

The daemon gets `DnsBlocklists = ...` and `DnsResolvers = 127.0.0.1:PORT`.
A listed client is refused in the greeting with `554 5.7.1` and the list's
text; the lookup logs "listed by ZONE". A list that does not answer does
not block mail (fail open), and says so in the log.
"""

from __future__ import annotations

import signal
import smtplib
import socket
import threading
import time

import pytest

from daemon import make_message, unique_token, wait_until
from dns_server import BlackHole, DnsServer, silent_port
from smtp_client import greeting_from, set_options, smtplib_cmd, smtplib_connect

DOMAIN = "example.test"
ALICE = f"pt-alice@{DOMAIN}"
LISTED_TEXT = "listed for testing"
# What a hostile list (or whoever answers in its name) might put in its TXT:
# a line end and a reply of its own, and a terminal escape for the logs.
INJECTION_TEXT = "evil\r\n250 2.0.0 welcome\r\n\x1b[31m"


@pytest.fixture(scope="module")
def dns(tmp_path_factory):
    server = DnsServer(
        a={
            "2.0.0.127.bl.test": "127.0.0.2",
            "4.0.0.127.bl.test": "127.255.255.254",
            "5.0.0.127.bl.test": "127.0.0.2",
            "6.0.0.127.bl2.test": "127.0.0.3",
            "7.0.0.127.bl.test": "127.0.0.2",
            "8.0.0.127.bl.test": "127.0.0.2",
        },
        txt={
            "2.0.0.127.bl.test": LISTED_TEXT,
            "5.0.0.127.bl.test": LISTED_TEXT,
            "7.0.0.127.bl.test": INJECTION_TEXT,
            "8.0.0.127.bl.test": "x" * 400,
        },
        local_zones=("bl.test", "bl2.test"),
        log_dir=tmp_path_factory.mktemp("dnsmasq"),
    )
    server.start()
    try:
        # The fixture itself answers as the tests expect.
        assert server.query("2.0.0.127.bl.test", "A") == ("NOERROR", ["127.0.0.2"])
        assert server.query("2.0.0.127.bl.test", "TXT") == ("NOERROR", [LISTED_TEXT])
        assert server.query("3.0.0.127.bl.test", "A")[0] == "NXDOMAIN"
        yield server
    finally:
        server.stop()


# ------------------------------------------------------------------ helpers


def start_with(start_daemon, zones: str | None, resolver_port: int | None, access: str = ""):
    d = start_daemon(start=False)
    (d.jail.config_dir / "access").write_text(access)
    lines = ""
    if zones is not None:
        lines += f"DnsBlocklists = {zones}\n"
    if resolver_port is not None:
        lines += f"DnsResolvers = 127.0.0.1:{resolver_port}\n"
    with open(d.jail.config, "a") as f:
        f.write(lines)
    d.start()
    return d


def connect(d, source: str = "127.0.0.1", timeout: float = 20):
    return smtplib_connect(d, source, timeout)


cmd = smtplib_cmd


def greeting(d, source: str) -> tuple[int, str]:
    return greeting_from(d, source, 20)


def blocked(source: str, zone: str, text: str | None) -> tuple[int, str]:
    reason = f"; {text}" if text else ""
    return 554, f"5.7.1 Service unavailable; client [{source}] blocked using {zone}{reason}"


def deliver_from(d, source: str, user: str = "pt-alice") -> None:
    token = unique_token("dnsbl")
    address = f"{user}@{DOMAIN}"
    client, code, text = connect(d, source)
    try:
        assert code == 220, f"{source}: {code} {text}"
        client.ehlo("client.test")
        assert client.sendmail("tester@client.test", [address], make_message(token, to=address)) == {}
        client.quit()
    finally:
        client.close()
    d.wait_for_mbox(user, lambda t: token in t)


def lookup_line(d, text: str) -> bool:
    return any("postern/lookup[" in line and text in line for line in d.log().splitlines())


# -------------------------------------------------------------------- tests


def test_a_listed_client_is_refused_in_the_greeting_with_the_lists_text(start_daemon, dns):
    d = start_with(start_daemon, "bl.test", dns.port)
    client, code, text = connect(d, "127.0.0.2")
    try:
        assert (code, text) == blocked("127.0.0.2", "bl.test", LISTED_TEXT)
        for line in ("EHLO client.test", "MAIL FROM:<tester@client.test>", f"RCPT TO:<{ALICE}>", "DATA"):
            assert cmd(client, line) == (503, "5.7.0 Error: access denied"), line
        assert cmd(client, "QUIT")[0] == 221
    finally:
        client.close()
    assert lookup_line(d, f"reject: connect from 127.0.0.2: listed by bl.test; {LISTED_TEXT}"), d.diagnostics()
    # Asked our server, for the RFC 5782 name.
    assert "query[A] 2.0.0.127.bl.test from 127.0.0.1" in dns.log()
    assert "query[TXT] 2.0.0.127.bl.test from 127.0.0.1" in dns.log()


def test_a_client_that_is_not_listed_is_served(start_daemon, dns):
    d = start_with(start_daemon, "bl.test", dns.port)
    deliver_from(d, "127.0.0.3")
    assert "query[A] 3.0.0.127.bl.test from 127.0.0.1" in dns.log()
    # NXDOMAIN is an answer ("not listed"), not a failure.
    assert not lookup_line(d, "did not answer"), d.diagnostics()
    assert not lookup_line(d, "listed by")


@pytest.mark.parametrize("action", ["OK", "RELAY"])
def test_an_access_map_ok_or_relay_exempts_a_listed_client(start_daemon, dns, action):
    d = start_with(start_daemon, "bl.test", dns.port,
                   access=f"Connect:127.0.0.2 {action}\nConnect:127.0.0.5 {action}\n")
    deliver_from(d, "127.0.0.2")
    client, code, _ = connect(d, "127.0.0.5")
    try:
        assert code == 220
        assert cmd(client, "EHLO client.test")[0] == 250
        assert cmd(client, "MAIL FROM:<>") == (250, "2.1.0 Ok")
        expected = (250, "2.1.5 Ok") if action == "RELAY" else (550, "5.7.1 <u@remote.test>: Relaying denied")
        assert cmd(client, "RCPT TO:<u@remote.test>") == expected
    finally:
        client.close()
    assert not lookup_line(d, "listed by")
    # An exemption does not exempt anybody else.
    assert greeting(d, "127.0.0.6")[0] == 220
    assert d.log().count("listed by") == 0


def test_a_second_zone_is_queried_and_a_listing_without_text_still_refuses(start_daemon, dns):
    d = start_with(start_daemon, "bl.test, bl2.test", dns.port)
    assert greeting(d, "127.0.0.6") == blocked("127.0.0.6", "bl2.test", None)
    assert greeting(d, "127.0.0.2") == blocked("127.0.0.2", "bl.test", LISTED_TEXT)
    assert lookup_line(d, "reject: connect from 127.0.0.6: listed by bl2.test")
    deliver_from(d, "127.0.0.3")


def test_a_dns_server_that_does_not_answer_does_not_block_mail(start_daemon):
    # Nothing listens on the port: the kernel refuses at once.
    d = start_with(start_daemon, "bl.test", silent_port())
    started = time.monotonic()
    deliver_from(d, "127.0.0.2")
    assert time.monotonic() - started < 30
    assert lookup_line(d, "DNS block list bl.test did not answer for 127.0.0.2"), d.diagnostics()
    assert not lookup_line(d, "listed by")


def test_a_dns_server_that_hangs_delays_the_greeting_but_does_not_block_mail(start_daemon):
    # A socket that takes the queries and never answers: the lookup's
    # timeouts, then fail open. The listener must wait for the verdict
    # rather than refuse or drop the client.
    with BlackHole() as hole:
        d = start_with(start_daemon, "bl.test", hole.port)
        started = time.monotonic()
        deliver_from(d, "127.0.0.2")
        elapsed = time.monotonic() - started
        assert elapsed < 30, f"the greeting took {elapsed:.1f}s"
        assert hole.received() >= 1, "the lookup never asked the configured server"
    assert lookup_line(d, "DNS block list bl.test did not answer for 127.0.0.2"), d.diagnostics()
    assert not lookup_line(d, "listed by")


def test_a_lists_refusal_code_is_not_a_listing(start_daemon, dns):
    # 127.255.255.x: the list will not answer this resolver; treating it as
    # a listing would refuse every client.
    d = start_with(start_daemon, "bl.test", dns.port)
    deliver_from(d, "127.0.0.4")
    assert lookup_line(d, "DNS block list bl.test did not answer for 127.0.0.4"), d.diagnostics()
    assert not lookup_line(d, "listed by")


def test_block_lists_configured_by_sighup_take_effect_without_restarting_children(start_daemon, dns):
    d = start_with(start_daemon, None, None)
    assert greeting(d, "127.0.0.2")[0] == 220
    kids = d.children()
    offset = len(d.log())
    set_options(d.jail.config, {"DnsBlocklists": "bl.test", "DnsResolvers": f"127.0.0.1:{dns.port}"})
    d.signal(signal.SIGHUP)
    marker = f"postern/lookup[{kids['lookup']}]: maps loaded"
    wait_until(lambda: marker in d.log_since(offset), 10, what=f"{marker!r} after SIGHUP")
    assert d.children() == kids
    assert greeting(d, "127.0.0.2") == blocked("127.0.0.2", "bl.test", LISTED_TEXT)
    deliver_from(d, "127.0.0.3")


def read_line(sock, limit: int = 4096) -> bytes:
    data = b""
    while not data.endswith(b"\r\n") and len(data) < limit:
        chunk = sock.recv(1)
        if not chunk:
            break
        data += chunk
    return data


def test_the_lists_text_cannot_inject_reply_lines(start_daemon, dns):
    d = start_with(start_daemon, "bl.test", dns.port)
    for source in ("127.0.0.7", "127.0.0.8"):
        with socket.create_connection((d.jail.host, d.jail.port), timeout=15, source_address=(source, 0)) as s:
            line = read_line(s)
            assert line.startswith(b"554 5.7.1 Service unavailable; client [" + source.encode()), line
            assert line.endswith(b"\r\n") and len(line) <= 512, f"reply line of {len(line)} octets"
            body = line[:-2]
            assert all(0x20 <= b < 0x7F for b in body), f"control or 8-bit bytes in the reply: {line!r}"
            # The next reply is the server's own, not the list's "250".
            s.sendall(b"EHLO client.test\r\n")
            assert read_line(s) == b"503 5.7.0 Error: access denied\r\n"
            s.sendall(b"QUIT\r\n")
            assert read_line(s).startswith(b"221 ")
    for line in d.log().splitlines():
        assert "\x1b" not in line, f"an escape reached the log: {line!r}"
    assert lookup_line(d, "reject: connect from 127.0.0.7: listed by bl.test; evil")


def test_a_hanging_dns_server_does_not_hold_up_other_sessions_rcpt_checks(start_daemon):
    with BlackHole() as hole:
        # 127.0.0.3 is exempt (OK), so it is greeted without any DNS query.
        d = start_with(start_daemon, "bl.test", hole.port, access="Connect:127.0.0.3 OK\n")
        client, code, _ = connect(d, "127.0.0.3", timeout=60)
        waiting = []
        try:
            assert code == 220
            assert cmd(client, "EHLO client.test")[0] == 250
            assert cmd(client, "MAIL FROM:<>") == (250, "2.1.0 Ok")

            def open_one(i):
                waiting.append(socket.create_connection((d.jail.host, d.jail.port), timeout=30,
                                                        source_address=(f"127.0.1.{i}", 0)))

            openers = [threading.Thread(target=open_one, args=(i,)) for i in range(1, 17)]
            for t in openers:
                t.start()
            for t in openers:
                t.join(10)
            wait_until(lambda: d.log().count("connect from 127.0.1.") >= 16, 5, what="16 connections")
            time.sleep(0.2)  # their client checks are now running in the lookup
            started = time.monotonic()
            assert cmd(client, f"RCPT TO:<{ALICE}>") == (250, "2.1.5 Ok")
            elapsed = time.monotonic() - started
            assert elapsed < 2.5, f"the RCPT check waited {elapsed:.1f}s behind other clients' DNS queries"
        finally:
            client.close()
            for s in waiting:
                s.close()
