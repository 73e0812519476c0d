"""The per-client limits spare this host and the clients the access map
trusts (issue 16): a local application opening many connections, and a
`Connect: RELAY` host, are not refused by MaxConnectionsPerClient or
MaxConnectionRatePerClient, as Postfix exempts $mynetworks; any other
client still is; the total still holds for everyone."""

from __future__ import annotations

import contextlib

from smtp_client import SMTPConn, start_configured

LIMITS = {"MaxConnectionsPerClient": 3, "MaxConnectionRatePerClient": 6, "MaxConnections": 40}


def greetings(d, source: str, count: int) -> list[str]:
    with contextlib.ExitStack() as stack:
        conns = [stack.enter_context(SMTPConn(d.jail.host, d.jail.port, source=source, timeout=10))
                 for _ in range(count)]
        return [c.greeting.full.split(" ", 1)[0] for c in conns]


def test_this_host_and_a_trusted_client_are_exempt_others_are_not(start_daemon):
    d = start_configured(start_daemon, LIMITS, access="Connect:127.0.0.9 RELAY\n")
    assert greetings(d, "127.0.0.1", 12) == ["220"] * 12
    # The trusted client: its first session teaches the listener the verdict.
    assert greetings(d, "127.0.0.9", 1) == ["220"]
    assert greetings(d, "127.0.0.9", 8) == ["220"] * 8
    # Anyone else: the fourth at once is refused.
    assert greetings(d, "127.0.0.2", 4) == ["220", "220", "220", "421"]
