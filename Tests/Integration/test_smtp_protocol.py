"""SMTP conformance against the real daemon (issue 3): every command and
reply code, the PrivacyOptions flags, pipelining, dot-stuffing, 8-bit,
CHUNKING, SMTPUTF8, DSN parameters, header processing, limits, line
discipline, timeouts and connection limits.

Clients are raw sockets (smtp_client.SMTPConn: exact bytes in, exact replies
out), Python's smtplib and swaks. Every connection to the shared daemon
comes from a fresh 127.x address (smtp_client.next_source) so that the
default per-client rate limit (120 a minute) never decides a test.

One daemon with the pristine configuration serves most tests (`dd`); tests
of other configurations start their own, with postern.conf edited before
the start.
"""

from __future__ import annotations

import re
import shutil
import smtplib
import subprocess
import threading
import time

import pytest

from daemon import unique_token, wait_until
from smtp_client import (
    SMTPConn,
    assert_nothing_delivered,
    connect,
    dot_stuff,
    fresh_daemon,
    header_values,
    mbox_messages,
    message,
    messages_with,
    next_source,
    queue_id_of,
    queued_count,
    spool_files,
    split_message,
    start_configured,
    wait_delivered,
    wait_for_message,
)

HOST = "mail.example.test"
ALICE = "pt-alice@example.test"
BOB = "pt-bob@example.test"
SENDER = "tester@client.test"
NO_SUCH_USER = "pt-nosuchuser-4711"

EXTENSIONS = ["PIPELINING", "SIZE 10485760", "8BITMIME", "ENHANCEDSTATUSCODES", "SMTPUTF8", "DSN", "CHUNKING"]

OK = "250 2.0.0 Ok"
SENDER_OK = "250 2.1.0 Ok"
RCPT_OK = "250 2.1.5 Ok"
START_INPUT = "354 End data with <CR><LF>.<CR><LF>"
BYE = "221 2.0.0 Bye"
CANNOT_VRFY = "252 2.5.2 Cannot VRFY user; try RCPT to attempt delivery (or try finger)"
NOT_ALLOWED = "502 5.7.0 Sorry, we do not allow this operation"
EXPN_NOT_IMPLEMENTED = "502 5.7.0 EXPN is not implemented"
VERB_UNAVAILABLE = "502 5.7.0 Verbose unavailable"
VERBOSE_MODE = "250 2.0.0 Verbose mode"
ETRN_UNAVAILABLE = "458 4.5.0 Unable to queue messages for node"
POLITE = "503 5.0.0 Polite people say HELO first"
INTRODUCE = "503 5.0.0 I demand that you introduce yourself first"
UNRECOGNIZED = "500 5.5.2 Error: command not recognized"
LINE_TOO_LONG = "500 5.5.2 Line too long"
BARE = "500 5.5.2 Bare CR or LF not allowed"
NUL = "500 5.5.2 NUL character not allowed"
NEED_MAIL = "503 5.5.1 Error: need MAIL command"
NEED_RCPT = "503 5.5.1 Error: need RCPT command"
NESTED_MAIL = "503 5.5.1 Error: nested MAIL command"
NO_VALID_RCPT = "554 5.5.1 Error: no valid recipients"
TOO_BIG = "552 5.3.4 Message size exceeds fixed limit"
UNKNOWN_USER = "550 5.1.1 <{}>: Recipient address rejected: User unknown in local recipient table"


def unknown_user(address: str) -> str:
    return UNKNOWN_USER.format(address)


# ------------------------------------------------------------------ daemons


@pytest.fixture(scope="module")
def dd(postern_bin):
    """The daemon with the configuration setup-jail writes, untouched."""
    with fresh_daemon(postern_bin) as d:
        yield d


@pytest.fixture(scope="module")
def refusals_only(postern_bin):
    """A default daemon that never accepts a message: its mailboxes, spool
    and queue log must stay empty."""
    with fresh_daemon(postern_bin) as d:
        yield d


def session(d, ehlo: str | None = "client.test", source: str | None = None, timeout: float = 15) -> SMTPConn:
    c = connect(d, source=source, timeout=timeout)
    assert c.greeting.full == f"220 {HOST} ESMTP", str(c.greeting)
    if ehlo:
        c.ehlo(ehlo)
    return c


def deliver_raw(d, token: str, rcpts=(ALICE,), msg: bytes | None = None, mail_params: str = "",
                ehlo: str | None = "client.test", sender: str = SENDER) -> str:
    """One transaction on a fresh connection; returns the queue id."""
    with session(d, ehlo=ehlo) as c:
        final = c.transaction(sender, list(rcpts), msg if msg is not None else message(token),
                              mail_params=mail_params)
        assert c.cmd("QUIT").full == BYE
        return queue_id_of(final)


# ------------------------------------------------------------------ greeting, HELO, EHLO


def test_greeting_is_the_host_name_and_esmtp_without_software_name_or_version(dd):
    with connect(dd) as c:
        assert c.greeting.code == 220
        assert c.greeting.lines == [f"{HOST} ESMTP"]
        assert not re.search(r"postern|sendmail|\d+\.\d+", c.greeting.lines[0], re.I)


def test_ehlo_advertises_exactly_the_implemented_extensions(dd):
    with session(dd, ehlo=None) as c:
        r = c.cmd("EHLO client.test")
        assert r.code == 250
        assert r.lines == [HOST] + EXTENSIONS
        # The greeting line and keywords carry no enhanced code (RFC 2034 §3).
        assert all(not re.match(r"\d\.\d", line) for line in r.lines)


def test_ehlo_size_follows_max_message_size_and_smtplib_reads_it(start_daemon):
    d = start_configured(start_daemon, {"MaxMessageSize": "20k"})
    client = smtplib.SMTP(d.jail.host, d.jail.port, timeout=15, source_address=(next_source(), 0))
    try:
        code, _ = client.ehlo("client.test")
        assert code == 250
        assert client.esmtp_features["size"] == "20480"
        assert set(client.esmtp_features) == {
            "pipelining", "size", "8bitmime", "enhancedstatuscodes", "smtputf8", "dsn", "chunking"}
        client.quit()
    finally:
        client.close()


def test_helo_replies_with_the_host_name_and_offers_no_extensions(dd):
    with session(dd, ehlo=None) as c:
        r = c.cmd("HELO client.test")
        assert (r.code, r.lines) == (250, [HOST])
        # ESMTP parameters exist only after EHLO.
        assert c.cmd(f"MAIL FROM:<{SENDER}> SIZE=100").full == "555 5.5.4 Unsupported option: SIZE"
        assert c.cmd(f"MAIL FROM:<{SENDER}> BODY=8BITMIME").full == "555 5.5.4 Unsupported option: BODY"
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        assert c.cmd(f"RCPT TO:<{ALICE}> NOTIFY=NEVER").full == "555 5.5.4 Unsupported option: NOTIFY"
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == RCPT_OK


@pytest.mark.parametrize("line, expected", [
    ("HELO", "501 5.5.4 Syntax: HELO hostname"),
    ("EHLO", "501 5.5.4 Syntax: EHLO hostname"),
    ("HELO bad!name", "501 5.5.4 Syntax: HELO hostname"),
    ("EHLO two words", "501 5.5.4 Syntax: EHLO hostname"),
    ("EHLO [300.1.1.1]", "501 5.5.4 Syntax: EHLO hostname"),
    ("EHLO [127.0.0.1]", f"250 {HOST}"),
    ("EHLO [IPv6:::1]", f"250 {HOST}"),
    ("HELO under_score.client.test", f"250 {HOST}"),
])
def test_helo_and_ehlo_arguments(dd, line, expected):
    with session(dd, ehlo=None) as c:
        r = c.cmd(line)
        assert f"{r.code} {r.lines[0]}" == expected, str(r)


def test_a_second_ehlo_resets_the_transaction(dd):
    with session(dd) as c:
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == RCPT_OK
        assert c.cmd("EHLO again.client.test").code == 250
        assert c.cmd("DATA").full == NEED_RCPT
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == NEED_MAIL


def test_verbs_are_case_insensitive(dd):
    token = unique_token("case")
    with session(dd, ehlo=None) as c:
        assert c.cmd("ehlo client.test").code == 250
        assert c.cmd(f"mail from:<{SENDER}>").full == SENDER_OK
        assert c.cmd(f"rCpT tO:<{ALICE}>").full == RCPT_OK
        assert c.cmd("noop").full == OK
        assert c.cmd("data").code == 354
        c.send(message(token) + b".\r\n")
        queue_id_of(c.read_reply())
        assert c.cmd("quit").full == BYE
    wait_for_message(dd, "pt-alice", token)


# ------------------------------------------------------------------ MAIL, RCPT, DATA


def test_a_whole_transaction_gets_the_exact_replies_and_is_delivered(dd):
    token = unique_token("txn")
    with session(dd) as c:
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == RCPT_OK
        assert c.cmd(f"RCPT TO:<{BOB}>").full == RCPT_OK
        r = c.cmd("DATA")
        assert (r.code, r.lines) == (354, ["End data with <CR><LF>.<CR><LF>"])
        c.send(message(token) + b".\r\n")
        qid = queue_id_of(c.read_reply())
        assert c.cmd("QUIT").full == BYE
        assert c.wait_closed(5)
    for user in ("pt-alice", "pt-bob"):
        msg = wait_for_message(dd, user, token)
        assert f"id {qid}".encode() in msg
    wait_until(lambda: f"{qid}: queued, from=<{SENDER}>, " in dd.log(), 5, what="the queued log line")


def test_null_sender_and_source_route_reach_the_mbox_as_return_path(dd):
    token = unique_token("nullsender")
    deliver_raw(dd, token, sender="")
    msg = wait_for_message(dd, "pt-alice", token)
    assert msg.startswith(b"From MAILER-DAEMON "), msg[:60]
    assert header_values(msg, "Return-Path") == ["<>"]
    token = unique_token("route")
    with session(dd) as c:
        assert c.cmd("MAIL FROM:<@relay.test,@other.test:tester@client.test>").full == SENDER_OK
        assert c.cmd(f"RCPT TO:<@relay.test:{ALICE}>").full == RCPT_OK
        assert c.cmd("DATA").code == 354
        c.send(message(token) + b".\r\n")
        queue_id_of(c.read_reply())
    msg = wait_for_message(dd, "pt-alice", token)
    # RFC 5321 §3.6.1: the source route is dropped.
    assert header_values(msg, "Return-Path") == [f"<{SENDER}>"]
    assert header_values(msg, "Delivered-To") == [ALICE]


def test_quoted_and_upper_case_recipients_reach_the_same_user(dd):
    token = unique_token("quoted")
    with session(dd) as c:
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        assert c.cmd('RCPT TO:<"pt-bob"@example.test>').full == RCPT_OK
        assert c.cmd("RCPT TO:<PT-ALICE@Example.Test>").full == RCPT_OK
        assert c.cmd("DATA").code == 354
        c.send(message(token) + b".\r\n")
        queue_id_of(c.read_reply())
    wait_for_message(dd, "pt-bob", token)
    wait_for_message(dd, "pt-alice", token)


@pytest.mark.parametrize("path", [
    "<>",
    "<tester@client.test>",
    "<TESTER@CLIENT.TEST>",
    '<"quoted local"@client.test>',
    '<"a\\"b"@client.test>',
    "<@relay.test:tester@client.test>",
    "<@one.test,@two.test:tester@client.test>",
    "<tester@[192.0.2.1]>",
    "<tester@[IPv6:2001:db8::1]>",
    " <tester@client.test>",
])
def test_mail_accepts_every_rfc5321_reverse_path(dd, path):
    with session(dd) as c:
        assert c.cmd(f"MAIL FROM:{path}").full == SENDER_OK


@pytest.mark.parametrize("line, expected", [
    ("MAIL", "501 5.5.4 Syntax: MAIL FROM:<address>"),
    ("MAIL FROM", "501 5.5.4 Syntax: MAIL FROM:<address>"),
    ("MAIL TO:<tester@client.test>", "501 5.5.4 Syntax: MAIL FROM:<address>"),
    ("MAIL FROM:tester@client.test", "501 5.1.7 Bad sender address syntax"),
    ("MAIL FROM:<tester@client.test", "501 5.1.7 Bad sender address syntax"),
    ("MAIL FROM:<tester@@client.test>", "501 5.1.7 Bad sender address syntax"),
    ("MAIL FROM:<tester@client..test>", "501 5.1.7 Bad sender address syntax"),
    ("MAIL FROM:<tester@client.test.>", "501 5.1.7 Bad sender address syntax"),
    ("MAIL FROM:<te ster@client.test>", "501 5.1.7 Bad sender address syntax"),
    ("MAIL FROM:<tester@[300.0.0.1]>", "501 5.1.7 Bad sender address syntax"),
    ("MAIL FROM:<tester@client.test>SIZE=10", "501 5.5.4 Syntax: MAIL FROM:<address>"),
    ("MAIL FROM:<tester@client.test> =10", "501 5.5.4 Syntax: MAIL FROM:<address>"),
    ("MAIL FROM:<tester@client.test> SIZE=", "501 5.5.4 Syntax: MAIL FROM:<address>"),
])
def test_mail_refuses_bad_syntax_with_501(dd, line, expected):
    with session(dd) as c:
        assert c.cmd(line).full == expected
        # The session goes on and MAIL still works.
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK


@pytest.mark.parametrize("path, expected", [
    (f"<{ALICE}>", RCPT_OK),
    ("<PT-ALICE@EXAMPLE.TEST>", RCPT_OK),
    (f"<@relay.test:{ALICE}>", RCPT_OK),
    ("<postmaster>", RCPT_OK),
    ("<Postmaster>", RCPT_OK),
    ("<postmaster@example.test>", RCPT_OK),
    (f"<{NO_SUCH_USER}@example.test>", unknown_user(f"{NO_SUCH_USER}@example.test")),
    ("<>", "501 5.1.3 Bad recipient address syntax"),
    ("<pt-alice>", "501 5.1.3 Bad recipient address syntax"),
    ("pt-alice@example.test", "501 5.1.3 Bad recipient address syntax"),
    ("<pt-alice@example.test", "501 5.1.3 Bad recipient address syntax"),
    ("<someone@remote.test>", "550 5.7.1 <someone@remote.test>: Relaying denied"),
])
def test_rcpt_replies(dd, path, expected):
    with session(dd) as c:
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        assert c.cmd(f"RCPT TO:{path}").full == expected


@pytest.mark.parametrize("line", ["RCPT", "RCPT TO", "RCPT FROM:<pt-alice@example.test>", "RCPT <pt-alice@example.test>"])
def test_rcpt_without_to_is_a_syntax_error(dd, line):
    with session(dd) as c:
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        assert c.cmd(line).full == "501 5.5.4 Syntax: RCPT TO:<address>"


def test_unknown_mail_and_rcpt_parameters_get_555_5_5_4(dd):
    with session(dd) as c:
        assert c.cmd(f"MAIL FROM:<{SENDER}> FOO=BAR").full == "555 5.5.4 Unsupported option: FOO"
        assert c.cmd(f"MAIL FROM:<{SENDER}> X-FLAG").full == "555 5.5.4 Unsupported option: X-FLAG"
        assert c.cmd(f"MAIL FROM:<{SENDER}> AUTH=<>").full == "555 5.5.4 Unsupported option: AUTH"
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        assert c.cmd(f"RCPT TO:<{ALICE}> FOO=BAR").full == "555 5.5.4 Unsupported option: FOO"
        assert c.cmd(f"RCPT TO:<{ALICE}> RRVS=2030-01-01T00:00:00Z").full == "555 5.5.4 Unsupported option: RRVS"
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == RCPT_OK


@pytest.mark.parametrize("params, keyword", [
    ("SIZE=abc", "SIZE"),
    ("SIZE=-1", "SIZE"),
    ("SIZE", "SIZE"),
    ("SIZE=10 SIZE=10", "SIZE"),
    ("BODY=9BIT", "BODY"),
    ("BODY=BINARYMIME", "BODY"),
    ("BODY", "BODY"),
    ("SMTPUTF8=YES", "SMTPUTF8"),
    ("SMTPUTF8 SMTPUTF8", "SMTPUTF8"),
])
def test_bad_mail_parameter_values_get_501_5_5_4(dd, params, keyword):
    with session(dd) as c:
        assert c.cmd(f"MAIL FROM:<{SENDER}> {params}").full == f"501 5.5.4 Bad {keyword} parameter"


def test_data_replies_and_a_data_argument_is_refused(dd):
    with session(dd) as c:
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == RCPT_OK
        assert c.cmd("DATA now").full == "501 5.5.4 Syntax: DATA"
        assert c.cmd("DATA").full == START_INPUT
        c.send(message(unique_token("data")) + b".\r\n")
        queue_id_of(c.read_reply())


def test_out_of_order_commands_get_503_5_5_1(dd):
    with session(dd) as c:
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == NEED_MAIL
        assert c.cmd("DATA").full == NEED_RCPT
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        assert c.cmd("DATA").full == NEED_RCPT
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == NESTED_MAIL
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == RCPT_OK
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == NESTED_MAIL
    with session(dd) as c:
        # Every recipient refused: DATA has nothing to deliver to.
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        assert c.cmd(f"RCPT TO:<{NO_SUCH_USER}@example.test>").code == 550
        assert c.cmd("DATA").full == NO_VALID_RCPT
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == RCPT_OK
        assert c.cmd("DATA").full == START_INPUT
        c.send(b"Subject: x\r\n\r\nafter a refused recipient\r\n.\r\n")
        queue_id_of(c.read_reply())


def test_rset_ends_the_transaction_and_takes_no_argument(dd):
    token = unique_token("rset")
    with session(dd) as c:
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == RCPT_OK
        assert c.cmd("RSET now").full == "501 5.5.4 Syntax: RSET"
        assert c.cmd("RSET").full == OK
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == NEED_MAIL
        assert c.cmd("DATA").full == NEED_RCPT
        assert c.cmd("RSET").full == OK
        # A new transaction after RSET goes through (and RSET before HELO
        # state is kept: no new EHLO needed).
        final = c.transaction(SENDER, [ALICE], message(token))
        queue_id_of(final)
    wait_for_message(dd, "pt-alice", token)


def test_noop_with_and_without_argument(dd):
    with session(dd, ehlo=None) as c:
        assert c.cmd("NOOP").full == OK
        assert c.cmd("NOOP anything at all").full == OK
        c.ehlo()
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        assert c.cmd("NOOP").full == OK
        # NOOP does not disturb the transaction.
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == RCPT_OK


def test_quit_says_bye_closes_and_an_unfinished_transaction_is_dropped(dd):
    token = unique_token("quit")
    before = queued_count(dd)
    with session(dd) as c:
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == RCPT_OK
        assert c.cmd("QUIT now").full == "501 5.5.4 Syntax: QUIT"
        r = c.cmd("QUIT")
        assert (r.code, r.lines) == (221, ["2.0.0 Bye"])
        assert c.wait_closed(5)
        assert c.buffer == b""
    time.sleep(0.5)
    assert queued_count(dd) == before
    assert not messages_with(dd, "pt-alice", token)


def test_quit_before_helo_and_in_the_middle_of_data_is_just_text(dd):
    token = unique_token("quitdata")
    with session(dd, ehlo=None) as c:
        assert c.cmd("QUIT").full == BYE
        assert c.wait_closed(5)
    with session(dd) as c:
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == RCPT_OK
        assert c.cmd("DATA").code == 354
        c.send(message(token, body=b"QUIT\r\nRSET\r\n") + b".\r\n")
        queue_id_of(c.read_reply())
    msg = wait_for_message(dd, "pt-alice", token)
    assert b"\nQUIT\nRSET\n" in msg


def test_vrfy_reveals_nothing_same_reply_for_existing_and_unknown_users(dd):
    for ehlo in (None, "client.test"):
        with session(dd, ehlo=ehlo) as c:
            replies = {name: c.cmd(f"VRFY {name}").full
                       for name in ("pt-alice", ALICE, "root", "postmaster", NO_SUCH_USER,
                                    f"{NO_SUCH_USER}@example.test", "someone@remote.test")}
            assert set(replies.values()) == {CANNOT_VRFY}, replies
            assert c.cmd("VRFY").full == "501 5.5.4 Syntax: VRFY address"


def test_expn_is_refused_and_reveals_nothing(dd):
    for ehlo in (None, "client.test"):
        with session(dd, ehlo=ehlo) as c:
            replies = {name: c.cmd(f"EXPN {name}").full
                       for name in ("pt-alice", "root", "postmaster", NO_SUCH_USER, "staff")}
            assert set(replies.values()) == {NOT_ALLOWED}, replies
            assert c.cmd("EXPN").full == NOT_ALLOWED


def test_help(dd):
    with session(dd, ehlo=None) as c:
        assert c.cmd("HELP").full == "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP"
        assert c.cmd("HELP MAIL").code == 214


def test_etrn_is_answered_but_never_runs_the_queue(dd):
    with session(dd) as c:
        # goaway (Sendmail's expansion) does not include noetrn.
        assert c.cmd("ETRN example.test").full == ETRN_UNAVAILABLE
        assert c.cmd("ETRN @example.test").full == ETRN_UNAVAILABLE
        assert c.cmd("ETRN").full == "501 5.5.4 Syntax: ETRN domain"


def test_verb_is_refused_by_goaway(dd):
    with session(dd) as c:
        assert c.cmd("VERB").full == VERB_UNAVAILABLE


@pytest.mark.parametrize("line", [
    "FOOB", "XYZZY", "TURN", "SAML FROM:<a@b>", "SEND FROM:<a@b>", "SOML FROM:<a@b>", "ATRN",
    "MAILFROM:<a@b>", "MAIL", "HEL", "X", "", " NOOP", "EHLO\tclient.test",
])
def test_unknown_commands_get_500_5_5_2(dd, line):
    with session(dd) as c:
        r = c.cmd(line)
        if line == "MAIL":
            assert r.full == "501 5.5.4 Syntax: MAIL FROM:<address>"
        else:
            assert r.full == UNRECOGNIZED, (line, str(r))
        assert c.cmd("NOOP").full == OK


def test_mail_before_helo_is_refused_politely_by_default(dd):
    with session(dd, ehlo=None) as c:
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == POLITE
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == NEED_MAIL
        assert c.cmd("HELO client.test").code == 250
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK


# ------------------------------------------------------------------ PrivacyOptions

GOAWAY = {"needmailhelo", "needexpnhelo", "needvrfyhelo", "noexpn", "novrfy", "authwarnings", "noverb"}
ALL_FLAGS = ["needmailhelo", "needexpnhelo", "needvrfyhelo", "noexpn", "novrfy", "noetrn", "noverb",
             "restrictmailq", "restrictqrun", "restrictexpand", "noreceipts", "nobodyreturn", "authwarnings",
             "noactualrecipient"]


def expand_privacy(value: str) -> set[str]:
    """Sendmail's expansion: goaway sets its seven flags, public nothing,
    and noexpn implies noverb."""
    flags: set[str] = set()
    for word in value.split(","):
        word = word.strip().lower()
        if word == "goaway":
            flags |= GOAWAY
        elif word and word != "public":
            flags.add(word)
    if "noexpn" in flags:
        flags.add("noverb")
    return flags


def expected_privacy_replies(flags: set[str], helo: bool) -> dict[str, str]:
    """What Sendmail answers (srvrsmtp.c's order: novrfy/noexpn before the
    need*helo checks), with VRFY never revealing a user and EXPN never
    expanding."""
    out = {}
    out["MAIL"] = POLITE if (not helo and "needmailhelo" in flags) else SENDER_OK
    if "novrfy" not in flags and "needvrfyhelo" in flags and not helo:
        out["VRFY"] = INTRODUCE
    else:
        out["VRFY"] = CANNOT_VRFY
    if "noexpn" in flags:
        out["EXPN"] = NOT_ALLOWED
    elif "needexpnhelo" in flags and not helo:
        out["EXPN"] = INTRODUCE
    else:
        out["EXPN"] = EXPN_NOT_IMPLEMENTED
    out["VERB"] = VERB_UNAVAILABLE if "noverb" in flags else VERBOSE_MODE
    out["ETRN"] = NOT_ALLOWED if "noetrn" in flags else ETRN_UNAVAILABLE
    return out


def observe_privacy(d, helo: bool) -> dict[str, str]:
    """The replies to MAIL, VRFY, EXPN, VERB and ETRN, before or after EHLO;
    VRFY and EXPN are asked for an existing and an unknown user and must
    give one answer for both."""
    out = {}
    with session(d, ehlo="client.test" if helo else None) as c:
        out["MAIL"] = c.cmd(f"MAIL FROM:<{SENDER}>").full
        if out["MAIL"].startswith("250"):
            assert c.cmd("RSET").full == OK
        for verb in ("VRFY", "EXPN"):
            known = c.cmd(f"{verb} pt-alice").full
            unknown = c.cmd(f"{verb} {NO_SUCH_USER}").full
            assert known == unknown, f"{verb} tells users apart: {known!r} vs {unknown!r}"
            out[verb] = known
        out["VERB"] = c.cmd("VERB").full
        out["ETRN"] = c.cmd("ETRN example.test").full
        assert c.cmd("QUIT").full == BYE
    return out


def deliver_with_helo(d, helo: str | None, token: str) -> bytes:
    """Delivers a message after `EHLO helo` (or with no greeting at all)."""
    with session(d, ehlo=helo) as c:
        final = c.transaction(SENDER, [ALICE], message(token))
        queue_id_of(final)
    return wait_for_message(d, "pt-alice", token)


def check_privacy(d, value: str) -> None:
    flags = expand_privacy(value)
    for helo in (False, True):
        assert observe_privacy(d, helo) == expected_privacy_replies(flags, helo), (value, "helo" if helo else "no helo")
    # noreceipts: DSN is not offered (and NOTIFY=SUCCESS is not an error).
    with session(d, ehlo=None) as c:
        r = c.cmd("EHLO client.test")
        expected = [ext for ext in EXTENSIONS if not (ext == "DSN" and "noreceipts" in flags)]
        assert r.lines == [HOST] + expected, value
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        assert c.cmd(f"RCPT TO:<{ALICE}> NOTIFY=SUCCESS,FAILURE").full == RCPT_OK
    # authwarnings: a HELO address literal that is not the client's address.
    token = unique_token("aw")
    msg = deliver_with_helo(d, "[192.0.2.1]", token)
    warnings = header_values(msg, "X-Authentication-Warning")
    if "authwarnings" in flags:
        assert len(warnings) == 1 and re.fullmatch(
            rf"{re.escape(HOST)}: Host \[127\.\d+\.\d+\.\d+\] claimed to be \[192\.0\.2\.1\]", warnings[0]), warnings
    else:
        assert warnings == [], (value, warnings)
    # ... and no HELO at all, where needmailhelo lets MAIL through.
    if "needmailhelo" not in flags:
        token = unique_token("aw-nohelo")
        msg = deliver_with_helo(d, None, token)
        warnings = header_values(msg, "X-Authentication-Warning")
        if "authwarnings" in flags:
            assert len(warnings) == 1 and re.fullmatch(
                rf"{re.escape(HOST)}: \[127\.\d+\.\d+\.\d+\] didn't use HELO protocol", warnings[0]), warnings
        else:
            assert warnings == [], (value, warnings)
        received = header_values(msg, "Received")[0]
        assert re.match(r"from \[127\.\d+\.\d+\.\d+\] \(\[127\.\d+\.\d+\.\d+\]\) by ", received), received
        assert " with SMTP id " in received, received


def test_default_privacy_options_behave_as_goaway_restrictmailq_restrictqrun(dd):
    assert dd.jail.read_config()["PrivacyOptions"] == "goaway,restrictmailq,restrictqrun"
    check_privacy(dd, "goaway,restrictmailq,restrictqrun")


PRIVACY_VALUES = ["public", "goaway"] + ALL_FLAGS + [
    "needvrfyhelo,novrfy",
    "needexpnhelo,noexpn",
    "needmailhelo,needvrfyhelo,needexpnhelo",
    "goaway,noetrn,noreceipts,restrictexpand,nobodyreturn,noactualrecipient",
    "Public",
    " noetrn , NOVERB ",
]


@pytest.mark.parametrize("value", PRIVACY_VALUES)
def test_privacy_option(start_daemon, value):
    d = start_configured(start_daemon, {"PrivacyOptions": value})
    check_privacy(d, value)


# ------------------------------------------------------------------ pipelining


def test_a_whole_pipelined_transaction_in_one_write_gets_every_reply_in_order(dd):
    t1, t2 = unique_token("pipe1"), unique_token("pipe2")
    with session(dd, ehlo=None) as c:
        c.send(
            b"EHLO client.test\r\n"
            + f"MAIL FROM:<{SENDER}> BODY=8BITMIME SIZE=500\r\n".encode()
            + f"RCPT TO:<{ALICE}>\r\n".encode()
            + f"RCPT TO:<{NO_SUCH_USER}@example.test>\r\n".encode()
            + f"RCPT TO:<{BOB}> NOTIFY=FAILURE\r\n".encode()
            + b"DATA\r\n")
        replies = c.read_replies(6)
        assert replies[0].lines == [HOST] + EXTENSIONS
        assert [r.full for r in replies[1:]] == [
            SENDER_OK, RCPT_OK, unknown_user(f"{NO_SUCH_USER}@example.test"), RCPT_OK, START_INPUT]
        # The end of one message, a whole second transaction and QUIT.
        c.send(dot_stuff(message(t1)) + b".\r\n"
               + f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<{ALICE}>\r\nDATA\r\n".encode())
        replies = c.read_replies(4)
        queue_id_of(replies[0])
        assert [r.full for r in replies[1:]] == [SENDER_OK, RCPT_OK, START_INPUT]
        c.send(dot_stuff(message(t2)) + b".\r\nQUIT\r\n")
        r1, r2 = c.read_replies(2)
        queue_id_of(r1)
        assert r2.full == BYE
        assert c.wait_closed(5) and c.buffer == b""
    wait_for_message(dd, "pt-alice", t1)
    wait_for_message(dd, "pt-bob", t1)
    wait_for_message(dd, "pt-alice", t2)
    assert not messages_with(dd, "pt-bob", t2)


def test_pipelined_errors_are_answered_in_place(dd):
    with session(dd) as c:
        c.send(f"MAIL FROM:<{SENDER}>\r\nMAIL FROM:<{SENDER}>\r\nRCPT TO:<{ALICE}>\r\nFOOB\r\nNOOP\r\n"
               f"RSET\r\nRCPT TO:<{ALICE}>\r\nVRFY pt-alice\r\nHELP\r\n".encode())
        assert [r.full for r in c.read_replies(9)] == [
            SENDER_OK, NESTED_MAIL, RCPT_OK, UNRECOGNIZED, OK, OK, NEED_MAIL, CANNOT_VRFY,
            "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP"]
        assert c.nothing_pending(0.3)


def test_pipelined_bdat_transaction_in_one_write(dd):
    token = unique_token("pipebdat")
    body = message(token)
    with session(dd) as c:
        c.send(f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<{ALICE}>\r\nBDAT {len(body)} LAST\r\n".encode() + body
               + b"QUIT\r\n")
        r = c.read_replies(4)
        assert [x.full for x in r[:2]] == [SENDER_OK, RCPT_OK]
        queue_id_of(r[2])
        assert r[3].full == BYE
    wait_for_message(dd, "pt-alice", token)


def test_message_bytes_sent_before_the_354_are_a_synchronization_error(dd):
    token = unique_token("sync")
    before = queued_count(dd)
    with session(dd) as c:
        c.send(f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<{ALICE}>\r\nDATA\r\n".encode() + message(token) + b".\r\n")
        replies = c.read_replies(3)
        assert [r.full for r in replies] == [SENDER_OK, RCPT_OK, "554 5.5.0 Error: SMTP protocol synchronization"]
        assert c.wait_closed(5)
        assert c.buffer == b""
    time.sleep(1)
    assert not messages_with(dd, "pt-alice", token)
    assert queued_count(dd) == before


# ------------------------------------------------------------------ real clients


def test_smtplib_sendmail_to_two_users(dd):
    token = unique_token("smtplib")
    client = smtplib.SMTP(dd.jail.host, dd.jail.port, timeout=15, source_address=(next_source(), 0))
    try:
        client.ehlo("client.test")
        assert client.has_extn("pipelining") and client.has_extn("chunking")
        refused = client.sendmail(SENDER, [ALICE, BOB, f"{NO_SUCH_USER}@example.test"],
                                  message(token).decode(), mail_options=["BODY=8BITMIME"])
        assert list(refused) == [f"{NO_SUCH_USER}@example.test"]
        assert refused[f"{NO_SUCH_USER}@example.test"][0] == 550
        client.quit()
    finally:
        client.close()
    wait_for_message(dd, "pt-alice", token)
    wait_for_message(dd, "pt-bob", token)


def swaks(d, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    exe = shutil.which("swaks") or "/usr/bin/swaks"
    return subprocess.run(
        [exe, "--server", f"{d.jail.host}:{d.jail.port}", "--local-interface", next_source(),
         "--timeout", "20s", *args],
        capture_output=True, text=True, timeout=timeout)


def test_swaks_esmtp_pipelined_delivery(dd):
    token = unique_token("swaks")
    result = swaks(dd, "--pipeline", "--ehlo", "swaks.client.test", "--from", SENDER, "--to", f"{ALICE},{BOB}",
                   "--header", f"Subject: {token}", "--body", f"token={token}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"<\*\* *250 2\.0\.0 Ok: queued as [0-9A-Z]{12}|<- *250 2\.0\.0 Ok: queued as [0-9A-Z]{12}",
                     result.stdout), result.stdout
    for user in ("pt-alice", "pt-bob"):
        msg = wait_for_message(dd, user, token)
        received = header_values(msg, "Received")[0]
        assert received.startswith("from swaks.client.test ([127.0.") and " with ESMTP id " in received
        assert " for <" not in received, "two recipients: no for clause"


def test_swaks_helo_transaction_is_received_with_smtp(dd):
    token = unique_token("swakshelo")
    result = swaks(dd, "--protocol", "SMTP", "--helo", "old.client.test", "--from", SENDER, "--to", ALICE,
                   "--header", f"Subject: {token}", "--body", f"token={token}")
    assert result.returncode == 0, result.stdout + result.stderr
    msg = wait_for_message(dd, "pt-alice", token)
    received = header_values(msg, "Received")[0]
    assert re.fullmatch(
        r"from old\.client\.test \(\[127\.\d+\.\d+\.\d+\]\) by mail\.example\.test \(Postern\) with SMTP id "
        r"[0-9A-Z]{12} for <pt-alice@example\.test>; \w{3}, \d{2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}",
        received), received


def test_swaks_sees_unknown_recipient_refused(dd):
    result = swaks(dd, "--from", SENDER, "--to", f"{NO_SUCH_USER}@example.test", "--quit-after", "RCPT")
    assert result.returncode != 0
    assert f"550 5.1.1 <{NO_SUCH_USER}@example.test>" in result.stdout


# ------------------------------------------------------------------ content: dots, mboxrd, 8-bit


def test_dot_stuffing_is_undone_exactly(dd):
    token = unique_token("dots")
    # What the client means (CRLF lines), and what it sends on the wire.
    lines = [b".", b"..", b"...", b".leading dot", b"..two leading dots", b" .space then dot", b"end."]
    wire = b"".join(b"." + line + b"\r\n" if line.startswith(b".") else line + b"\r\n" for line in lines)
    with session(dd) as c:
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == RCPT_OK
        assert c.cmd("DATA").code == 354
        c.send(message(token) + wire + b".\r\n")
        queue_id_of(c.read_reply())
    msg = wait_for_message(dd, "pt-alice", token)
    _, body = split_message(msg)
    assert body == f"token={token}\n".encode() + b"\n".join(lines) + b"\n\n", body


def test_dot_stuffing_through_smtplib(dd):
    token = unique_token("dots-smtplib")
    body = ".\r\n..\r\n.x\r\nlast\r\n"
    client = smtplib.SMTP(dd.jail.host, dd.jail.port, timeout=15, source_address=(next_source(), 0))
    try:
        client.ehlo("client.test")
        client.sendmail(SENDER, [ALICE], message(token).decode() + body)
        client.quit()
    finally:
        client.close()
    _, got = split_message(wait_for_message(dd, "pt-alice", token))
    assert got == f"token={token}\n.\n..\n.x\nlast\n\n".encode()


def test_mbox_is_mboxrd_from_lines_are_quoted(dd):
    token = unique_token("mboxrd")
    body = b"From the start of a line\r\n>From already quoted\r\n>>From twice\r\nnot From here\r\nFrom\r\n"
    deliver_raw(dd, token, msg=message(token, body=body))
    msg = wait_for_message(dd, "pt-alice", token)
    _, got = split_message(msg)
    assert got == (f"token={token}\n".encode()
                   + b">From the start of a line\n>>From already quoted\n>>>From twice\nnot From here\nFrom\n\n")
    # Still exactly one message with the token: no line split the mailbox.
    assert len(messages_with(dd, "pt-alice", token)) == 1


def test_eight_bit_body_bytes_arrive_intact(dd):
    token = unique_token("8bit")
    # Every byte value but NUL, CR and LF, in lines, plus UTF-8 and Latin-1.
    raw = bytes(b for b in range(1, 256) if b not in (10, 13))
    body = raw[:120] + b"\r\n" + raw[120:] + b"\r\n" + "Grüße, ½ €\r\n".encode() + b"caf\xe9\r\n"
    deliver_raw(dd, token, msg=message(token, body=body), mail_params="BODY=8BITMIME")
    msg = wait_for_message(dd, "pt-alice", token)
    _, got = split_message(msg)
    assert got == f"token={token}\n".encode() + body.replace(b"\r\n", b"\n") + b"\n"


def test_eight_bit_header_values_arrive_intact(dd):
    token = unique_token("8bithdr")
    headers = ["From: <tester@client.test>", "Subject: Grüße aus Köln", f"Message-ID: <{token}@client.test>",
               "Date: Mon, 02 Mar 2026 10:00:00 +0000"]
    deliver_raw(dd, token, msg=message(token, headers=headers), mail_params="BODY=8BITMIME SMTPUTF8")
    msg = wait_for_message(dd, "pt-alice", token)
    assert "Subject: Grüße aus Köln\n".encode() in msg


# ------------------------------------------------------------------ CHUNKING


def bdat_session(d) -> SMTPConn:
    c = session(d)
    assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
    assert c.cmd(f"RCPT TO:<{ALICE}>").full == RCPT_OK
    return c


def test_bdat_one_chunk(dd):
    token = unique_token("bdat1")
    body = message(token, body=b"line two\r\n")
    with bdat_session(dd) as c:
        c.send(f"BDAT {len(body)} LAST\r\n".encode() + body)
        qid = queue_id_of(c.read_reply())
        assert c.cmd("QUIT").full == BYE
    msg = wait_for_message(dd, "pt-alice", token)
    assert f"with ESMTP id {qid}".encode() in msg
    _, got = split_message(msg)
    assert got == f"token={token}\nline two\n\n".encode()


def test_bdat_several_chunks_split_anywhere_and_a_final_empty_last_chunk(dd):
    token = unique_token("bdatn")
    body = message(token, body=b"alpha\r\nbeta\r\ngamma\r\n")
    # Cut inside the header section, between CR and LF, and inside a line.
    cuts = [7, body.index(b"\r\n") + 1, body.index(b"beta") + 2]
    pieces = [body[a:b] for a, b in zip([0] + cuts, cuts + [len(body)])]
    with bdat_session(dd) as c:
        for piece in pieces:
            c.send(f"BDAT {len(piece)}\r\n".encode() + piece)
            r = c.read_reply()
            assert r.full == f"250 2.0.0 {len(piece)} octets received", str(r)
        c.send(b"BDAT 0 LAST\r\n")
        queue_id_of(c.read_reply())
    _, got = split_message(wait_for_message(dd, "pt-alice", token))
    assert got == f"token={token}\nalpha\nbeta\ngamma\n\n".encode()


def test_bdat_chunks_pipelined_with_the_last_one(dd):
    token = unique_token("bdatpipe")
    body = message(token, body=b"x" * 5000 + b"\r\n")
    half = len(body) // 2
    with bdat_session(dd) as c:
        c.send(f"BDAT {half}\r\n".encode() + body[:half] + f"BDAT {len(body) - half} LAST\r\n".encode()
               + body[half:])
        r1, r2 = c.read_replies(2)
        assert r1.full == f"250 2.0.0 {half} octets received"
        queue_id_of(r2)
    _, got = split_message(wait_for_message(dd, "pt-alice", token))
    assert got == f"token={token}\n".encode() + b"x" * 5000 + b"\n\n"


def test_bdat_body_with_crlf_dot_crlf_and_commands_arrives_intact(dd):
    token = unique_token("bdatdot")
    tail = (b"before\r\n.\r\nMAIL FROM:<evil@x>\r\nRCPT TO:<pt-bob@example.test>\r\nDATA\r\n"
            b"..two dots stay two\r\n.\r\nafter\r\n")
    body = message(token, body=tail)
    bob_before = len(mbox_messages(dd, "pt-bob"))
    with bdat_session(dd) as c:
        c.send(f"BDAT {len(body)} LAST\r\n".encode() + body)
        queue_id_of(c.read_reply())
        assert c.cmd("NOOP").full == OK
        assert c.nothing_pending(0.3)
    msg = wait_for_message(dd, "pt-alice", token)
    _, got = split_message(msg)
    assert got == f"token={token}\n".encode() + tail.replace(b"\r\n", b"\n") + b"\n"
    time.sleep(0.5)
    assert len(mbox_messages(dd, "pt-bob")) == bob_before


def test_bdat_0_last_as_the_only_chunk_is_an_empty_message(dd):
    with bdat_session(dd) as c:
        c.send(b"BDAT 0 LAST\r\n")
        qid = queue_id_of(c.read_reply())
    msg = wait_until(lambda: [m for m in mbox_messages(dd, "pt-alice") if f"id {qid}".encode() in m], 10,
                     what="the empty message")[0]
    # Only what the server adds: Received:, Date:, Message-ID:.
    names = {line.split(b":", 1)[0] for line in split_message(msg)[0] if line[:1] not in (b" ", b"\t")}
    assert names == {b"Return-Path", b"Delivered-To", b"Received", b"Date", b"Message-ID"}, names


def test_a_refused_bdat_chunk_is_skipped_not_run_as_commands(dd):
    with session(dd) as c:
        chunk = b"RSET\r\nQUIT\r\n"
        c.send(f"BDAT {len(chunk)} LAST\r\n".encode() + chunk)
        assert c.read_reply().full == NEED_MAIL
        assert c.cmd("NOOP").full == OK
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        c.send(f"BDAT {len(chunk)}\r\n".encode() + chunk)
        assert c.read_reply().full == NEED_RCPT
        assert c.cmd("NOOP").full == OK
        assert c.cmd(f"RCPT TO:<{NO_SUCH_USER}@example.test>").code == 550
        c.send(f"BDAT {len(chunk)}\r\n".encode() + chunk)
        assert c.read_reply().full == NO_VALID_RCPT
        assert c.cmd("NOOP").full == OK


def test_bdat_then_data_mail_or_rcpt_is_out_of_order(dd):
    token = unique_token("bdatorder")
    body = message(token)
    with bdat_session(dd) as c:
        c.send(f"BDAT {len(body)}\r\n".encode() + body)
        assert c.read_reply().full == f"250 2.0.0 {len(body)} octets received"
        assert c.cmd("DATA").full == "503 5.5.1 Error: DATA after BDAT"
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == "503 5.5.1 Error: MAIL after BDAT"
        assert c.cmd(f"RCPT TO:<{BOB}>").full == "503 5.5.1 Error: RCPT after BDAT"
        c.send(b"BDAT 0 LAST\r\n")
        queue_id_of(c.read_reply())
    wait_for_message(dd, "pt-alice", token)
    time.sleep(0.3)
    assert not messages_with(dd, "pt-bob", token)


def test_rset_after_a_bdat_chunk_discards_the_message(dd):
    token = unique_token("bdatrset")
    body = message(token)
    before = queued_count(dd)
    with bdat_session(dd) as c:
        c.send(f"BDAT {len(body)}\r\n".encode() + body)
        assert c.read_reply().code == 250
        assert c.cmd("RSET").full == OK
        c.send(b"BDAT 0 LAST\r\n")
        assert c.read_reply().full == NEED_MAIL
    time.sleep(1)
    assert queued_count(dd) == before
    assert not messages_with(dd, "pt-alice", token)


@pytest.mark.parametrize("line", ["BDAT", "BDAT x", "BDAT -1", "BDAT 10 NOTLAST", "BDAT 10 LAST more",
                                  "BDAT 1234567890123456789", "BDAT  10"])
def test_a_malformed_bdat_line_is_501_and_ends_the_session(dd, line):
    with bdat_session(dd) as c:
        r = c.cmd(line)
        assert r.full == "501 5.5.4 Syntax: BDAT count [LAST]"
        assert c.wait_closed(5)


@pytest.mark.parametrize("how", ["data", "bdat"])
def test_a_client_that_disconnects_mid_message_leaves_nothing_behind(dd, how):
    token = unique_token(f"cut-{how}")
    before = queued_count(dd)
    with session(dd) as c:
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == RCPT_OK
        if how == "data":
            assert c.cmd("DATA").code == 354
            c.send(message(token, body=b"half a message\r\n"))
        else:
            c.send(b"BDAT 100000 LAST\r\n" + message(token, body=b"half a message\r\n"))
        time.sleep(0.3)
    # The spool file the listener was writing is removed.
    wait_until(lambda: not spool_files(dd), 5, what="the spool to be empty")
    time.sleep(0.5)
    assert queued_count(dd) == before
    assert not messages_with(dd, "pt-alice", token)


@pytest.mark.parametrize("how", ["data", "bdat"])
def test_a_3_mb_message_arrives_intact(dd, how):
    token = unique_token(f"big-{how}")
    line = bytes(range(33, 127)) + b"\r\n"
    body = b"".join(line[i % 50:] for i in range(3 * 1024 * 1024 // 70))
    msg_bytes = message(token, body=body)
    with session(dd, timeout=60) as c:
        assert c.cmd(f"MAIL FROM:<{SENDER}> SIZE={len(msg_bytes)}").full == SENDER_OK
        assert c.cmd(f"RCPT TO:<{BOB}>").full == RCPT_OK
        if how == "data":
            assert c.cmd("DATA").code == 354
            c.send(dot_stuff(msg_bytes) + b".\r\n")
        else:
            c.send(f"BDAT {len(msg_bytes)} LAST\r\n".encode() + msg_bytes)
        qid = queue_id_of(c.read_reply(timeout=60))
    # A reader does not take the mbox lock: wait for the whole write.
    wait_delivered(dd, qid, BOB)
    msg = wait_for_message(dd, "pt-bob", token)
    _, got = split_message(msg)
    assert got == f"token={token}\n".encode() + body.replace(b"\r\n", b"\n") + b"\n"


def test_dot_stuffing_survives_any_packetization(dd):
    token = unique_token("dots-bytes")
    lines = [b".", b"..", b".x", b"a.", b"..."]
    wire = message(token) + b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n" for l in lines) + b".\r\n"
    with session(dd) as c:
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == RCPT_OK
        assert c.cmd("DATA").code == 354
        for i in range(len(wire)):
            c.send(wire[i:i + 1])
            if i % 4 == 0:
                time.sleep(0.001)
        queue_id_of(c.read_reply())
    _, got = split_message(wait_for_message(dd, "pt-alice", token))
    assert got == f"token={token}\n".encode() + b"\n".join(lines) + b"\n\n"


def test_header_section_limits(dd):
    with session(dd) as c:
        for headers, expected in (
            ([f"X-Line-{n}: v" for n in range(1000)], None),
            ([f"X-Line-{n}: v" for n in range(1001)], "552 5.3.4 Header section too large"),
            (["X-Big: " + "a" * (1 << 20)], "552 5.3.4 Header section too large"),
        ):
            token = unique_token("hdrlimit")
            assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
            assert c.cmd(f"RCPT TO:<{ALICE}>").full == RCPT_OK
            assert c.cmd("DATA").code == 354
            c.send(message(token, headers=headers) + b".\r\n")
            r = c.read_reply()
            if expected is None:
                queue_id_of(r)
            else:
                assert r.full == expected


def test_an_empty_data_message_is_accepted(dd):
    with session(dd) as c:
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == RCPT_OK
        assert c.cmd("DATA").code == 354
        c.send(b".\r\n")
        qid = queue_id_of(c.read_reply())
    msg = wait_until(lambda: [m for m in mbox_messages(dd, "pt-alice") if f"id {qid}".encode() in m], 10,
                     what="the empty message")[0]
    assert len(header_values(msg, "Date")) == 1 and len(header_values(msg, "Message-ID")) == 1


# ------------------------------------------------------------------ SMTPUTF8


def test_utf8_sender_needs_the_smtputf8_parameter(dd):
    with session(dd) as c:
        assert c.cmd("MAIL FROM:<tëst@client.test>").full == (
            "553 5.6.7 Non-ASCII addresses not permitted for that sender without SMTPUTF8")
        assert c.cmd("MAIL FROM:<tëst@clïent.test>").code == 553
        assert c.cmd("MAIL FROM:<tëst@client.test> SMTPUTF8").full == SENDER_OK


def test_utf8_recipient_needs_smtputf8_on_mail(dd):
    with session(dd) as c:
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        assert c.cmd("RCPT TO:<ünknown@example.test>").full == (
            "553 5.6.7 Non-ASCII addresses not permitted for that recipient without SMTPUTF8")
    with session(dd) as c:
        assert c.cmd(f"MAIL FROM:<{SENDER}> SMTPUTF8").full == SENDER_OK
        # Syntax accepted; there is simply no such user.
        r = c.cmd("RCPT TO:<ünknown@example.test>")
        assert (r.code, r.enhanced) == (550, "5.1.1"), str(r)


def test_smtputf8_after_helo_is_not_an_option(dd):
    with session(dd, ehlo=None) as c:
        assert c.cmd("HELO client.test").code == 250
        assert c.cmd("MAIL FROM:<tëst@client.test> SMTPUTF8").full == "555 5.5.4 Unsupported option: SMTPUTF8"


@pytest.mark.parametrize("raw", [b"t\xffst@client.test", b"t\xc3st@client.test", b"t\xc0\xafst@client.test",
                                 b"t\xed\xa0\x80st@client.test"])
def test_invalid_utf8_in_an_address_is_bad_syntax(dd, raw):
    with session(dd) as c:
        r = c.cmd(b"MAIL FROM:<" + raw + b"> SMTPUTF8")
        assert r.full == "501 5.1.7 Bad sender address syntax", str(r)


def test_a_smtputf8_message_is_delivered_with_utf8smtp(dd):
    token = unique_token("utf8")
    sender = "tëst@clïent.test"
    with session(dd) as c:
        assert c.cmd(f"MAIL FROM:<{sender}> SMTPUTF8 BODY=8BITMIME").full == SENDER_OK
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == RCPT_OK
        assert c.cmd("DATA").code == 354
        c.send(message(token, headers=[f"From: <{sender}>", "Subject: ünïcödé"]) + b".\r\n")
        queue_id_of(c.read_reply())
    msg = wait_for_message(dd, "pt-alice", token)
    assert msg.startswith(f"From {sender} ".encode()), msg[:80]
    assert header_values(msg, "Return-Path") == [f"<{sender}>"]
    assert " with UTF8SMTP id " in header_values(msg, "Received")[0]
    assert "Subject: ünïcödé\n".encode() in msg


# ------------------------------------------------------------------ DSN parameters


@pytest.mark.parametrize("params", [
    "RET=FULL", "RET=HDRS", "ret=hdrs", "ENVID=abc123", "ENVID=a+2Bb+3Dc", "RET=FULL ENVID=QQ314159",
    "ENVID=" + "x" * 100, "SIZE=100 BODY=7BIT RET=HDRS ENVID=e SMTPUTF8",
])
def test_dsn_mail_parameters_accepted(dd, params):
    with session(dd) as c:
        assert c.cmd(f"MAIL FROM:<{SENDER}> {params}").full == SENDER_OK


@pytest.mark.parametrize("params", [
    "NOTIFY=NEVER", "NOTIFY=SUCCESS", "NOTIFY=FAILURE", "NOTIFY=DELAY", "NOTIFY=SUCCESS,FAILURE,DELAY",
    "notify=failure,delay", "ORCPT=rfc822;pt-alice@example.test", "ORCPT=rfc822;pt-alice+40example.test",
    "ORCPT=utf-8;pt-alice@example.test", "NOTIFY=SUCCESS ORCPT=rfc822;x@y.test",
])
def test_dsn_rcpt_parameters_accepted(dd, params):
    with session(dd) as c:
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        assert c.cmd(f"RCPT TO:<{ALICE}> {params}").full == RCPT_OK


@pytest.mark.parametrize("params, keyword", [
    ("RET=PARTIAL", "RET"), ("RET", "RET"), ("RET=FULL RET=FULL", "RET"),
    ("ENVID=" + "x" * 101, "ENVID"), ("ENVID=a+2bc", "ENVID"), ("ENVID=a+ZZc", "ENVID"), ("ENVID=a+2", "ENVID"),
    ("ENVID", "ENVID"), ("ENVID=a+0Db", "ENVID"), ("ENVID=a ENVID=b", "ENVID"),
])
def test_bad_dsn_mail_parameters_get_501_5_5_4(dd, params, keyword):
    with session(dd) as c:
        assert c.cmd(f"MAIL FROM:<{SENDER}> {params}").full == f"501 5.5.4 Bad {keyword} parameter"


@pytest.mark.parametrize("params, keyword", [
    ("NOTIFY=NEVER,SUCCESS", "NOTIFY"), ("NOTIFY=SOMETIMES", "NOTIFY"), ("NOTIFY=SUCCESS,SUCCESS", "NOTIFY"),
    ("NOTIFY=SUCCESS,", "NOTIFY"), ("NOTIFY", "NOTIFY"), ("NOTIFY=FAILURE NOTIFY=DELAY", "NOTIFY"),
    ("ORCPT=rfc822", "ORCPT"), ("ORCPT=;a@b.test", "ORCPT"), ("ORCPT=rfc822;", "ORCPT"),
    ("ORCPT=rfc822;a+ZZb", "ORCPT"), ("ORCPT=rfc822;a+0Ab", "ORCPT"), ("ORCPT=rfc(822;a@b.test", "ORCPT"),
    ("ORCPT=rfc822;" + "x" * 500, "ORCPT"),
])
def test_bad_dsn_rcpt_parameters_get_501_5_5_4(dd, params, keyword):
    with session(dd) as c:
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        assert c.cmd(f"RCPT TO:<{ALICE}> {params}").full == f"501 5.5.4 Bad {keyword} parameter"
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == RCPT_OK


def test_dsn_parameters_are_stored_with_the_envelope(start_daemon):
    # A client that may relay sends to a remote address: the relay cannot
    # deliver yet (451), so the message stays in the queue for inspection.
    d = start_configured(start_daemon, access="Connect:127.0.0.9 RELAY\n")
    token = unique_token("dsnstore")
    with SMTPConn(d.jail.host, d.jail.port, source="127.0.0.9") as c:
        c.ehlo()
        assert c.cmd(f"MAIL FROM:<{SENDER}> RET=HDRS ENVID=env+2Bid+20{token[-6:]} BODY=8BITMIME").full == SENDER_OK
        assert c.cmd("RCPT TO:<far@remote.test> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;far+40remote.test").full == RCPT_OK
        assert c.cmd("RCPT TO:<other@remote.test> NOTIFY=NEVER").full == RCPT_OK
        assert c.cmd("RCPT TO:<plain@remote.test>").full == RCPT_OK
        assert c.cmd("DATA").code == 354
        c.send(message(token) + b".\r\n")
        qid = queue_id_of(c.read_reply())
    control = d.jail.spool / "msg" / f"{qid}.c"
    text = wait_until(lambda: control.exists() and control.read_text(), 10, what="the control file")
    envid = f"env+id {token[-6:]}"
    assert "\nret hdrs\n" in text, text
    assert f"\nenvid {len(envid)}:{envid}\n" in text, text
    assert "\nbody 8bitmime\n" in text, text
    lines = text.splitlines()
    far = next(i for i, line in enumerate(lines) if line.startswith("rcpt ") and "far@remote.test" in line)
    assert lines[far + 1] == "dsn success,delay 22:rfc822;far@remote.test", lines
    other = next(i for i, line in enumerate(lines) if line.startswith("rcpt ") and "other@remote.test" in line)
    assert lines[other + 1] == "dsn never 0:", lines
    plain = next(i for i, line in enumerate(lines) if line.startswith("rcpt ") and "plain@remote.test" in line)
    assert not lines[plain + 1].startswith("dsn "), lines


# ------------------------------------------------------------------ headers the server adds


def test_received_header_with_esmtp_names_client_host_id_and_recipient(dd):
    token = unique_token("rcvd")
    source = next_source()
    with session(dd, source=source, ehlo="helo.client.test") as c:
        qid = queue_id_of(c.transaction(SENDER, [ALICE], message(token)))
    msg = wait_for_message(dd, "pt-alice", token)
    headers, _ = split_message(msg)
    # The mbox writer's Return-Path: and Delivered-To:, then ours, first.
    assert headers[0] == f"Return-Path: <{SENDER}>".encode()
    assert headers[1] == f"Delivered-To: {ALICE}".encode()
    assert headers[2] == f"Received: from helo.client.test ([{source}])".encode()
    assert headers[3] == f"\tby {HOST} (Postern) with ESMTP id {qid}".encode()
    assert re.fullmatch(rb"\tfor <pt-alice@example\.test>; \w{3}, \d{2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}",
                        headers[4]), headers[4]
    assert len(header_values(msg, "Received")) == 1


def test_received_header_with_helo_says_smtp(dd):
    token = unique_token("rcvdhelo")
    with session(dd, ehlo=None) as c:
        assert c.cmd("HELO old.client.test").code == 250
        qid = queue_id_of(c.transaction(SENDER, [ALICE, BOB], message(token)))
    msg = wait_for_message(dd, "pt-alice", token)
    received = header_values(msg, "Received")[0]
    assert received.startswith("from old.client.test ([127.")
    assert f"by {HOST} (Postern) with SMTP id {qid};" in received
    assert "for <" not in received


def test_date_and_message_id_are_added_when_missing(dd):
    token = unique_token("nodate")
    headers = ["From: <tester@client.test>", "To: <pt-alice@example.test>", "Subject: no date, no id"]
    qid = deliver_raw(dd, token, msg=message(token, headers=headers))
    msg = wait_for_message(dd, "pt-alice", token)
    dates = header_values(msg, "Date")
    ids = header_values(msg, "Message-ID")
    assert len(dates) == 1 and re.fullmatch(r"\w{3}, \d{2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}", dates[0]), dates
    assert len(ids) == 1 and re.fullmatch(rf"<{qid}\.\d{{14}}@mail\.example\.test>", ids[0]), ids
    # Added at the end of the header section, after the client's fields.
    headers_seen, _ = split_message(msg)
    names = [h.split(b":", 1)[0] for h in headers_seen if h[:1] not in (b"\t", b" ")]
    assert names[-2:] == [b"Date", b"Message-ID"], names


def test_date_and_message_id_present_are_left_alone(dd):
    token = unique_token("hasdate")
    headers = ["From: <tester@client.test>", "date: Tue, 03 Mar 2026 11:12:13 +0100",
               f"MESSAGE-ID: <{token}@client.test>", "Subject: has both"]
    deliver_raw(dd, token, msg=message(token, headers=headers))
    msg = wait_for_message(dd, "pt-alice", token)
    assert header_values(msg, "Date") == ["Tue, 03 Mar 2026 11:12:13 +0100"]
    assert header_values(msg, "Message-ID") == [f"<{token}@client.test>"]


def test_only_the_missing_one_is_added(dd):
    token = unique_token("hasid")
    deliver_raw(dd, token, msg=message(token, headers=[f"Message-ID: <{token}@client.test>"]))
    msg = wait_for_message(dd, "pt-alice", token)
    assert header_values(msg, "Message-ID") == [f"<{token}@client.test>"]
    assert len(header_values(msg, "Date")) == 1
    token = unique_token("hasdateonly")
    deliver_raw(dd, token, msg=message(token, headers=["Date: Tue, 03 Mar 2026 11:12:13 +0100"]))
    msg = wait_for_message(dd, "pt-alice", token)
    assert header_values(msg, "Date") == ["Tue, 03 Mar 2026 11:12:13 +0100"]
    assert len(header_values(msg, "Message-ID")) == 1


def test_folded_headers_pass_untouched(dd):
    token = unique_token("folded")
    headers = ["From: <tester@client.test>", "Subject: a long", "\tfolded subject", "X-Thing : spaced name",
               "References: <a@b>", "  <c@d>"]
    deliver_raw(dd, token, msg=message(token, headers=headers))
    msg = wait_for_message(dd, "pt-alice", token)
    assert b"Subject: a long\n\tfolded subject\nX-Thing : spaced name\nReferences: <a@b>\n  <c@d>\n" in msg


@pytest.mark.parametrize("headers, reason", [
    (["From: <tester@client.test>", "this line has no colon", "Subject: x"], "line 2: not a header field"),
    (["From: <tester@client.test>", "Subject: x", "no colon either"], "line 3: not a header field"),
    (["From: <tester@client.test>", "   ", "Subject: x"], "line 2: line of only blanks"),
    ([" leading blank: continuation first", "Subject: x"], "line 1: continuation line before the first field"),
    (["From: <tester@client.test>", ": no name", "Subject: x"], "line 2: invalid field name"),
])
def test_a_broken_header_section_is_refused_with_554_5_6_0_and_nothing_is_delivered(refusals_only, headers, reason):
    d = refusals_only
    token = unique_token("badhdr")
    with session(d) as c:
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == RCPT_OK
        assert c.cmd("DATA").code == 354
        c.send(message(token, headers=headers) + b".\r\n")
        assert c.read_reply().full == f"554 5.6.0 Message header malformed: {reason}"
        # The session goes on.
        assert c.cmd("NOOP").full == OK
    assert_nothing_delivered(d, settle=1.0, queued_before=0)


def test_a_message_without_any_header_gets_the_added_headers_first(dd):
    token = unique_token("nohdr")
    body = f"token={token} and no header section at all\r\nsecond: line\r\n".encode()
    deliver_raw(dd, token, msg=body)
    msg = wait_for_message(dd, "pt-alice", token)
    headers, got = split_message(msg)
    assert got == f"token={token} and no header section at all\nsecond: line\n\n".encode()
    assert len(header_values(msg, "Date")) == 1 and len(header_values(msg, "Message-ID")) == 1


# ------------------------------------------------------------------ limits


def test_max_message_size(start_daemon):
    d = start_configured(start_daemon, {"MaxMessageSize": "20k"})
    with session(d, ehlo=None) as c:
        assert c.cmd("EHLO client.test").lines == [HOST] + ["SIZE 20480" if e.startswith("SIZE") else e
                                                             for e in EXTENSIONS]
        # Declared size over the limit: refused at MAIL.
        assert c.cmd(f"MAIL FROM:<{SENDER}> SIZE=20481").full == TOO_BIG
        assert c.cmd(f"MAIL FROM:<{SENDER}> SIZE=99999999999999999999999").full == TOO_BIG
        # At the limit: accepted; then the content is over it anyway.
        assert c.cmd(f"MAIL FROM:<{SENDER}> SIZE=20480").full == SENDER_OK
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == RCPT_OK
        assert c.cmd("DATA").code == 354
        token = unique_token("big")
        big = message(token, body=(b"y" * 70 + b"\r\n") * 450)  # ~32 KB
        c.send(dot_stuff(big) + b".\r\n")
        assert c.read_reply().full == TOO_BIG
        # The session goes on, and a message without SIZE= is refused too.
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        assert c.cmd(f"RCPT TO:<{BOB}>").full == RCPT_OK
        assert c.cmd("DATA").code == 354
        c.send(dot_stuff(big) + b".\r\n")
        assert c.read_reply().full == TOO_BIG
        # BDAT: the chunk that crosses the limit is refused at once and the
        # transaction ends; its later chunks are skipped.
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == RCPT_OK
        c.send(f"BDAT {len(big)}\r\n".encode() + big)
        assert c.read_reply().full == TOO_BIG
        c.send(b"BDAT 10 LAST\r\n0123456789")
        assert c.read_reply().full == NEED_MAIL
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == RCPT_OK
        c.send(f"BDAT {len(big)} LAST\r\n".encode() + big)
        assert c.read_reply().full == TOO_BIG
        assert c.cmd("NOOP").full == OK
    assert_nothing_delivered(d, queued_before=0)
    assert f"token={token}" not in d.log()


def test_max_message_size_boundary_is_exact(start_daemon):
    d = start_configured(start_daemon, {"MaxMessageSize": "20k"})
    token = unique_token("edge")
    head = message(token)
    at_limit = head + b"z" * (20480 - len(head))
    with session(d) as c:
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == RCPT_OK
        c.send(f"BDAT {len(at_limit) + 1} LAST\r\n".encode() + at_limit + b"z")
        assert c.read_reply().full == TOO_BIG
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == RCPT_OK
        c.send(f"BDAT {len(at_limit)} LAST\r\n".encode() + at_limit)
        queue_id_of(c.read_reply())
        # DATA: the content (unstuffed, with its final CRLF) is what counts.
        token2 = unique_token("edge2")
        head2 = message(token2)
        exact = head2 + b"w" * (20480 - len(head2) - 2) + b"\r\n"
        assert len(exact) == 20480
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == RCPT_OK
        assert c.cmd("DATA").code == 354
        c.send(exact + b".\r\n")
        queue_id_of(c.read_reply())
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == RCPT_OK
        assert c.cmd("DATA").code == 354
        c.send(exact[:-2] + b"w\r\n.\r\n")
        assert c.read_reply().full == TOO_BIG
    wait_for_message(d, "pt-alice", token)
    wait_for_message(d, "pt-alice", token2)
    time.sleep(0.5)
    assert len(mbox_messages(d, "pt-alice")) == 2


def test_max_recipients_per_message(start_daemon):
    d = start_configured(start_daemon, {"MaxRecipientsPerMessage": 3})
    token = unique_token("rcpts")
    with session(d) as c:
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == RCPT_OK
        # A refused recipient does not use up the limit.
        assert c.cmd(f"RCPT TO:<{NO_SUCH_USER}@example.test>").code == 550
        assert c.cmd(f"RCPT TO:<{BOB}>").full == RCPT_OK
        assert c.cmd("RCPT TO:<postmaster@example.test>").full == RCPT_OK
        assert c.cmd("RCPT TO:<pt-bob@[127.0.0.1]>").full == "452 4.5.3 Too many recipients"
        assert c.cmd("RCPT TO:<root@example.test>").full == "452 4.5.3 Too many recipients"
        assert c.cmd("DATA").code == 354
        c.send(message(token) + b".\r\n")
        queue_id_of(c.read_reply())
        # The next transaction has the whole limit again.
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        for _ in range(3):
            assert c.cmd(f"RCPT TO:<{ALICE}>").full == RCPT_OK
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == "452 4.5.3 Too many recipients"
    wait_for_message(d, "pt-alice", token)
    wait_for_message(d, "pt-bob", token)
    time.sleep(0.5)
    assert len(messages_with(d, "pt-bob", token)) == 1


def test_command_line_limit_is_512_octets_and_the_session_survives(dd):
    with session(dd) as c:
        assert c.cmd("NOOP " + "x" * (512 - 2 - 5)).full == OK
        assert c.cmd("NOOP " + "x" * (512 - 2 - 4)).full == LINE_TOO_LONG
        assert c.cmd("NOOP").full == OK
        assert c.cmd("HELO " + "a" * 600).full == LINE_TOO_LONG
        assert c.cmd("VRFY " + "a" * 100_000).full == LINE_TOO_LONG
        assert c.cmd("NOOP").full == OK
        # MAIL and RCPT may carry ESMTP parameters: 1536 octets.
        mail = f"MAIL FROM:<{SENDER}>"
        assert c.cmd(mail + " " * (1536 - 2 - len(mail))).full == SENDER_OK
        rcpt = f"RCPT TO:<{ALICE}>"
        assert c.cmd(rcpt + " " * (1537 - 2 - len(rcpt))).full == LINE_TOO_LONG
        assert c.cmd(rcpt).full == RCPT_OK


def test_a_flood_without_line_end_is_bounded_and_gets_one_reply(dd):
    with session(dd) as c:
        for _ in range(40):
            c.send(b"z" * 65536)
        c.send(b"\r\nNOOP\r\n")
        assert [r.full for r in c.read_replies(2)] == [LINE_TOO_LONG, OK]


@pytest.mark.parametrize("raw", [b"NOOP\nNOOP\r\n", b"NO\rOP\r\n", b"NOOP\r\r\n", b"\nNOOP\r\n",
                                 b"MAIL FROM:<tester@client.test>\nRCPT TO:<pt-alice@example.test>\r\n",
                                 b"NOOP\n\r\n"])
def test_a_bare_lf_or_cr_in_a_command_is_refused(dd, raw):
    with session(dd) as c:
        c.send(raw)
        assert c.read_reply().full == BARE
        assert c.nothing_pending(0.3)
        # Nothing of the line ran: there is no transaction.
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == NEED_MAIL
        assert c.cmd("NOOP").full == OK


def test_a_bare_lf_never_ends_a_command_line(dd):
    with session(dd) as c:
        c.send(b"NOOP\n")
        assert c.nothing_pending(1.0), "a bare LF ended the line"
        c.send(b"\r\n")
        assert c.read_reply().full == BARE


@pytest.mark.parametrize("raw", [b"NOOP\x00\r\n", b"\x00\r\n", b"MAIL FROM:<te\x00ster@client.test>\r\n",
                                 b"EHLO client.test\x00\r\n"])
def test_nul_in_a_command_is_refused(dd, raw):
    with session(dd) as c:
        c.send(raw)
        assert c.read_reply().full == NUL
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == NEED_MAIL


def test_nul_in_the_message_is_refused(dd):
    token = unique_token("nul")
    before = queued_count(dd)
    with session(dd) as c:
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == RCPT_OK
        assert c.cmd("DATA").code == 354
        c.send(message(token, body=b"a\x00b\r\n") + b".\r\n")
        assert c.read_reply().full == "554 5.6.0 Message contains NUL character"
        assert c.cmd("NOOP").full == OK
    time.sleep(1)
    assert queued_count(dd) == before
    assert not messages_with(dd, "pt-alice", token)


def test_nul_in_a_bdat_message_is_refused(dd):
    token = unique_token("bdatnul")
    body = message(token, body=b"a\x00b\r\n")
    with session(dd) as c:
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == RCPT_OK
        c.send(f"BDAT {len(body)} LAST\r\n".encode() + body)
        r = c.read_reply()
    assert (r.code, r.enhanced) == (554, "5.6.0"), str(r)


def test_max_errors_per_session(start_daemon):
    d = start_configured(start_daemon, {"MaxErrorsPerSession": 3})
    with session(d) as c:
        assert c.cmd("FOOB").full == UNRECOGNIZED
        assert c.cmd("NOOP").full == OK  # successes do not reset the count
        assert c.cmd("DATA").full == NEED_RCPT
        assert c.cmd("VRFY pt-alice").full == CANNOT_VRFY  # 252 is not an error
        assert c.cmd("BARF").full == UNRECOGNIZED
        r = c.read_reply()
        assert r.full == f"421 4.7.0 {HOST} Error: too many errors"
        assert c.wait_closed(5)
    # Refused recipients count too (address harvesting).
    with session(d) as c:
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        for n in range(3):
            assert c.cmd(f"RCPT TO:<harvest{n}@example.test>").code == 550
        assert c.read_reply().full == f"421 4.7.0 {HOST} Error: too many errors"
        assert c.wait_closed(5)
    # A fresh session starts from zero.
    with session(d) as c:
        assert c.cmd("FOOB").full == UNRECOGNIZED
        assert c.cmd("NOOP").full == OK


def test_idle_clients_are_dropped_with_421_4_4_2(start_daemon):
    d = start_configured(start_daemon, {"Timeout.command": "10s", "Timeout.datablock": "10s"})
    token = unique_token("idle")
    results: dict[str, object] = {}

    def idle(name: str, prepare) -> None:
        try:
            with session(d, ehlo=None, timeout=20) as c:
                prepare(c)
                start = time.monotonic()
                r = c.read_reply(timeout=16)
                results[name] = (r.full, time.monotonic() - start, c.wait_closed(3))
        except Exception as e:  # reported below
            results[name] = e

    def nothing(c):
        pass

    def after_ehlo(c):
        c.ehlo()

    def in_data(c):
        c.ehlo()
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == RCPT_OK
        assert c.cmd("DATA").code == 354
        c.send(message(token))

    def partial_line(c):
        c.ehlo()
        c.send(b"MAIL FROM:<tester@cli")

    threads = [threading.Thread(target=idle, args=(n, f)) for n, f in
               (("greeted", nothing), ("ehlo", after_ehlo), ("data", in_data), ("partial", partial_line))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for name in ("greeted", "ehlo", "data", "partial"):
        got = results.get(name)
        assert isinstance(got, tuple), f"{name}: {got!r}"
        full, elapsed, closed = got
        assert full == f"421 4.4.2 {HOST} Error: timeout exceeded", (name, full)
        assert 9.0 <= elapsed <= 12.5, (name, elapsed)
        assert closed, name
    assert_nothing_delivered(d, settle=0.5, queued_before=0)


def test_max_hop_count(start_daemon):
    d = start_configured(start_daemon, {"MaxHopCount": 5})
    hops = [f"Received: from hop{n}.test by hop{n + 1}.test; Mon, 02 Mar 2026 10:00:0{n} +0000" for n in range(6)]
    base = ["From: <tester@client.test>", "Subject: hops"]
    token_ok, token_loop = unique_token("hops5"), unique_token("hops6")
    with session(d) as c:
        qid = queue_id_of(c.transaction(SENDER, [ALICE], message(token_ok, headers=hops[:5] + base)))
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        assert c.cmd(f"RCPT TO:<{BOB}>").full == RCPT_OK
        assert c.cmd("DATA").code == 354
        c.send(message(token_loop, headers=hops + base) + b".\r\n")
        assert c.read_reply().full == "554 5.4.6 Too many hops"
        # Received: fields count wherever they are in the header section,
        # and in any case.
        mixed = base[:1] + hops[:3] + base[1:] + [h.replace("Received:", "RECEIVED:") for h in hops[3:]]
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == SENDER_OK
        assert c.cmd(f"RCPT TO:<{BOB}>").full == RCPT_OK
        c.send(f"BDAT {len(message(token_loop, headers=mixed))} LAST\r\n".encode() + message(token_loop, headers=mixed))
        assert c.read_reply().full == "554 5.4.6 Too many hops"
    msg = wait_for_message(d, "pt-alice", token_ok)
    assert len(header_values(msg, "Received")) == 6  # theirs and ours
    assert qid in header_values(msg, "Received")[0]
    assert_nothing_delivered(d, users=("pt-bob",), settle=0.5, queued_before=1)


def test_smtp_greeting_message_expands_j_and_b(start_daemon):
    d = start_configured(start_daemon, {"SmtpGreetingMessage": "$j Mail Service ready at $b"})
    with connect(d) as c:
        assert c.greeting.code == 220
        assert re.fullmatch(r"mail\.example\.test Mail Service ready at \w{3}, \d{2} \w{3} \d{4} "
                            r"\d\d:\d\d:\d\d [+-]\d{4}", c.greeting.lines[0]), str(c.greeting)


# ------------------------------------------------------------------ connection limits


def refused_greeting(d, source: str) -> str:
    with SMTPConn(d.jail.host, d.jail.port, source=source, timeout=10) as c:
        full = c.greeting.full
        assert c.wait_closed(5), "a refused connection is closed"
        return full


def test_max_connections_and_max_connections_per_client(start_daemon):
    # Sources other than 127.0.0.1, which the harness uses to see the port open.
    d = start_configured(start_daemon, {"MaxConnections": 4, "MaxConnectionsPerClient": 2,
                                        "MaxConnectionRatePerClient": 0})
    held = []
    try:
        for source in ("127.0.0.2", "127.0.0.2"):
            held.append(SMTPConn(d.jail.host, d.jail.port, source=source))
            assert held[-1].greeting.full == f"220 {HOST} ESMTP"
        assert refused_greeting(d, "127.0.0.2") == f"421 4.7.0 {HOST} Too many connections from your address"
        for source in ("127.0.0.3", "127.0.0.4"):
            held.append(SMTPConn(d.jail.host, d.jail.port, source=source))
            assert held[-1].greeting.full == f"220 {HOST} ESMTP"
        assert refused_greeting(d, "127.0.0.5") == f"421 4.7.0 {HOST} Too many connections, try again later"
        # The held sessions still work.
        for c in held:
            assert c.cmd("EHLO client.test").code == 250
        # A session that ends frees its slot.
        assert held[0].cmd("QUIT").full == BYE
        assert held[0].wait_closed(5)
        wait_until(lambda: "disconnect from 127.0.0.2" in d.log(), 5, what="the disconnect")
        c = SMTPConn(d.jail.host, d.jail.port, source="127.0.0.5")
        held.append(c)
        assert c.greeting.full == f"220 {HOST} ESMTP"
        assert refused_greeting(d, "127.0.0.6") == f"421 4.7.0 {HOST} Too many connections, try again later"
    finally:
        for c in held:
            c.close()


def test_max_connection_rate_per_client(start_daemon):
    d = start_configured(start_daemon, {"MaxConnectionRatePerClient": 5})
    for _ in range(5):
        with SMTPConn(d.jail.host, d.jail.port, source="127.0.0.2") as c:
            assert c.greeting.full == f"220 {HOST} ESMTP"
            assert c.cmd("QUIT").full == BYE
    assert refused_greeting(d, "127.0.0.2") == f"421 4.7.0 {HOST} Connection rate limit exceeded, slow down"
    assert refused_greeting(d, "127.0.0.2").startswith("421 4.7.0 ")
    # Another client is not affected.
    with SMTPConn(d.jail.host, d.jail.port, source="127.0.0.3") as c:
        assert c.greeting.full == f"220 {HOST} ESMTP"
