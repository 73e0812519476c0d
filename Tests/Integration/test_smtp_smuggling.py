"""SMTP smuggling (CVE-2023-51764 and kin) against the real daemon.

A message body holds one of the end-of-data look-alikes `\\n.\\n`,
`\\n.\\r\\n`, `\\r.\\r\\n`, `\\r\\n.\\n`, `\\r\\n.\\r`, then a whole second
transaction (`MAIL FROM:<evil@x>`, `RCPT TO:<pt-bob@example.test>`, `DATA`,
a message), then the one real `\\r\\n.\\r\\n`. A server that took the
look-alike for the end of the data would run the rest as commands and queue
a second message, for pt-bob. Postern must never do that:

- by default (`BareLineEndings = reject`) the message is refused at its real
  end with `550 5.6.11` and nothing is queued;
- with `BareLineEndings = normalize` it is accepted as ONE message, for
  pt-alice only, whose body holds the smuggled commands as text.

Each case is sent three ways (one write with QUIT pipelined after the real
end; the look-alike and the rest in separate writes; one byte per write),
since a server's framing can depend on how the bytes arrive. The evidence
is the replies (exactly one for the message, then QUIT's), the queue's
"queued" log lines, and the mailboxes: pt-bob's must stay empty throughout.
"""

from __future__ import annotations

import time

import pytest

from daemon import unique_token, wait_until
from smtp_client import (
    SMTPConn,
    connect,
    fresh_daemon,
    mbox_bytes,
    messages_with,
    queue_id_of,
    queued_count,
    spool_files,
    split_message,
)

ALICE = "pt-alice@example.test"
SENDER = "tester@client.test"
SMUGGLED = (b"MAIL FROM:<evil@x>\r\n"
            b"RCPT TO:<pt-bob@example.test>\r\n"
            b"DATA\r\n"
            b"From: <evil@x>\r\n"
            b"Subject: smuggled\r\n"
            b"\r\n"
            b"smuggled body\r\n")

# The look-alike, and what the body line after "hello" becomes in the mbox
# when normalizing: a bare CR or LF becomes a line end, and a "." that
# starts a line with more after it is dot-stuffing, removed (RFC 5321
# §4.5.2): ".\nMAIL" and ".\rMAIL" are such lines.
SEPARATORS = {
    "LF.LF": (b"\n.\n", b"hello\n.\nMAIL FROM:<evil@x>\n"),
    "LF.CRLF": (b"\n.\r\n", b"hello\n.\nMAIL FROM:<evil@x>\n"),
    "CR.CRLF": (b"\r.\r\n", b"hello\n.\nMAIL FROM:<evil@x>\n"),
    "CRLF.LF": (b"\r\n.\n", b"hello\n\nMAIL FROM:<evil@x>\n"),
    "CRLF.CR": (b"\r\n.\r", b"hello\n\nMAIL FROM:<evil@x>\n"),
}
MODES = ["one-write", "split", "bytewise"]

REJECTED = "550 5.6.11 Message contains bare CR or bare LF"


@pytest.fixture(scope="module")
def reject_daemon(postern_bin):
    """The default configuration (BareLineEndings = reject, not written)."""
    with fresh_daemon(postern_bin) as d:
        assert "BareLineEndings" not in d.jail.read_config()
        yield d
        assert_bob_untouched(d)


@pytest.fixture(scope="module")
def normalize_daemon(postern_bin):
    with fresh_daemon(postern_bin, {"BareLineEndings": "normalize"}) as d:
        yield d
        assert_bob_untouched(d)


def assert_bob_untouched(d) -> None:
    assert mbox_bytes(d, "pt-bob") == b"", f"pt-bob got mail:\n{mbox_bytes(d, 'pt-bob')!r}"
    assert "from=<evil@x>" not in d.log(), d.diagnostics(30)


def read_until_closed(c: SMTPConn, timeout: float = 10) -> list[str]:
    """Every reply until the server closes the connection."""
    replies = []
    deadline = time.monotonic() + timeout
    while True:
        try:
            replies.append(c.read_reply(max(0.01, deadline - time.monotonic())).full)
        except Exception:
            break
    assert c.eof, f"the connection is still open after {replies}"
    assert c.buffer == b"", f"a partial reply after {replies}: {c.buffer!r}"
    return replies


def smuggle(d, separator: bytes, mode: str, token: str) -> list[str]:
    """One attempt: a transaction for pt-alice whose body carries the
    separator and a second transaction for pt-bob; returns every reply
    after the 354, QUIT's included."""
    body = (b"From: <tester@client.test>\r\n"
            b"To: <pt-alice@example.test>\r\n"
            b"Subject: " + token.encode() + b"\r\n"
            b"\r\n"
            b"hello" + separator + SMUGGLED)
    end = b"\r\n.\r\n"
    with connect(d) as c:
        c.ehlo()
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == "250 2.1.0 Ok"
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == "250 2.1.5 Ok"
        assert c.cmd("DATA").code == 354
        if mode == "one-write":
            c.send(body + end + b"QUIT\r\n")
        elif mode == "split":
            cut = body.index(separator) + len(separator)
            c.send(body[:cut])
            assert c.nothing_pending(0.15), "a reply before the real end of the data"
            c.send(body[cut:])
            assert c.nothing_pending(0.15), "a reply before the real end of the data"
            c.send(end + b"QUIT\r\n")
        else:
            for i in range(len(body)):
                c.send(body[i:i + 1])
                if i % 8 == 0:
                    time.sleep(0.001)
            assert c.nothing_pending(0.15), "a reply before the real end of the data"
            for byte in end:
                c.send(bytes([byte]))
                time.sleep(0.001)
            c.send(b"QUIT\r\n")
        return read_until_closed(c)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(SEPARATORS))
def test_smuggling_is_refused_by_default(reject_daemon, name, mode):
    d = reject_daemon
    separator, _ = SEPARATORS[name]
    token = unique_token("smuggle-reject")
    before = queued_count(d)
    replies = smuggle(d, separator, mode, token)
    # One reply for the one message, then QUIT's: nothing in between, so
    # nothing after the look-alike was run as a command.
    assert replies == [REJECTED, "221 2.0.0 Bye"], replies
    time.sleep(0.2)
    assert queued_count(d) == before, d.diagnostics(20)
    assert not messages_with(d, "pt-alice", token)
    assert_bob_untouched(d)
    wait_until(lambda: not spool_files(d), 5, what="the refused message's spool file to go")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(SEPARATORS))
def test_smuggling_is_one_message_when_normalizing(normalize_daemon, name, mode):
    d = normalize_daemon
    separator, expected_line = SEPARATORS[name]
    token = unique_token("smuggle-normalize")
    before = queued_count(d)
    replies = smuggle(d, separator, mode, token)
    assert len(replies) == 2 and replies[1] == "221 2.0.0 Bye", replies
    assert replies[0].startswith("250 2.0.0 Ok: queued as "), replies
    wait_until(lambda: queued_count(d) == before + 1, 5, what="one queued line")
    wait_until(lambda: messages_with(d, "pt-alice", token), 10, what="the message for pt-alice")
    time.sleep(0.2)
    assert queued_count(d) == before + 1, d.diagnostics(20)
    found = messages_with(d, "pt-alice", token)
    assert len(found) == 1, found
    _, body = split_message(found[0])
    # The whole smuggled transaction is text of this one message (SMUGGLED
    # ends with CRLF, and the real end adds one more).
    assert body == (expected_line
                    + b"RCPT TO:<pt-bob@example.test>\n"
                    + b"DATA\n"
                    + b"From: <evil@x>\n"
                    + b"Subject: smuggled\n"
                    + b"\n"
                    + b"smuggled body\n"
                    # the CRLF before the real "." is the last line end of
                    # the message; the mbox adds an empty line after it
                    + b"\n"
                    + b"\n"), body
    assert_bob_untouched(d)


@pytest.mark.parametrize("name", list(SEPARATORS))
def test_smuggling_inside_the_header_section_is_refused(reject_daemon, name):
    """The look-alike before the end of the header section: refused as
    well (and not read as an end of headers either)."""
    d = reject_daemon
    separator, _ = SEPARATORS[name]
    token = unique_token("smuggle-hdr")
    before = queued_count(d)
    with connect(d) as c:
        c.ehlo()
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == "250 2.1.0 Ok"
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == "250 2.1.5 Ok"
        assert c.cmd("DATA").code == 354
        c.send(b"Subject: " + token.encode() + separator + SMUGGLED + b"\r\n.\r\nQUIT\r\n")
        assert read_until_closed(c) == [REJECTED, "221 2.0.0 Bye"]
    time.sleep(0.3)
    assert queued_count(d) == before
    assert_bob_untouched(d)


def test_a_clean_message_still_goes_through_both_daemons(reject_daemon, normalize_daemon):
    """The control: the same transaction without a look-alike is queued
    and delivered once by either daemon."""
    for d in (reject_daemon, normalize_daemon):
        token = unique_token("smuggle-control")
        with connect(d) as c:
            c.ehlo()
            final = c.transaction(SENDER, [ALICE], b"Subject: " + token.encode() + b"\r\n\r\nhello\r\n")
            queue_id_of(final)
        wait_until(lambda: messages_with(d, "pt-alice", token), 10, what="the control message")
        assert len(messages_with(d, "pt-alice", token)) == 1


@pytest.mark.parametrize("name", list(SEPARATORS))
def test_bare_line_endings_in_a_bdat_body_are_refused_by_default(reject_daemon, name):
    d = reject_daemon
    separator, _ = SEPARATORS[name]
    token = unique_token("smuggle-bdat")
    body = b"Subject: " + token.encode() + b"\r\n\r\nhello" + separator + SMUGGLED
    before = queued_count(d)
    with connect(d) as c:
        c.ehlo()
        assert c.cmd(f"MAIL FROM:<{SENDER}>").full == "250 2.1.0 Ok"
        assert c.cmd(f"RCPT TO:<{ALICE}>").full == "250 2.1.5 Ok"
        c.send(f"BDAT {len(body)} LAST\r\n".encode() + body + b"QUIT\r\n")
        replies = read_until_closed(c)
    assert_bob_untouched(d)
    assert replies == [REJECTED, "221 2.0.0 Bye"], replies
    time.sleep(0.2)
    assert queued_count(d) == before
