"""The access map and local-host-names against the real daemon (issue 3).

The maps live in the jail's config directory (P/etc/postern/access and
P/etc/postern/local-host-names), Sendmail syntax, read at start and on
SIGHUP. Clients connect from different loopback addresses (the whole of
127.0.0.0/8 is local on Linux) so that each can have its own Connect: entry;
a loopback client's host name in access lookups is "localhost".

Every reply code is checked exactly. "Nothing delivered" is checked by
delivering a control message to the same mailbox afterwards and making sure
the discarded token is not there, plus the listener's "discarded by policy"
log line.
"""

from __future__ import annotations

import signal
import smtplib

import socket

import pytest

from daemon import make_message, unique_token, wait_until
from smtp_client import greeting_from, smtplib_cmd, smtplib_connect

DOMAIN = "example.test"
ALICE = f"pt-alice@{DOMAIN}"
BOB = f"pt-bob@{DOMAIN}"


# ------------------------------------------------------------------ helpers


def start_with_maps(start_daemon, access: str = "", local_host_names: str | None = None, conf: str = ""):
    """A daemon whose access file (and local-host-names, and extra config
    lines) are written before it starts."""
    d = start_daemon(start=False)
    (d.jail.config_dir / "access").write_text(access)
    if local_host_names is not None:
        (d.jail.config_dir / "local-host-names").write_text(local_host_names)
    if conf:
        with open(d.jail.config, "a") as f:
            f.write(conf)
    d.start()
    return d


def connect(d, source: str = "127.0.0.1", timeout: float = 15):
    return smtplib_connect(d, source, timeout)


cmd = smtplib_cmd


def greeting(d, source: str) -> tuple[int, str]:
    return greeting_from(d, source, 15)


def session(d, source: str = "127.0.0.1"):
    """A greeted, EHLO'd session; asserts the 220."""
    client, code, text = connect(d, source)
    assert code == 220, f"greeting for {source}: {code} {text}"
    assert cmd(client, "EHLO client.test")[0] == 250
    return client


def transaction(d, source: str, sender: str, rcpts: list[str], body: str) -> dict:
    """One whole transaction with every reply recorded:
    {"mail": (code, text), "rcpt": [(code, text)...], "data": (code, text) or None}."""
    client = session(d, source)
    try:
        out = {"mail": cmd(client, f"MAIL FROM:<{sender}>"), "rcpt": [], "data": None}
        for rcpt in rcpts:
            out["rcpt"].append(cmd(client, f"RCPT TO:<{rcpt}>"))
        if out["mail"][0] == 250 and any(code == 250 for code, _ in out["rcpt"]):
            try:
                code, msg = client.data(body)
            except smtplib.SMTPDataError as e:
                code, msg = e.smtp_code, e.smtp_error
            out["data"] = (code, msg.decode(errors="replace") if isinstance(msg, bytes) else msg)
        cmd(client, "QUIT")
    finally:
        client.close()
    return out


def send_from(d, source: str, rcpts, body: str, sender: str = "tester@client.test") -> dict:
    client = session(d, source)
    try:
        refused = client.sendmail(sender, list(rcpts), body)
        client.quit()
    finally:
        client.close()
    return refused


def deliver_control(d, source: str, user: str = "pt-alice") -> str:
    """Delivers a control message to USER from a served client and waits
    for it; returns the mailbox text."""
    token = unique_token("control")
    address = f"{user}@{DOMAIN}"
    assert send_from(d, source, [address], make_message(token, to=address)) == {}
    return d.wait_for_mbox(user, lambda t: token in t)


def discarded_ids(d, client: str) -> list[str]:
    """Queue ids the listener logged as "discarded by policy" for `client`."""
    marker = f": discarded by policy, client={client}"
    ids = []
    for line in d.log().splitlines():
        if line.endswith(marker) and "postern/listener[" in line:
            ids.append(line[: -len(marker)].rsplit(" ", 1)[-1])
    return ids


def assert_discarded(d, token: str, client: str, control_users=("pt-alice",), never_users=(),
                     control_source: str = "127.0.0.1") -> None:
    """The message carrying `token` was discarded: the listener logged the
    discard, the queue aborted that spool file (nothing queued, nothing
    delivered), and after a control message to each of `control_users` has
    arrived, `token` is in no mailbox of `control_users` + `never_users`."""
    ids = wait_until(lambda: discarded_ids(d, client), 5, what=f"a 'discarded by policy' line for {client}")
    qid = ids[-1]
    wait_until(lambda: f": {qid}: aborted" in d.log(), 5, what=f"the queue to abort {qid}")
    log = d.log()
    assert f": {qid}: queued" not in log and f": {qid}: to=<" not in log, f"{qid} was queued\n{d.diagnostics()}"
    for user in control_users:
        deliver_control(d, control_source, user)
    for user in tuple(control_users) + tuple(never_users):
        assert token not in d.mbox(user), f"discarded message {token} was delivered to {user}"


def reload_maps(d, access: str | None = None, local_host_names: str | None = None) -> None:
    """Rewrites the maps, sends SIGHUP to the master and waits for the
    lookup's "maps loaded"; asserts that no child was restarted."""
    kids = d.children()
    offset = len(d.log())
    if access is not None:
        (d.jail.config_dir / "access").write_text(access)
    if local_host_names is not None:
        (d.jail.config_dir / "local-host-names").write_text(local_host_names)
    d.signal(signal.SIGHUP)
    marker = f"postern/lookup[{kids['lookup']}]: maps loaded"
    wait_until(lambda: marker in d.log_since(offset), 10, what=f"{marker!r} after SIGHUP")
    assert d.children() == kids, f"SIGHUP restarted children: {kids} -> {d.children()}"


def access_denied(address: str) -> tuple[int, str]:
    return 550, f"5.7.1 <{address}>: Access denied"


def relaying_denied(address: str) -> tuple[int, str]:
    return 550, f"5.7.1 <{address}>: Relaying denied"


# ------------------------------------------------------------------ Connect:


# Every command but QUIT; fewer than MaxErrorsPerSession (10) of them.
COMMANDS_AFTER_REFUSED_GREETING = (
    "EHLO client.test", "HELO client.test", "MAIL FROM:<tester@client.test>", f"RCPT TO:<{ALICE}>",
    "DATA", "RSET", "NOOP", f"VRFY {ALICE}",
)


def assert_refused_session(d, source: str, code: int, text: str) -> None:
    client, got_code, got_text = connect(d, source)
    try:
        assert (got_code, got_text) == (code, text), f"greeting for {source}"
        for line in COMMANDS_AFTER_REFUSED_GREETING:
            assert cmd(client, line) == (503, "5.7.0 Error: access denied"), line
        assert cmd(client, "QUIT")[0] == 221
    finally:
        client.close()


def test_connect_reject_refuses_in_the_greeting_and_503s_every_command_but_quit(start_daemon):
    d = start_with_maps(start_daemon, "Connect:127.0.0.2 REJECT\n")
    assert_refused_session(d, "127.0.0.2", 554, "5.7.1 <127.0.0.2>: Access denied")
    assert "reject: connect from 127.0.0.2: 554 5.7.1" in d.log()
    # Nobody else is affected.
    assert greeting(d, "127.0.0.3")[0] == 220
    deliver_control(d, "127.0.0.1")


def test_connect_error_gives_its_own_reply_in_the_greeting(start_daemon):
    d = start_with_maps(start_daemon, (
        'Connect:127.0.0.3 ERROR:"554 5.7.1 go away, 127.0.0.3"\n'
        'Connect:127.0.0.4 ERROR:"421 4.3.2 come back later"\n'
        'Connect:127.0.0.5 ERROR:5.7.1:550 not from here\n'
    ))
    assert_refused_session(d, "127.0.0.3", 554, "5.7.1 go away, 127.0.0.3")
    assert greeting(d, "127.0.0.4") == (421, "4.3.2 come back later")
    # 421 closes the connection (RFC 5321 §3.8): nothing more is read.
    with socket.create_connection((d.jail.host, d.jail.port), timeout=10, source_address=("127.0.0.4", 0)) as s:
        s.settimeout(10)
        got = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
        assert got == b"421 4.3.2 come back later\r\n", got
    assert greeting(d, "127.0.0.5") == (550, "5.7.1 not from here")
    assert greeting(d, "127.0.0.6")[0] == 220


def test_connect_discard_answers_250_and_delivers_nothing(start_daemon):
    d = start_with_maps(start_daemon, "Connect:127.0.0.4 DISCARD\n")
    token = unique_token("discard-connect")
    r = transaction(d, "127.0.0.4", "tester@client.test", [ALICE, BOB, "someone@remote.test"],
                    make_message(token, to=ALICE))
    assert r["mail"] == (250, "2.1.0 Ok")
    # Even a recipient that would be refused as relaying: the client cannot
    # tell that its mail goes nowhere.
    assert r["rcpt"] == [(250, "2.1.5 Ok")] * 3
    assert r["data"][0] == 250, r
    assert_discarded(d, token, "127.0.0.4", control_users=("pt-alice", "pt-bob"))


def test_connect_ok_accepts_the_client_but_does_not_let_it_relay(start_daemon):
    d = start_with_maps(start_daemon, "Connect:127.0 REJECT\nConnect:127.0.0.5 OK\n")
    assert greeting(d, "127.0.0.6")[0] == 554
    client = session(d, "127.0.0.5")
    try:
        assert cmd(client, "MAIL FROM:<tester@client.test>") == (250, "2.1.0 Ok")
        assert cmd(client, "RCPT TO:<someone@remote.test>") == relaying_denied("someone@remote.test")
    finally:
        client.close()
    deliver_control(d, "127.0.0.5")


def test_connect_relay_lets_the_client_relay(start_daemon):
    d = start_with_maps(start_daemon, "Connect:127.0.0.9 RELAY\n")
    relay = session(d, "127.0.0.9")
    other = session(d, "127.0.0.1")
    try:
        for client in (relay, other):
            assert cmd(client, "MAIL FROM:<>") == (250, "2.1.0 Ok")
        assert cmd(relay, "RCPT TO:<someone@remote.test>") == (250, "2.1.5 Ok")
        assert cmd(other, "RCPT TO:<someone@remote.test>") == relaying_denied("someone@remote.test")
        # Local mail is still local for the relaying client.
        assert cmd(relay, f"RCPT TO:<{ALICE}>") == (250, "2.1.5 Ok")
    finally:
        relay.close()
        other.close()
    deliver_control(d, "127.0.0.9")


def test_connect_host_name_key_matches_loopback_clients_as_localhost(start_daemon):
    # The address is looked up before the name: 127.0.0.13's own entry wins.
    d = start_with_maps(start_daemon, "Connect:localhost REJECT\nConnect:127.0.0.13 OK\n")
    assert greeting(d, "127.0.0.14") == (554, "5.7.1 <127.0.0.14>: Access denied")
    assert greeting(d, "127.0.0.13")[0] == 220


# -------------------------------------------------------------------- From:


def test_from_reject_is_550_5_7_1_at_mail(start_daemon):
    # Keys are case-insensitive, however the file or the client spells them.
    d = start_with_maps(start_daemon, "From:Spammer@X.Test REJECT\nFrom:<> REJECT\n")
    client = session(d)
    try:
        assert cmd(client, "MAIL FROM:<spammer@x.test>") == access_denied("spammer@x.test")
        assert cmd(client, "MAIL FROM:<SPAMMER@x.TEST>") == access_denied("SPAMMER@x.TEST")
        # The null sender has its key: <>.
        assert cmd(client, "MAIL FROM:<>")[0] == 550
        assert cmd(client, "MAIL FROM:<other@x.test>") == (250, "2.1.0 Ok")
    finally:
        client.close()
    assert "reject: MAIL from 127.0.0.1: 550 5.7.1 <spammer@x.test>: Access denied" in d.log()


def test_from_error_gives_its_reply(start_daemon):
    d = start_with_maps(start_daemon, (
        'From:nagger@x.test ERROR:"553 5.7.1 stop writing to us"\n'
        'From:later@x.test ERROR:"451 4.7.1 try again later"\n'
    ))
    client = session(d)
    try:
        assert cmd(client, "MAIL FROM:<nagger@x.test>") == (553, "5.7.1 stop writing to us")
        assert cmd(client, "MAIL FROM:<later@x.test>") == (451, "4.7.1 try again later")
        assert cmd(client, "MAIL FROM:<fine@x.test>") == (250, "2.1.0 Ok")
    finally:
        client.close()


def test_from_discard_answers_250_and_delivers_nothing(start_daemon):
    d = start_with_maps(start_daemon, "From:junk@x.test DISCARD\n")
    token = unique_token("discard-from")
    r = transaction(d, "127.0.0.1", "junk@x.test", [ALICE], make_message(token, sender="junk@x.test"))
    assert r["mail"] == (250, "2.1.0 Ok")
    assert r["rcpt"] == [(250, "2.1.5 Ok")]
    assert r["data"][0] == 250, r
    assert_discarded(d, token, "127.0.0.1", control_users=("pt-alice",))


def test_from_ok_carves_an_exception_out_of_a_domain_reject(start_daemon):
    d = start_with_maps(start_daemon, "From:x.test REJECT\nFrom:friend@x.test OK\n")
    client = session(d)
    try:
        assert cmd(client, "MAIL FROM:<other@x.test>") == access_denied("other@x.test")
        assert cmd(client, "MAIL FROM:<other@mail.x.test>") == access_denied("other@mail.x.test")
    finally:
        client.close()
    token = unique_token("from-ok")
    assert send_from(d, "127.0.0.1", [ALICE], make_message(token, sender="friend@x.test"),
                     sender="friend@x.test") == {}
    d.wait_for_mbox("pt-alice", lambda t: token in t)


# ---------------------------------------------------------------------- To:


def test_to_reject_is_550_5_7_1_at_rcpt_for_every_client(start_daemon):
    d = start_with_maps(start_daemon, f"To:{BOB} REJECT\nConnect:127.0.0.9 RELAY\n")
    for source in ("127.0.0.1", "127.0.0.9"):
        client = session(d, source)
        try:
            assert cmd(client, "MAIL FROM:<tester@client.test>") == (250, "2.1.0 Ok")
            assert cmd(client, f"RCPT TO:<{BOB}>") == access_denied(BOB), source
            assert cmd(client, f"RCPT TO:<{ALICE}>") == (250, "2.1.5 Ok")
        finally:
            client.close()
    assert f"reject: RCPT from 127.0.0.1: 550 5.7.1 <{BOB}>: Access denied" in d.log()


def test_to_error_gives_its_custom_text(start_daemon):
    d = start_with_maps(start_daemon, (
        'To:blocked@example.test ERROR:"550 5.7.1 go away"\n'
        'To:pt-bob@example.test ERROR:"452 4.2.2 mailbox full, try later"\n'
    ))
    client = session(d)
    try:
        assert cmd(client, "MAIL FROM:<tester@client.test>") == (250, "2.1.0 Ok")
        assert cmd(client, "RCPT TO:<blocked@example.test>") == (550, "5.7.1 go away")
        assert cmd(client, f"RCPT TO:<{BOB}>") == (452, "4.2.2 mailbox full, try later")
        assert cmd(client, f"RCPT TO:<{ALICE}>") == (250, "2.1.5 Ok")
    finally:
        client.close()


def test_to_discard_answers_250_and_delivers_nothing(start_daemon):
    d = start_with_maps(start_daemon, f"To:{BOB} DISCARD\n")
    token = unique_token("discard-to")
    r = transaction(d, "127.0.0.1", "tester@client.test", [BOB], make_message(token, to=BOB))
    assert r["rcpt"] == [(250, "2.1.5 Ok")]
    assert r["data"][0] == 250, r
    # pt-bob's own mail is discarded too, so the control goes to pt-alice.
    assert_discarded(d, token, "127.0.0.1", control_users=("pt-alice",), never_users=("pt-bob",))

    # With another recipient in the same transaction the discarded one still
    # gets nothing. (Sendmail's check_rcpt DISCARD drops the whole message;
    # whether pt-alice gets her copy is not pinned here.)
    token = unique_token("discard-to-mixed")
    r = transaction(d, "127.0.0.1", "tester@client.test", [ALICE, BOB], make_message(token, to=ALICE))
    assert r["rcpt"] == [(250, "2.1.5 Ok")] * 2
    assert r["data"][0] == 250, r
    deliver_control(d, "127.0.0.1", "pt-alice")
    assert token not in d.mbox("pt-bob"), "a To: DISCARD recipient got the message"


def test_to_relay_for_a_domain_opens_relaying_to_it_and_nothing_else(start_daemon):
    d = start_with_maps(start_daemon, (
        "To:partner.test RELAY\n"
        "To:only-me@elsewhere.test RELAY\n"
        # A local part at every domain on earth: must not open the relay.
        "To:friend@ RELAY\n"
    ))
    client = session(d, "127.0.0.1")
    try:
        assert cmd(client, "MAIL FROM:<>") == (250, "2.1.0 Ok")
        for address in ("someone@partner.test", "someone@MX.Partner.TEST", "only-me@elsewhere.test"):
            assert cmd(client, f"RCPT TO:<{address}>") == (250, "2.1.5 Ok"), address
        for address in ("someone@other.test", "someone@partner.test.other.test", "someone@notpartner.test",
                        "someone-else@elsewhere.test", "friend@remote.test",
                        # The percent hack through a local domain is still
                        # routing by a client that may not relay.
                        "someone%partner.test@example.test", "partner.test!someone@example.test"):
            assert cmd(client, f"RCPT TO:<{address}>") == relaying_denied(address), address
        # A source route naming the partner does not decide anything.
        assert cmd(client, "RCPT TO:<@partner.test:someone@other.test>") == relaying_denied("someone@other.test")
    finally:
        client.close()


# ----------------------------------------------------------- untagged keys


def test_untagged_keys_apply_to_every_check_and_tagged_ones_win(start_daemon):
    d = start_with_maps(start_daemon, (
        "127.0.0.7 REJECT\n"
        "127.0.0.8 REJECT\n"
        "Connect:127.0.0.8 OK\n"
        "badsite.test REJECT\n"
        "Connect:127.0.0.9 RELAY\n"
    ))
    assert greeting(d, "127.0.0.7") == (554, "5.7.1 <127.0.0.7>: Access denied")
    assert greeting(d, "127.0.0.8")[0] == 220
    client = session(d, "127.0.0.9")
    try:
        # As a sender domain...
        assert cmd(client, "MAIL FROM:<a@badsite.test>") == access_denied("a@badsite.test")
        assert cmd(client, "MAIL FROM:<a@goodsite.test>") == (250, "2.1.0 Ok")
        # ...and as a recipient domain, even for a client that may relay.
        assert cmd(client, "RCPT TO:<b@badsite.test>") == access_denied("b@badsite.test")
        assert cmd(client, "RCPT TO:<b@goodsite.test>") == (250, "2.1.5 Ok")
    finally:
        client.close()


# ---------------------------------------------------------------- IP prefixes


def test_ip_prefix_keys_match_whole_octets_and_the_longest_match_wins(start_daemon):
    d = start_with_maps(start_daemon, (
        "Connect:127.0.0 REJECT\n"
        "Connect:127.0.0.5 OK\n"
        'Connect:127.0.1 ERROR:"554 5.7.1 subnet 127.0.1 refused"\n'
        "Connect:127.1.2 REJECT\n"
    ))
    expected = {
        "127.0.0.5": 220,       # its own entry is longer than 127.0.0
        "127.0.0.6": 554,       # 127.0.0
        "127.1.0.5": 220,       # not 127.0.0
        "127.0.1.7": 554,       # 127.0.1, its own text
        "127.0.10.5": 220,      # 127.0.1 is not a string prefix match
        "127.1.2.3": 554,       # 127.1.2
        "127.1.20.3": 220,      # nor is 127.1.2
        "127.2.0.1": 220,
    }
    got = {source: greeting(d, source) for source in expected}
    assert {source: code for source, (code, _) in got.items()} == expected, got
    assert got["127.0.0.6"][1] == "5.7.1 <127.0.0.6>: Access denied"
    assert got["127.0.1.7"][1] == "5.7.1 subnet 127.0.1 refused"
    deliver_control(d, "127.0.0.5")


# ---------------------------------------------------------------------- SKIP


def test_skip_ends_the_search_without_a_decision(start_daemon):
    d = start_with_maps(start_daemon, (
        "Connect:127.0 REJECT\n"
        "Connect:127.0.0.11 SKIP\n"
        "From:skip.test REJECT\n"
        "From:ok.skip.test SKIP\n"
    ))
    assert greeting(d, "127.0.0.12")[0] == 554
    client = session(d, "127.0.0.11")  # SKIP: the 127.0 REJECT is not reached
    try:
        assert cmd(client, "MAIL FROM:<a@bad.skip.test>") == access_denied("a@bad.skip.test")
        assert cmd(client, "MAIL FROM:<a@skip.test>") == access_denied("a@skip.test")
        assert cmd(client, "MAIL FROM:<a@ok.skip.test>") == (250, "2.1.0 Ok")
    finally:
        client.close()
    deliver_control(d, "127.0.0.11")


# ------------------------------------------------------------- domain keys


def test_domain_keys_match_the_domain_and_its_subdomains(start_daemon):
    d = start_with_maps(start_daemon, (
        "From:spam.test REJECT\n"
        "From:.subs.test REJECT\n"
        'To:blocked.test ERROR:"550 5.7.1 blocked domain"\n'
        "Connect:127.0.0.9 RELAY\n"
    ))
    client = session(d, "127.0.0.9")
    try:
        for sender in ("a@spam.test", "a@mx.spam.test", "a@a.b.spam.test", "a@x.subs.test"):
            assert cmd(client, f"MAIL FROM:<{sender}>") == access_denied(sender), sender
        # Not a suffix of the text: a label boundary. A leading dot: only
        # names below the domain.
        for sender in ("a@notspam.test", "a@spam.test.example.org", "a@subs.test"):
            assert cmd(client, f"MAIL FROM:<{sender}>") == (250, "2.1.0 Ok"), sender
            assert cmd(client, "RSET")[0] == 250
        assert cmd(client, "MAIL FROM:<>") == (250, "2.1.0 Ok")
        for rcpt in ("u@blocked.test", "u@mx.blocked.test"):
            assert cmd(client, f"RCPT TO:<{rcpt}>") == (550, "5.7.1 blocked domain"), rcpt
        assert cmd(client, "RCPT TO:<u@unblocked.test>") == (250, "2.1.5 Ok")
    finally:
        client.close()


# ------------------------------------------------------------------- reload


def test_sighup_reloads_the_access_map_without_restarting_children(start_daemon):
    d = start_with_maps(start_daemon, "")
    assert greeting(d, "127.0.0.2")[0] == 220
    client = session(d, "127.0.0.2")
    try:
        assert cmd(client, "MAIL FROM:<>") == (250, "2.1.0 Ok")
        assert cmd(client, "RCPT TO:<u@remote.test>") == relaying_denied("u@remote.test")
    finally:
        client.close()

    reload_maps(d, access="Connect:127.0.0.2 REJECT\nConnect:127.0.0.3 RELAY\n")
    assert "access entries=2" in d.log().split("maps loaded")[-1].splitlines()[0]
    assert greeting(d, "127.0.0.2") == (554, "5.7.1 <127.0.0.2>: Access denied")
    client = session(d, "127.0.0.3")
    try:
        assert cmd(client, "MAIL FROM:<>") == (250, "2.1.0 Ok")
        assert cmd(client, "RCPT TO:<u@remote.test>") == (250, "2.1.5 Ok")
    finally:
        client.close()

    # Entries removed from the file are gone after the next reload.
    reload_maps(d, access="")
    assert greeting(d, "127.0.0.2")[0] == 220
    deliver_control(d, "127.0.0.2")


def test_a_malformed_access_line_is_logged_with_file_and_line_and_the_rest_still_works(start_daemon):
    d = start_with_maps(start_daemon, (
        "# a comment\n"                                   # 1
        "Connect:127.0.0.2 REJECT\n"                       # 2
        "Connect:127.0.0.3 RELEY\n"                        # 3 misspelt action
        'From:bad@x.test ERROR:"250 all fine"\n'           # 4 a 2xx "error"
        "Connect:127.0.0.300 REJECT\n"                     # 5 not an address
        "From:nothing@x.test\n"                            # 6 no action
        "From:spammer@x.test REJECT\n"                     # 7
    ))
    path = d.jail.config_dir / "access"
    log = d.log()
    for line in (3, 4, 5, 6):
        assert f"{path}:{line}: " in log, f"line {line} of the access file not reported\n{d.diagnostics()}"
    for line in (1, 2, 7):
        assert f"{path}:{line}: " not in log
    assert "maps loaded, access entries=2" in log

    assert greeting(d, "127.0.0.2")[0] == 554
    client = session(d, "127.0.0.3")
    try:
        # A misspelt RELAY is no decision at all: no relaying.
        assert cmd(client, "MAIL FROM:<bad@x.test>") == (250, "2.1.0 Ok")
        assert cmd(client, "RCPT TO:<u@remote.test>") == relaying_denied("u@remote.test")
        assert cmd(client, "RSET")[0] == 250
        assert cmd(client, "MAIL FROM:<spammer@x.test>") == access_denied("spammer@x.test")
    finally:
        client.close()


def test_crlf_line_endings_tabs_and_duplicate_keys(start_daemon):
    # A file edited on another system: CRLF, tabs between key and value,
    # trailing blanks. A key given twice: the last one wins, with a warning.
    d = start_daemon(start=False)
    (d.jail.config_dir / "access").write_bytes(
        b"Connect:127.0.0.2\tREJECT\r\n"
        b"Connect:127.0.0.3 \t RELAY \r\n"
        b"Connect:127.0.0.4 REJECT\r\n"
        b"Connect:127.0.0.4 OK\r\n")
    d.start()
    assert f"{d.jail.config_dir / 'access'}:4: warning: duplicate key" in d.log()
    assert greeting(d, "127.0.0.2")[0] == 554
    assert greeting(d, "127.0.0.4")[0] == 220
    client = session(d, "127.0.0.3")
    try:
        assert cmd(client, "MAIL FROM:<>") == (250, "2.1.0 Ok")
        assert cmd(client, "RCPT TO:<u@remote.test>") == (250, "2.1.5 Ok")
    finally:
        client.close()


def test_a_byte_that_is_not_utf8_costs_only_its_line(start_daemon):
    d = start_daemon(start=False)
    (d.jail.config_dir / "access").write_bytes(
        b"Connect:127.0.0.2 REJECT\n"
        b"# Soci\xe9t\xe9 G\xe9n\xe9rale, see ticket 12\n"
        b"Connect:127.0.0.3 REJECT\n")
    d.start()
    assert greeting(d, "127.0.0.2")[0] == 554, d.diagnostics()
    assert greeting(d, "127.0.0.3")[0] == 554, d.diagnostics()
    assert "is not UTF-8; ignored" not in d.log()


# -------------------------------------------------------- local-host-names


def test_local_host_names_adds_local_domains_and_reloads(start_daemon):
    d = start_with_maps(start_daemon, "", local_host_names=(
        "# our other names\n"       # 1
        "other.test\n"              # 2
        "Third.TEST.\n"             # 3
        "not a/name\n"              # 4: "a/name" is no host name
        "[127.0.0.2]\n"             # 5: one of our addresses
    ))
    lhn = d.jail.config_dir / "local-host-names"
    assert f'{lhn}:4: invalid host name "a/name"' in d.log(), d.diagnostics()
    assert "local domains=5" in d.log()  # example.test, other, third, not, [127.0.0.2]
    tokens = {}
    for address in ("pt-alice@other.test", "pt-alice@third.test", "PT-ALICE@Other.Test", "pt-alice@[127.0.0.2]"):
        token = tokens[address] = unique_token("lhn")
        assert send_from(d, "127.0.0.1", [address], make_message(token, to=address)) == {}, address
    text = d.wait_for_mbox("pt-alice", lambda t: all(tok in t for tok in tokens.values()))
    for address, token in tokens.items():
        assert text.count(f"token={token}") == 1, address

    client = session(d)
    try:
        assert cmd(client, "MAIL FROM:<>") == (250, "2.1.0 Ok")
        assert cmd(client, "RCPT TO:<pt-bob@fourth.test>") == relaying_denied("pt-bob@fourth.test")
        # A local domain's subdomain is not local.
        assert cmd(client, "RCPT TO:<pt-bob@sub.other.test>") == relaying_denied("pt-bob@sub.other.test")
        assert cmd(client, "RCPT TO:<nobody-here@other.test>") == (
            550, "5.1.1 <nobody-here@other.test>: Recipient address rejected: User unknown in local recipient table")
    finally:
        client.close()

    reload_maps(d, local_host_names="other.test\nfourth.test\n")
    assert "local domains=3" in d.log().split("maps loaded")[-1].splitlines()[0]
    token = unique_token("lhn-reload")
    assert send_from(d, "127.0.0.1", ["pt-bob@fourth.test"], make_message(token, to="pt-bob@fourth.test")) == {}
    d.wait_for_mbox("pt-bob", lambda t: token in t)
    client = session(d)
    try:
        assert cmd(client, "MAIL FROM:<>") == (250, "2.1.0 Ok")
        assert cmd(client, "RCPT TO:<pt-alice@third.test>") == relaying_denied("pt-alice@third.test")
        assert cmd(client, "RCPT TO:<pt-alice@[127.0.0.2]>") == relaying_denied("pt-alice@[127.0.0.2]")
    finally:
        client.close()
