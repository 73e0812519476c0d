"""Remote delivery against the running daemon (issue 7): the relay process
delivers to sinks on loopback addresses, routed by MX records a dnsmasq on
loopback serves. Nothing leaves 127.0.0.0/8: the daemon's only resolver is
that dnsmasq (no upstream), and every MX and A record points into loopback.

Addresses: 127.0.0.2 mx1.mx.test (preference 10), 127.0.0.3 mx2.mx.test
(20), 127.0.0.4 dead.fallback.test (refuses connections), 127.0.0.5
live.fallback.test, 127.0.0.6 implicit.test (no MX), 127.0.0.7 for hostile
servers. Every sink listens on the same port, the daemon's SmtpPort."""

from __future__ import annotations

import pathlib
import smtplib
import socket
import tempfile
import time

import pytest

from daemon import make_message, unique_token, wait_until
from dns_server import DnsServer
from smtp_client import fresh_daemon
from smtp_sink import ALL_CAPABILITIES, Hostile, SmtpSink
from tls_support import make_pki

HOSTS = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6", "127.0.0.7"]


def free_common_port() -> int:
    """A TCP port free on every sink address."""
    for _ in range(50):
        probe = socket.socket()
        probe.bind(("127.0.0.2", 0))
        port = probe.getsockname()[1]
        probe.close()
        try:
            for host in HOSTS:
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((host, port))
                s.close()
            return port
        except OSError:
            continue
    raise AssertionError("no common free port")


TLS_POLICY = """\
# outbound TLS per destination
tls.test        verify
wrongname.test  verify
encrypt.test    encrypt
"""


@pytest.fixture(scope="module")
def pki():
    directory = pathlib.Path(tempfile.mkdtemp(prefix="pt-relay-pki-"))
    return make_pki(directory, name="mx1.tls.test")


@pytest.fixture(scope="module")
def env(postern_bin, pki):
    port = free_common_port()
    dns = DnsServer(
        mx={"mx.test": [(20, "mx2.mx.test"), (10, "mx1.mx.test")],
            "tls.test": [(10, "mx1.tls.test")],
            "wrongname.test": [(10, "mx1.wrongname.test")],
            "encrypt.test": [(10, "plain.encrypt.test")],
            "fallback.test": [(10, "dead.fallback.test"), (20, "live.fallback.test")],
            "nullmx.test": [(0, ".")],
            "hostile.test": [(10, "bad.hostile.test")],
            "self.test": [(10, "mail.example.test")]},
        a={"mx1.mx.test": "127.0.0.2", "mx2.mx.test": "127.0.0.3", "dead.fallback.test": "127.0.0.4",
           "live.fallback.test": "127.0.0.5", "implicit.test": "127.0.0.6", "bad.hostile.test": "127.0.0.7",
           "mx1.tls.test": "127.0.0.2", "mx1.wrongname.test": "127.0.0.3", "plain.encrypt.test": "127.0.0.5"})
    with dns:
        options = {"SmartHost": "none", "DnsResolvers": f"127.0.0.1:{dns.port}", "SmtpPort": port,
                   "QueueRetryMinimum": "2s", "QueueRetryMaximum": "4s", "ConnectionCacheTime": "5s",
                   "TLSClientCAFile": str(pki.ca)}
        with fresh_daemon(postern_bin, options, access="Connect:127.0.0.9 RELAY\n",
                          files={"tls_policy": TLS_POLICY}) as d:
            yield d, port


def message_with(sink, token: str, timeout: float = 30):
    """The sink's message carrying `token`: a sink on a shared address may
    also get a retry left over from an earlier test."""
    return wait_until(lambda: next((m for m in sink.messages if m.data and token.encode() in m.data), None),
                      timeout, what=f"a message with {token} at {sink.host}\n" + sink.describe())


def relay(d, to, token, sender="tester@client.test", rcpt_options=(), mail_options=(), body=None):
    rcpts = [to] if isinstance(to, str) else to
    with smtplib.SMTP(d.jail.host, d.jail.port, timeout=20, source_address=("127.0.0.9", 0)) as c:
        c.ehlo("client.test")
        c.mail(sender, list(mail_options))
        for r in rcpts:
            assert c.rcpt(r, list(rcpt_options))[0] == 250, r
        code, _ = c.data(body or make_message(token, to=rcpts[0]))
        assert code == 250


def test_mail_goes_to_the_most_preferred_mx(env):
    d, port = env
    with SmtpSink("127.0.0.2", port) as mx1, SmtpSink("127.0.0.3", port) as mx2:
        token = unique_token("mx")
        relay(d, "someone@mx.test", token)
        message = message_with(mx1, token)
        assert message.mail_from == "tester@client.test"
        assert message.accepted_recipients == ["someone@mx.test"]
        assert not any(token.encode() in (m.data or b"") for m in mx2.messages)
    wait_until(lambda: "to=<someone@mx.test>, relay=relay, status=sent" in d.log(), 10, what="the queue's log")


def test_a_refusing_mx_is_skipped_for_the_next(env):
    d, port = env
    with SmtpSink("127.0.0.5", port) as live:
        token = unique_token("fallback")
        relay(d, "someone@fallback.test", token)
        message_with(live, token)
    assert "connect to dead.fallback.test[127.0.0.4]" in d.log()


def test_a_domain_without_mx_gets_its_address(env):
    d, port = env
    with SmtpSink("127.0.0.6", port) as sink:
        token = unique_token("implicit")
        relay(d, "someone@implicit.test", token)
        message_with(sink, token)


def test_null_mx_and_a_loop_to_ourselves_bounce_at_once(env):
    d, _ = env
    offset = len(d.log())
    relay(d, "someone@nullmx.test", unique_token("nullmx"))
    wait_until(lambda: "to=<someone@nullmx.test>, relay=relay, status=bounced (5.1.10" in d.log_since(offset), 20,
               what="the null MX bounce\n" + d.diagnostics())
    relay(d, "someone@self.test", unique_token("self"))
    wait_until(lambda: "to=<someone@self.test>, relay=relay, status=bounced (5.4.6" in d.log_since(offset), 20,
               what="the loop bounce\n" + d.diagnostics())


def test_per_recipient_results_and_the_remote_text_in_the_bounce(env):
    d, port = env
    replies = {"rcpt": {"bad@mx.test": "550 5.1.1 no such user here", "later@mx.test": "450 4.2.1 try later"}}
    with SmtpSink("127.0.0.2", port, replies=replies) as mx1:
        token = unique_token("mixed")
        offset = len(d.log())
        relay(d, ["good@mx.test", "bad@mx.test", "later@mx.test"], token, sender="pt-alice@example.test")
        message = message_with(mx1, token)
        assert message.accepted_recipients == ["good@mx.test"]
        wait_until(lambda: "to=<later@mx.test>, relay=relay, status=deferred (4.2.1" in d.log_since(offset), 20,
                   what="the deferral")
        wait_until(lambda: "to=<bad@mx.test>, relay=relay, status=bounced (5.1.1" in d.log_since(offset), 20,
                   what="the bounce")
        # The sender hears of the failed recipient now, with the remote
        # server's own words, while the deferred one waits.
        bounce = d.wait_for_mbox("pt-alice", lambda t: "no such user here" in t and token in t, timeout=30)
        assert "bad@mx.test" in bounce
        assert "Status: 5.1.1" in bounce
        # The next try finds the server willing.
        mx1.set_replies({})
        wait_until(lambda: any(token.encode() in (m.data or b"") and m.accepted_recipients == ["later@mx.test"]
                               for m in mx1.messages), 30, what="the retry\n" + d.diagnostics())
    wait_until(lambda: "to=<later@mx.test>, relay=relay, status=sent" in d.log_since(offset), 10, what="sent")
    # Reported once: the final notice does not repeat it.
    time.sleep(2)
    bounces = [m for m in ("\n" + d.mbox("pt-alice")).split("\nFrom ") if token in m and "no such user here" in m]
    assert len(bounces) == 1, bounces


def test_dsn_and_size_parameters_are_passed_on_when_offered(env):
    d, port = env
    with SmtpSink("127.0.0.2", port, capabilities=ALL_CAPABILITIES) as mx1:
        token = unique_token("dsn")
        relay(d, "someone@mx.test", token, rcpt_options=["NOTIFY=FAILURE,DELAY", "ORCPT=rfc822;Someone@mx.test"],
              mail_options=["RET=HDRS", "ENVID=env-42"])
        message = message_with(mx1, token)
        assert message.mail_params.get("RET") == "HDRS"
        assert message.mail_params.get("ENVID") == "env-42"
        assert "SIZE" in message.mail_params
        [rcpt] = message.recipients
        assert rcpt.params.get("NOTIFY") == "FAILURE,DELAY"
        assert rcpt.params.get("ORCPT", "").lower() == "rfc822;someone@mx.test"


@pytest.mark.parametrize("behaviour", [Hostile.OVERSIZED_LINE, Hostile.GARBAGE, Hostile.BARE_LF])
def test_a_hostile_server_costs_a_deferral_and_nothing_else(env, behaviour):
    d, port = env
    with SmtpSink("127.0.0.7", port, greeting=behaviour):
        offset = len(d.log())
        relay(d, "someone@hostile.test", unique_token("hostile"))
        wait_until(lambda: "to=<someone@hostile.test>, relay=relay, status=deferred" in d.log_since(offset), 30,
                   what="the deferral\n" + d.diagnostics())
    d.assert_running()


def test_an_endless_multiline_reply_is_cut_off(env):
    d, port = env
    with SmtpSink("127.0.0.7", port, replies={"ehlo": Hostile.ENDLESS_MULTILINE}):
        offset = len(d.log())
        relay(d, "someone2@hostile.test", unique_token("endless"))
        wait_until(lambda: "to=<someone2@hostile.test>, relay=relay, status=deferred" in d.log_since(offset), 30,
                   what="the deferral\n" + d.diagnostics())
    d.assert_running()


def test_a_hundred_messages_to_one_destination_reuse_connections(env):
    d, port = env
    with SmtpSink("127.0.0.6", port) as sink:
        tokens = [unique_token(f"reuse{i}") for i in range(100)]
        with smtplib.SMTP(d.jail.host, d.jail.port, timeout=30, source_address=("127.0.0.9", 0)) as c:
            for token in tokens:
                c.sendmail("tester@client.test", ["someone@implicit.test"],
                           make_message(token, to="someone@implicit.test"))
        wanted = {t.encode() for t in tokens}
        wait_until(lambda: wanted <= {t for m in sink.messages for t in wanted if t in (m.data or b"")}, 60,
                   what="the hundred messages")
        per_connection = sink.messages_per_connection
        assert sum(per_connection) >= 100
        assert len(per_connection) <= 50, per_connection
        assert max(per_connection) >= 5, per_connection


def test_opportunistic_tls_is_used_when_offered(env, pki):
    d, port = env
    with SmtpSink("127.0.0.2", port, capabilities=("PIPELINING", "STARTTLS"), tls_cert=pki.cert,
                  tls_key=pki.key) as mx1:
        token = unique_token("may")
        relay(d, "tls-may@mx.test", token)
        message = message_with(mx1, token)
        assert message.tls and message.tls_version in ("TLSv1.2", "TLSv1.3")
    # Not verified: the certificate is for mx1.tls.test, the MX is mx1.mx.test.
    line = wait_until(lambda: next((l for l in d.log().splitlines()
                                    if "to=<tls-may@mx.test>, relay=mx1.mx.test" in l and "status=delivered" in l),
                                   None), 30, what="the log")
    assert "TLSv1." in line and "verified=no" in line


def test_verify_policy_delivers_over_a_verified_certificate(env, pki):
    d, port = env
    with SmtpSink("127.0.0.2", port, capabilities=("PIPELINING", "STARTTLS"), tls_cert=pki.cert,
                  tls_key=pki.key) as mx1:
        token = unique_token("verify")
        relay(d, "someone@tls.test", token)
        message = message_with(mx1, token)
        assert message.tls
    line = wait_until(lambda: next((l for l in d.log().splitlines()
                                    if "to=<someone@tls.test>, relay=mx1.tls.test" in l and "status=delivered" in l),
                                   None), 30, what="the log")
    assert "verified=yes" in line, line


def test_verify_policy_refuses_a_certificate_for_another_name(env, pki):
    d, port = env
    with SmtpSink("127.0.0.3", port, capabilities=("PIPELINING", "STARTTLS"), tls_cert=pki.cert,
                  tls_key=pki.key) as wrong:
        offset = len(d.log())
        relay(d, "someone@wrongname.test", unique_token("wrongname"))
        wait_until(lambda: "to=<someone@wrongname.test>, relay=relay, status=deferred" in d.log_since(offset), 30,
                   what="the deferral\n" + d.diagnostics())
        assert wrong.messages == [] or all(b"wrongname" not in (m.data or b"") for m in wrong.messages)


def test_encrypt_policy_defers_when_the_server_offers_no_tls(env):
    d, port = env
    with SmtpSink("127.0.0.5", port) as plain:
        offset = len(d.log())
        relay(d, "someone@encrypt.test", unique_token("encrypt"))
        wait_until(lambda: "to=<someone@encrypt.test>, relay=relay, status=deferred (4.7" in d.log_since(offset), 30,
                   what="the deferral\n" + d.diagnostics())
        assert not any(b"encrypt" in (m.data or b"") for m in plain.messages)


def test_a_cached_connection_the_server_dropped_is_replaced_not_deferred(env):
    d, port = env
    with SmtpSink("127.0.0.6", port) as first:
        first_token = unique_token("cached1")
        relay(d, "cached@implicit.test", first_token)
        message_with(first, first_token)
    # The relay keeps its connection for ConnectionCacheTime; the server
    # behind it is gone, and a new one listens at the same address.
    with SmtpSink("127.0.0.6", port) as second:
        offset = len(d.log())
        token = unique_token("cached2")
        relay(d, "cached@implicit.test", token)
        message_with(second, token)
        assert "to=<cached@implicit.test>, relay=relay, status=deferred" not in d.log_since(offset)
        assert "implicit.test[127.0.0.6]:%d: cached connection closed; reconnecting" % port in d.log_since(offset)


def test_notify_success_is_relayed_or_handed_on(env):
    d, port = env
    # A next hop without DSN: we report, with Action: relayed.
    with SmtpSink("127.0.0.6", port) as plain:
        token = unique_token("relayed")
        relay(d, "notify@implicit.test", token, sender="pt-alice@example.test", rcpt_options=["NOTIFY=SUCCESS"])
        message_with(plain, token)
        report = d.wait_for_mbox("pt-alice", lambda t: "Action: relayed" in t and token in t, timeout=30)
        assert "Final-Recipient: rfc822; notify@implicit.test" in report or "notify@implicit.test" in report
    # A next hop with DSN takes the request on: no report from us.
    with SmtpSink("127.0.0.6", port, capabilities=ALL_CAPABILITIES) as dsn:
        token = unique_token("handed-on")
        offset = len(d.log())
        relay(d, "notify2@implicit.test", token, sender="pt-alice@example.test", rcpt_options=["NOTIFY=SUCCESS"])
        message = message_with(dsn, token)
        assert message.recipients[0].params.get("NOTIFY") == "SUCCESS"
        wait_until(lambda: "to=<notify2@implicit.test>, relay=relay, status=sent" in d.log_since(offset), 20,
                   what="the delivery")
        time.sleep(2)
        assert token not in d.mbox("pt-alice")
