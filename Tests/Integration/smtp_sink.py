"""A scriptable SMTP server on loopback that plays the remote side for the
remote delivery (relay) tests: it takes mail like an MX does, records
everything it was sent, and can be told to refuse, defer, or misbehave.

    with SmtpSink(host="127.0.0.2", port=25,
                  capabilities=("PIPELINING", "SIZE 1000000", "8BITMIME", "DSN", "STARTTLS",
                                "ENHANCEDSTATUSCODES"),
                  tls_cert=pki.cert, tls_key=pki.key,
                  replies={"rcpt": {"bad@example.test": "550 5.1.1 no such user",
                                    "later@example.test": "450 4.2.1 try later"},
                           "data": "451 4.3.0 busy"}) as sink:
        ...                                   # let the relay deliver to 127.0.0.2:25
        [message] = sink.wait_for_messages(1, timeout=10)
        message.mail_from, message.mail_params         # "a@b.test", {"SIZE": "123"}
        message.recipients                             # every RCPT: address, params, reply, accepted
        message.accepted_recipients, message.data      # data after dot-unstuffing (or BDAT chunks joined)
        message.tls, message.tls_version, message.helo
        sink.connections                               # per connection: peer, commands, messages, ...
        sink.messages_per_connection                   # [70, 30]: connection reuse
        sink.transactions                              # refused and abandoned ones too

Everything recorded is read through snapshots taken under a lock, so tests
may look while connections are going on; `wait_for_messages`,
`wait_for_connections` and `wait_for_closed` wait for the sink to catch up,
and fail with every connection's transcript (`describe`). A transaction is
recorded before the reply to its message is sent, so a client that has seen
that reply finds the record there. An exception in the sink itself (a
broken script, say) fails the test when the `with` block ends.

What a stage answers (`replies`, also `set_replies` while running) is, per
stage, one of: a reply text ("550 5.1.1 no such user"; lines separated by
"\\n" for a multi-line reply, sent as given), a `Reply` (text plus closing
the connection afterwards, or a delay before it), or a `Hostile` behaviour.
For "mail" and "rcpt" it may also be {address: answer}; addresses missing
from it get the default. `replies` may instead be a callable taking a
`Request` and returning an answer or None (the default). A 421 reply always
closes the connection, as RFC 5321 has it. The stages: greeting, ehlo,
helo, starttls, mail, rcpt, data_command (the reply to DATA itself), data
(the reply after the message: end of DATA or BDAT LAST), rset, quit.

The hostile servers (a hostile answer replaces one reply; after GARBAGE,
BARE_LF and OVERSIZED_LINE the session goes on as if the normal reply had
been sent):

    SmtpSink(greeting=Hostile.SILENT)                  # accepts the connection, never says a thing
    SmtpSink(greeting=Reply("220 sink.test", close=True))   # closes right after the greeting
    SmtpSink(greeting=Hostile.OVERSIZED_LINE)          # a 10 KB reply line
    SmtpSink(replies={"ehlo": Hostile.ENDLESS_MULTILINE})   # "250-..." lines that never end
    SmtpSink(greeting=Hostile.GARBAGE)                 # bytes that are not SMTP
    SmtpSink(greeting=Hostile.BARE_LF)                 # the reply ends in LF, not CR LF

The sink is also strict where a real server is and a sloppy client would
not notice: MAIL and RCPT parameters of extensions it did not advertise get
555, a non-ASCII address without SMTPUTF8 gets 553, BDAT without CHUNKING
is an unknown command, commands sent after STARTTLS in the same packet are
discarded (and recorded), and only CR LF . CR LF ends DATA.

Also here: `refusing(host, port)`, a loopback address and port where
connections are refused (`with refusing("127.0.0.9", 25) as target:
target.address`). Nothing here listens on or connects to anything but
loopback: a non-loopback address is an AssertionError.
"""

from __future__ import annotations

import dataclasses
import enum
import ipaddress
import select
import socket
import ssl
import threading
import time
import traceback
from collections.abc import Iterable, Mapping
from typing import NoReturn

STAGES = ("greeting", "ehlo", "helo", "starttls", "mail", "rcpt", "data_command", "data", "rset", "quit")
DEFAULT_CAPABILITIES = ("PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES")
ALL_CAPABILITIES = ("PIPELINING", "SIZE 10485760", "8BITMIME", "SMTPUTF8", "DSN", "CHUNKING", "ENHANCEDSTATUSCODES")

OVERSIZED_LINE_LENGTH = 10 * 1024
# An "endless" reply stops somewhere so that a client that never gives up
# cannot make the sink write forever; well past any sane client limit.
ENDLESS_LINES_MAX = 100_000
# NUL, DEL and high bytes, and not a digit: nothing a client could take for
# the start of a reply.
GARBAGE_BYTES = b"\x00\xff\xfe\x7f" + bytes(range(0x80, 0x100)) * 2 + b"\r\n"

COMMAND_LINE_MAX = 4096
MESSAGE_BYTES_MAX = 64 * 1024 * 1024


class Hostile(enum.Enum):
    """Misbehaviour in place of a stage's reply."""

    SILENT = "silent"  # no reply; the connection stays open until the client closes it
    CLOSE = "close"  # the connection is closed without a reply
    OVERSIZED_LINE = "oversized-line"  # the normal reply, its first line 10 KB longer
    ENDLESS_MULTILINE = "endless-multiline"  # "NNN-" continuation lines, never a last line
    GARBAGE = "garbage"  # GARBAGE_BYTES instead of a reply; the session goes on
    BARE_LF = "bare-lf"  # the normal reply with LF line ends instead of CR LF


@dataclasses.dataclass(frozen=True)
class Reply:
    """A reply text, optionally delayed (a slow server, for timeouts) or
    followed by closing the connection."""

    text: str
    close: bool = False
    delay: float = 0.0


Answer = str | Reply | Hostile


@dataclasses.dataclass(frozen=True)
class Recipient:
    address: str
    params: dict[str, str | None]
    reply: str
    accepted: bool


@dataclasses.dataclass(frozen=True)
class Transaction:
    """One mail transaction: from an accepted MAIL to its end (the reply
    after the message, RSET, a new EHLO, or the connection closing)."""

    connection: int  # Connection.id
    index: int  # 1 for the connection's first transaction
    helo: str | None
    esmtp: bool
    tls: bool
    tls_version: str | None
    mail_from: str
    mail_params: dict[str, str | None]
    recipients: tuple[Recipient, ...]
    method: str | None  # "DATA", "BDAT", or None when no message was sent
    data: bytes | None  # after dot-unstuffing, or the BDAT chunks joined
    raw_data: bytes | None  # as on the wire, without the final ".\r\n"
    chunks: tuple[int, ...]  # BDAT chunk sizes
    reply: str | None  # the reply after the message; None if none was sent

    @property
    def accepted(self) -> bool:
        """The message was taken: a 2xx reply after it."""
        return self.reply is not None and self.reply.startswith("2")

    @property
    def accepted_recipients(self) -> list[str]:
        return [r.address for r in self.recipients if r.accepted]


@dataclasses.dataclass(frozen=True)
class Connection:
    """A snapshot of one connection."""

    id: int  # 1, 2, ... in the order of accepting
    peer: tuple  # the client's (address, port)
    local: tuple  # the sink's (address, port)
    helo: str | None  # the last EHLO/HELO name (forgotten by STARTTLS)
    esmtp: bool  # greeted with EHLO
    tls: bool
    tls_version: str | None  # "TLSv1.3", ...
    tls_error: str | None  # the handshake failed
    commands: tuple[str, ...]  # every command line, without CR LF
    transcript: tuple[str, ...]  # "C: ..." and "S: ..." lines, message data summarised
    messages: int  # accepted messages
    transactions: int
    pipelined: bool  # a command came before the reply to the one before it
    bare_lf_commands: bool  # a command line ended in LF alone
    plaintext_after_starttls: bytes  # what came after STARTTLS in the clear (discarded)
    closed: bool
    closed_by: str | None  # "client" or "server"


@dataclasses.dataclass(frozen=True)
class Request:
    """What a `replies` callable is asked about: the stage, its argument
    (the address for mail and rcpt, the name for ehlo and helo, else ""),
    the connection and the transaction so far (with data for "data")."""

    stage: str
    argument: str
    connection: Connection
    transaction: Transaction | None


def _check_loopback(host: str) -> None:
    assert ipaddress.ip_address(host).is_loopback, f"{host} is not a loopback address: tests stay on loopback"


def _check_answer(stage: str, answer) -> None:
    if stage in ("mail", "rcpt") and isinstance(answer, Mapping):
        for value in answer.values():
            _check_answer("", value)
        return
    assert isinstance(answer, (str, Reply, Hostile)), f"{stage}: {answer!r} is not a reply"


def _check_replies(replies) -> None:
    if replies is None or callable(replies):
        return
    assert isinstance(replies, Mapping), f"replies must be a dict or a callable, not {replies!r}"
    for stage, answer in replies.items():
        assert stage in STAGES, f"unknown stage {stage!r} (stages: {', '.join(STAGES)})"
        _check_answer(stage, answer)


def _code(text: str) -> int | None:
    return int(text[:3]) if len(text) >= 3 and text[:3].isdigit() else None


class SmtpSink:
    """A threaded SMTP server on a loopback address; see the module comment.

    host, port:       where to listen (port 0: any free port; `sink.port`)
    hostname:         the name in the greeting and the EHLO reply
    capabilities:     EHLO keywords, advertised in this order; SIZE with a
                      number is enforced, STARTTLS needs tls_cert and tls_key
                      (or tls_context)
    reject_ehlo:      answer EHLO with 500, so the client must use HELO
    replies:          the script (module comment)
    greeting:         the greeting's answer (shorthand for replies["greeting"])
    max_recipients:   RCPTs past this many accepted ones get 452 4.5.3
    idle_timeout:     seconds of client silence before the sink says 421 and
                      closes (not while it is itself hostile and silent)
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        hostname: str = "sink.test",
        capabilities: Iterable[str] = DEFAULT_CAPABILITIES,
        tls_cert=None,
        tls_key=None,
        tls_context: ssl.SSLContext | None = None,
        reject_ehlo: bool = False,
        replies=None,
        greeting: Answer | None = None,
        max_recipients: int | None = None,
        idle_timeout: float = 30.0,
    ):
        _check_loopback(host)
        self.host = host
        self.requested_port = port
        self.port: int | None = None
        self.hostname = hostname
        self.capabilities = tuple(capabilities)
        self.keywords = {c.split(" ", 1)[0].upper() for c in self.capabilities}
        self.size_limit: int | None = None
        for capability in self.capabilities:
            words = capability.split()
            if words[0].upper() == "SIZE" and len(words) > 1 and int(words[1]) > 0:
                self.size_limit = int(words[1])
        if tls_context is None and tls_cert is not None:
            tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls_context.load_cert_chain(str(tls_cert), str(tls_key))
        self.tls_context = tls_context
        assert "STARTTLS" not in self.keywords or tls_context is not None, "STARTTLS needs tls_cert and tls_key"
        self.reject_ehlo = reject_ehlo
        _check_replies(replies)
        if greeting is not None:
            _check_answer("greeting", greeting)
            assert not (isinstance(replies, Mapping) and "greeting" in replies), "greeting given twice"
        self._replies = replies
        self._greeting = greeting
        self.max_recipients = max_recipients
        self.idle_timeout = idle_timeout

        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._sessions: list[_Session] = []
        self._transactions: list[Transaction] = []
        self._errors: list[str] = []

    # ------------------------------------------------------------ life

    def start(self) -> "SmtpSink":
        assert self._listener is None and not self._stopping.is_set(), "a sink starts once"
        family = socket.AF_INET6 if ipaddress.ip_address(self.host).version == 6 else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self.host, self.requested_port))
            listener.listen(64)
        except OSError:
            listener.close()
            raise
        # `stop` wakes the accept loop by shutting the listener down; the
        # timeout is only a safety net.
        listener.settimeout(1.0)
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._accept_thread = threading.Thread(target=self._accept_loop, name=f"sink-{self.port}", daemon=True)
        self._accept_thread.start()
        return self

    def stop(self) -> None:
        """Closes the listener and every connection, and waits for the
        threads."""
        self._stopping.set()
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._accept_thread is not None:
            self._accept_thread.join(timeout=5)
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            sessions = list(self._sessions)
        for session in sessions:
            session.interrupt()
        for session in sessions:
            session.thread.join(timeout=5)

    def __enter__(self) -> "SmtpSink":
        return self.start()

    def __exit__(self, exc_type, exc, tb) -> None:
        self.stop()
        if exc_type is None and self._errors:
            raise AssertionError("the SMTP sink failed:\n" + "\n".join(self._errors))

    @property
    def address(self) -> tuple[str, int]:
        assert self.port is not None, "not started"
        return self.host, self.port

    def set_replies(self, replies) -> None:
        """Replaces the script; connections already open use the new one
        from their next command on."""
        _check_replies(replies)
        with self._lock:
            self._replies = replies

    # ------------------------------------------------------------ records

    @property
    def connections(self) -> list[Connection]:
        with self._lock:
            return [s.snapshot() for s in self._sessions]

    @property
    def connection_count(self) -> int:
        with self._lock:
            return len(self._sessions)

    @property
    def transactions(self) -> list[Transaction]:
        """Every transaction that has ended, accepted or not, in order."""
        with self._lock:
            return list(self._transactions)

    @property
    def messages(self) -> list[Transaction]:
        """The transactions whose message was accepted (2xx), in order."""
        with self._lock:
            return [t for t in self._transactions if t.accepted]

    @property
    def messages_per_connection(self) -> list[int]:
        """Accepted messages on each connection, in connection order."""
        with self._lock:
            return [s.messages for s in self._sessions]

    @property
    def errors(self) -> list[str]:
        """Tracebacks of failures in the sink itself (never the client's)."""
        with self._lock:
            return list(self._errors)

    def wait_for_messages(self, n: int, timeout: float = 10.0) -> list[Transaction]:
        """The accepted messages once there are at least `n`; AssertionError
        with what did happen when `timeout` passes first."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.messages) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.messages)} of {n} messages arrived in {timeout}s\n"
                                         + self.describe())
                self._changed.wait(left)
            return self.messages

    def wait_for_connections(self, n: int, timeout: float = 10.0) -> list[Connection]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._sessions) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self._sessions)} of {n} connections in {timeout}s\n"
                                         + self.describe())
                self._changed.wait(left)
            return self.connections

    def wait_for_closed(self, timeout: float = 10.0) -> list[Connection]:
        """Every connection so far, once all of them are closed."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not all(s.closed for s in self._sessions):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"connections still open after {timeout}s\n" + self.describe())
                self._changed.wait(left)
            return self.connections

    def describe(self, transcript_lines: int = 40) -> str:
        """The end of every connection's transcript, for failure messages."""
        out = []
        for c in self.connections:
            out.append(f"connection {c.id} from {c.peer[0]}:{c.peer[1]} ({c.messages} messages"
                       f"{', closed by ' + c.closed_by if c.closed_by else ''}):")
            out += [f"  {line[:200]}" for line in c.transcript[-transcript_lines:]]
        return "\n".join(out) or "no connections"

    # ------------------------------------------------------------ internals

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                sock, peer = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                if not self._stopping.is_set():
                    self._record_error(f"accepting on {self.host}:{self.port}:\n{traceback.format_exc()}")
                return
            with self._lock:
                session = _Session(self, len(self._sessions) + 1, sock, peer)
                self._sessions.append(session)
                self._changed.notify_all()
            session.thread.start()

    def _answer_for(self, stage: str, argument: str, session: "_Session",
                    transaction: Transaction | None) -> Answer | None:
        if stage == "greeting" and self._greeting is not None:
            return self._greeting
        with self._lock:
            replies = self._replies
        if replies is None:
            return None
        if callable(replies):
            answer = replies(Request(stage, argument, session.snapshot(), transaction))
            if answer is not None:
                _check_answer("", answer)
            return answer
        answer = replies.get(stage)
        if isinstance(answer, Mapping):
            lowered = {key.lower(): value for key, value in answer.items()}
            answer = lowered.get(argument.lower())
        return answer

    def _record_transaction(self, transaction: Transaction) -> None:
        with self._changed:
            self._transactions.append(transaction)
            self._changed.notify_all()

    def _record_error(self, text: str) -> None:
        with self._lock:
            self._errors.append(text)

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()


# ------------------------------------------------------------------ one connection


class _SessionEnd(Exception):
    """The session is over (the sink or the client closed it)."""


class _LineTooLong(Exception):
    pass


class _Reader:
    """Buffered reads from a socket, by line or by count."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buffer = bytearray()

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        if not chunk:
            return False
        self.buffer += chunk
        return True

    def piece(self, limit: int) -> bytes | None:
        """Up to and including the next LF, or `limit` bytes when no LF comes
        within them; None at the end of the stream."""
        while True:
            end = self.buffer.find(b"\n", 0, limit)
            if end >= 0:
                return self._take(end + 1)
            if len(self.buffer) >= limit:
                return self._take(limit)
            if not self._fill():
                return None

    def line(self, limit: int) -> bytes | None:
        piece = self.piece(limit + 1)
        if piece is not None and not piece.endswith(b"\n"):
            raise _LineTooLong()
        return piece

    def exactly(self, n: int) -> bytes | None:
        while len(self.buffer) < n:
            if not self._fill():
                return None
        return self._take(n)

    def pending(self) -> bool:
        """Bytes are waiting that the client sent before our next reply."""
        if self.buffer:
            return True
        if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending() > 0:
            return True
        readable, _, _ = select.select([self.sock], [], [], 0)
        if not readable:
            return False
        if isinstance(self.sock, ssl.SSLSocket):
            return True  # no peeking through TLS; readable is the best we know
        # Readable at the end of the stream too: only bytes count.
        return bool(self.sock.recv(1, socket.MSG_PEEK))

    def drain(self) -> bytes:
        data = bytes(self.buffer)
        self.buffer.clear()
        return data

    def _take(self, n: int) -> bytes:
        data = bytes(self.buffer[:n])
        del self.buffer[:n]
        return data


class _Transaction:
    """A transaction being built."""

    def __init__(self, mail_from: str, params: dict[str, str | None]):
        self.mail_from = mail_from
        self.params = params
        self.recipients: list[Recipient] = []
        self.chunks: list[bytes] = []
        self.too_big = False  # a BDAT chunk went past MESSAGE_BYTES_MAX and was dropped

    def accepted_count(self) -> int:
        return sum(1 for r in self.recipients if r.accepted)


def _parse_path(rest: str, prefix: str) -> tuple[str, dict[str, str | None]] | None:
    """("address", {PARAM: value}) from "FROM:<a@b> SIZE=10", or None when
    it does not parse. The address is what is between the brackets."""
    if not rest[: len(prefix)].upper() == prefix:
        return None
    rest = rest[len(prefix):].lstrip(" ")
    if not rest.startswith("<"):
        return None
    quoted = False
    for index in range(1, len(rest)):
        char = rest[index]
        if char == '"' and rest[index - 1] != "\\":
            quoted = not quoted
        elif char == ">" and not quoted:
            address, tail = rest[1:index], rest[index + 1:]
            break
    else:
        return None
    if tail and not tail.startswith(" "):
        return None
    params: dict[str, str | None] = {}
    for word in tail.split():
        key, sep, value = word.partition("=")
        if not key or (sep and not value):
            return None
        params[key.upper()] = value if sep else None
    return address, params


class _Session:
    def __init__(self, sink: SmtpSink, number: int, sock: socket.socket, peer):
        self.sink = sink
        self.id = number
        self.sock = sock
        self.peer = tuple(peer[:2])
        # The address the client connected to: the listener's, whatever
        # happens to the connection later.
        self.local = (sink.host, sink.port)
        self.reader = _Reader(sock)
        self.thread = threading.Thread(target=self.run, name=f"sink-{sink.port}-{number}", daemon=True)
        self.helo: str | None = None
        self.esmtp = False
        self.tls = False
        self.tls_version: str | None = None
        self.tls_error: str | None = None
        self.commands: list[str] = []
        self.transcript: list[str] = []
        self.messages = 0
        self.transactions = 0
        self.pipelined = False
        self.bare_lf_commands = False
        self.plaintext_after_starttls = b""
        self.closed = False
        self.closed_by: str | None = None
        self.transaction: _Transaction | None = None

    # ------------------------------------------------------------ records

    def snapshot(self) -> Connection:
        with self.sink._lock:
            return Connection(
                id=self.id, peer=self.peer, local=self.local, helo=self.helo, esmtp=self.esmtp, tls=self.tls,
                tls_version=self.tls_version, tls_error=self.tls_error, commands=tuple(self.commands),
                transcript=tuple(self.transcript), messages=self.messages, transactions=self.transactions,
                pipelined=self.pipelined, bare_lf_commands=self.bare_lf_commands,
                plaintext_after_starttls=self.plaintext_after_starttls, closed=self.closed,
                closed_by=self.closed_by)

    def transaction_snapshot(self, method=None, data=None, raw=None, reply=None) -> Transaction | None:
        t = self.transaction
        if t is None:
            return None
        return Transaction(
            connection=self.id, index=self.transactions + 1, helo=self.helo, esmtp=self.esmtp, tls=self.tls,
            tls_version=self.tls_version, mail_from=t.mail_from, mail_params=dict(t.params),
            recipients=tuple(t.recipients), method=method, data=data, raw_data=raw,
            chunks=tuple(len(c) for c in t.chunks), reply=reply)

    def _log(self, line: str) -> None:
        with self.sink._lock:
            self.transcript.append(line)

    def _end_transaction(self, method=None, data=None, raw=None, reply=None) -> None:
        """Records the transaction (complete or abandoned) and forgets it."""
        record = self.transaction_snapshot(method, data, raw, reply)
        if record is None:
            return
        with self.sink._lock:
            self.transaction = None
            self.transactions += 1
            if record.accepted:
                self.messages += 1
        self.sink._record_transaction(record)

    # ------------------------------------------------------------ the loop

    def run(self) -> None:
        try:
            self.sock.settimeout(self.sink.idle_timeout)
            self._answer("greeting", "", f"220 {self.sink.hostname} ESMTP postern test sink")
            while not self.sink._stopping.is_set():
                self._next_command()
        except _SessionEnd:
            pass
        except TimeoutError:
            self._send_quietly(b"421 4.4.2 idle timeout, closing\r\n")
            self._closed_by("server")
        except OSError:
            self._closed_by("client")
        except Exception:
            self.sink._record_error(f"connection {self.id}:\n{traceback.format_exc()}")
        finally:
            self._end_transaction()
            try:
                self.sock.close()
            except OSError:
                pass
            with self.sink._lock:
                self.closed = True
            self.sink._notify()

    def interrupt(self) -> None:
        """Wakes a thread blocked on this connection (the sink is stopping)."""
        self._closed_by("server")
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _closed_by(self, who: str) -> None:
        with self.sink._lock:
            if self.closed_by is None:
                self.closed_by = who

    def _next_command(self) -> None:
        try:
            raw = self.reader.line(COMMAND_LINE_MAX)
        except _LineTooLong:
            self._log(f"C: <a line of more than {COMMAND_LINE_MAX} bytes>")
            self._send_lines(["500 5.5.2 line too long"])
            self._close()
        if raw is None:
            self._closed_by("client")
            raise _SessionEnd()
        line = raw.rstrip(b"\n")
        bare_lf = not line.endswith(b"\r")
        text = (line if bare_lf else line[:-1]).decode("utf-8", errors="replace")
        verb, _, rest = text.partition(" ")
        # A BDAT chunk follows its command at once, and after QUIT nothing
        # matters; anything else already waiting was sent before our reply.
        pipelined = verb.upper() not in ("BDAT", "QUIT") and self.reader.pending()
        with self.sink._lock:
            self.commands.append(text)
            self.transcript.append(f"C: {text}")
            self.pipelined = self.pipelined or pipelined
            self.bare_lf_commands = self.bare_lf_commands or bare_lf
        handler = {
            "EHLO": self._ehlo, "HELO": self._helo, "STARTTLS": self._starttls, "MAIL": self._mail,
            "RCPT": self._rcpt, "DATA": self._data, "BDAT": self._bdat, "RSET": self._rset, "NOOP": self._noop,
            "QUIT": self._quit, "VRFY": self._vrfy, "HELP": self._help,
        }.get(verb.upper())
        if handler is None or (verb.upper() == "BDAT" and "CHUNKING" not in self.sink.keywords):
            self._send_lines([self._status(500, "5.5.2", "command unrecognized")])
            return
        handler(rest)

    # ------------------------------------------------------------ replies

    def _enhanced(self) -> bool:
        return self.esmtp and "ENHANCEDSTATUSCODES" in self.sink.keywords

    def _status(self, code: int, enhanced: str, text: str) -> str:
        return f"{code} {enhanced} {text}" if self._enhanced() else f"{code} {text}"

    def _answer(self, stage: str, argument: str, default: str) -> tuple[int | None, str]:
        """Sends the script's answer for `stage`, or `default`; returns the
        reply code the client got (None for garbage) and the text."""
        return self._perform(self._resolve(stage, argument, default, self.transaction_snapshot()), default)

    def _resolve(self, stage: str, argument: str, default: str, transaction: Transaction | None) -> Reply | Hostile:
        answer = self.sink._answer_for(stage, argument, self, transaction)
        if answer is None:
            answer = default
        return Reply(answer) if isinstance(answer, str) else answer

    @staticmethod
    def _expected(answer: Reply | Hostile, default: str) -> tuple[int | None, str]:
        """The code and text `_perform` will send (None: no reply)."""
        if isinstance(answer, Reply):
            return _code(answer.text), answer.text
        if answer in (Hostile.BARE_LF, Hostile.OVERSIZED_LINE):
            return _code(default), default
        return None, ""

    def _perform(self, answer: Reply | Hostile, default: str) -> tuple[int | None, str]:
        if isinstance(answer, Hostile):
            return self._hostile(answer, default)
        if answer.delay and self.sink._stopping.wait(answer.delay):
            raise _SessionEnd()
        lines = [line.rstrip("\r") for line in answer.text.split("\n")]
        self._send_lines(lines)
        code = _code(answer.text)
        if answer.close or code == 421:
            self._close()
        return code, answer.text

    def _hostile(self, kind: Hostile, default: str) -> tuple[int | None, str]:
        lines = default.split("\n")
        code = _code(default)
        if kind is Hostile.CLOSE:
            self._log("S: <closes the connection>")
            self._close()
        if kind is Hostile.SILENT:
            self._log("S: <silent>")
            self._silent()
        if kind is Hostile.GARBAGE:
            self._send(GARBAGE_BYTES, "S: <garbage>")
            return None, ""
        if kind is Hostile.BARE_LF:
            self._send("".join(line + "\n" for line in lines).encode(), f"S: {lines[0]} <LF>")
            return code, default
        if kind is Hostile.OVERSIZED_LINE:
            lines[0] += " " + "x" * OVERSIZED_LINE_LENGTH
            self._send_lines(lines)
            return code, default
        assert kind is Hostile.ENDLESS_MULTILINE
        self._log(f"S: <endless {code}- lines>")
        batch = "".join(f"{code}-endless reply line {i:04d} from a server that never ends its reply\r\n"
                        for i in range(100)).encode()
        for _ in range(ENDLESS_LINES_MAX // 100):
            if self.sink._stopping.is_set():
                raise _SessionEnd()
            self.sock.sendall(batch)
        self._silent()

    def _silent(self) -> NoReturn:
        """Says nothing more; reads (and logs the size of) whatever comes
        until the client closes or the sink stops."""
        self.sock.settimeout(None)
        while True:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                self._closed_by("client")
                raise _SessionEnd()
            self._log(f"C: <{len(chunk)} bytes while silent>")

    def _send_lines(self, lines: list[str]) -> None:
        data = "".join(line + "\r\n" for line in lines).encode("utf-8")
        with self.sink._lock:
            for line in lines:
                self.transcript.append(f"S: {line if len(line) <= 300 else line[:300] + '...'}")
        self.sock.sendall(data)

    def _send(self, data: bytes, log: str) -> None:
        self._log(log)
        self.sock.sendall(data)

    def _send_quietly(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError:
            pass

    def _close(self) -> NoReturn:
        self._closed_by("server")
        raise _SessionEnd()

    # ------------------------------------------------------------ commands

    def _ehlo(self, rest: str) -> None:
        name = rest.strip()
        if not name:
            self._send_lines(["501 5.5.4 EHLO needs a name" if self._enhanced() else "501 EHLO needs a name"])
            return
        if self.sink.reject_ehlo:
            default = "500 command unrecognized"
        else:
            keywords = [c for c in self.sink.capabilities if c.split(" ", 1)[0].upper() != "STARTTLS" or not self.tls]
            lines = [f"{self.sink.hostname} greets {name}", *keywords]
            default = "\n".join(f"250{'-' if i < len(lines) - 1 else ' '}{line}" for i, line in enumerate(lines))
        code, _ = self._answer("ehlo", name, default)
        if code is not None and 200 <= code < 300:
            self._end_transaction()
            with self.sink._lock:
                self.helo, self.esmtp = name, True

    def _helo(self, rest: str) -> None:
        name = rest.strip()
        if not name:
            self._send_lines(["501 HELO needs a name"])
            return
        code, _ = self._answer("helo", name, f"250 {self.sink.hostname}")
        if code is not None and 200 <= code < 300:
            self._end_transaction()
            with self.sink._lock:
                self.helo, self.esmtp = name, False

    def _starttls(self, rest: str) -> None:
        if "STARTTLS" not in self.sink.keywords or self.tls:
            if self.tls:
                self._send_lines([self._status(503, "5.5.1", "TLS already active")])
            else:
                self._send_lines([self._status(500, "5.5.2", "command unrecognized")])
            return
        if rest.strip():
            self._send_lines([self._status(501, "5.5.4", "STARTTLS takes no parameters")])
            return
        if not self.esmtp or self.transaction is not None:
            self._send_lines([self._status(503, "5.5.1", "EHLO first, and not in a transaction")])
            return
        code, _ = self._answer("starttls", "", self._status(220, "2.0.0", "ready to start TLS"))
        if code != 220:
            return
        # Whatever came with STARTTLS in the clear must not count as sent
        # over TLS (CVE-2011-0411): discard it, and keep it for the tests.
        leftover = self.reader.drain()
        assert self.sink.tls_context is not None
        tls_sock = self.sink.tls_context.wrap_socket(self.sock, server_side=True, do_handshake_on_connect=False)
        self.sock = tls_sock
        self.reader = _Reader(tls_sock)
        try:
            tls_sock.do_handshake()
        except (ssl.SSLError, OSError) as e:
            with self.sink._lock:
                self.plaintext_after_starttls += leftover
                self.tls_error = str(e)
            self._log(f"S: <TLS handshake failed: {e}>")
            self._close()
        with self.sink._lock:
            self.plaintext_after_starttls += leftover
            self.tls, self.tls_version = True, tls_sock.version()
            self.helo, self.esmtp = None, False
        self._log(f"S: <TLS established: {self.tls_version}>")

    def _check_params(self, params: dict[str, str | None], allowed: dict[str, str]) -> str | None:
        """The error reply for a parameter not allowed (not advertised, or
        not in EHLO mode) or with a bad value; None when all are fine."""
        for key, value in params.items():
            needed = allowed.get(key)
            if needed is None or not self.esmtp or needed not in self.sink.keywords:
                return self._status(555, "5.5.4", f"{key} parameter not recognized")
            if key == "SIZE" and not (value or "").isdigit():
                return self._status(501, "5.5.4", "bad SIZE value")
            if key == "BODY" and (value or "").upper() not in ("7BIT", "8BITMIME"):
                return self._status(501, "5.5.4", "bad BODY value")
            if key == "SMTPUTF8" and value is not None:
                return self._status(501, "5.5.4", "SMTPUTF8 takes no value")
            if key == "RET" and (value or "").upper() not in ("FULL", "HDRS"):
                return self._status(501, "5.5.4", "bad RET value")
            if key == "NOTIFY":
                words = (value or "").upper().split(",")
                if not set(words) <= {"NEVER", "SUCCESS", "FAILURE", "DELAY"} or ("NEVER" in words and len(words) > 1):
                    return self._status(501, "5.5.4", "bad NOTIFY value")
            if key in ("ENVID", "ORCPT") and not value:
                return self._status(501, "5.5.4", f"{key} needs a value")
        return None

    def _mail(self, rest: str) -> None:
        if self.helo is None:
            self._send_lines([self._status(503, "5.5.1", "send EHLO or HELO first")])
            return
        if self.transaction is not None:
            self._send_lines([self._status(503, "5.5.1", "nested MAIL command")])
            return
        parsed = _parse_path(rest, "FROM:")
        if parsed is None:
            self._send_lines([self._status(501, "5.5.4", "syntax: MAIL FROM:<address>")])
            return
        address, params = parsed
        allowed = {"SIZE": "SIZE", "BODY": "8BITMIME", "SMTPUTF8": "SMTPUTF8", "RET": "DSN", "ENVID": "DSN"}
        error = self._check_params(params, allowed)
        if error is None and not address.isascii() and "SMTPUTF8" not in params:
            error = self._status(553, "5.6.7", "non-ASCII address without SMTPUTF8")
        limit = self.sink.size_limit
        if error is None and limit is not None and int(params.get("SIZE") or 0) > limit:
            error = self._status(552, "5.3.4", f"message size exceeds {limit}")
        if error is not None:
            self._send_lines([error])
            return
        code, _ = self._answer("mail", address, self._status(250, "2.1.0", "sender ok"))
        if code is not None and 200 <= code < 300:
            with self.sink._lock:
                self.transaction = _Transaction(address, params)

    def _rcpt(self, rest: str) -> None:
        t = self.transaction
        if t is None:
            self._send_lines([self._status(503, "5.5.1", "need MAIL first")])
            return
        parsed = _parse_path(rest, "TO:")
        if parsed is None or not parsed[0]:
            self._send_lines([self._status(501, "5.5.4", "syntax: RCPT TO:<address>")])
            return
        address, params = parsed
        error = self._check_params(params, {"NOTIFY": "DSN", "ORCPT": "DSN"})
        if error is None and not address.isascii() and "SMTPUTF8" not in t.params:
            error = self._status(553, "5.6.7", "non-ASCII address without SMTPUTF8")
        if error is None and self.sink.max_recipients is not None and t.accepted_count() >= self.sink.max_recipients:
            error = self._status(452, "4.5.3", "too many recipients")
        if error is not None:
            self._send_lines([error])
            code, text = _code(error), error
        else:
            code, text = self._answer("rcpt", address, self._status(250, "2.1.5", "recipient ok"))
        accepted = code is not None and 200 <= code < 300
        with self.sink._lock:
            t.recipients.append(Recipient(address, params, text, accepted))

    def _message_allowed(self) -> str | None:
        """The error reply when DATA or BDAT may not start now."""
        if self.transaction is None:
            return self._status(503, "5.5.1", "need MAIL first")
        if not self.transaction.accepted_count():
            return self._status(554, "5.5.1", "no valid recipients")
        return None

    def _finish_message(self, method: str, data: bytes, raw: bytes, too_big: bool) -> None:
        """The reply after a message (size check, then the script), and the
        record of its transaction."""
        self._log(f"C: <{len(data)} bytes of message by {method}>")
        limit = self.sink.size_limit
        if too_big or (limit is not None and len(data) > limit):
            error = self._status(552, "5.3.4", "message too big")
            self._end_transaction(method, data, raw, error)
            self._send_lines([error])
            return
        default = self._status(250, "2.0.0", f"ok: queued as {self.id}.{self.transactions + 1}")
        answer = self._resolve("data", "", default, self.transaction_snapshot(method, data, raw))
        # Recorded before the reply goes out, as a server commits a message
        # before it says so: a test that has seen the reply sees the record.
        code, text = self._expected(answer, default)
        self._end_transaction(method, data, raw, text if code is not None else None)
        self._perform(answer, default)

    def _data(self, rest: str) -> None:
        error = self._message_allowed()
        if error is None and self.transaction is not None and self.transaction.chunks:
            error = self._status(503, "5.5.1", "DATA after BDAT")
        if error is None and rest.strip():
            error = self._status(501, "5.5.4", "DATA takes no parameters")
        if error is not None:
            self._send_lines([error])
            return
        code, _ = self._answer("data_command", "", "354 end data with <CR><LF>.<CR><LF>")
        if code != 354:
            return
        raw, data = bytearray(), bytearray()
        at_line_start, too_big = True, False
        while True:
            piece = self.reader.piece(1 << 20)
            if piece is None:
                self._closed_by("client")
                raise _SessionEnd()
            # Only CR LF . CR LF ends the message: a "." line after a bare LF
            # is data (what SMTP smuggling relies on a server to get wrong).
            if at_line_start and piece == b".\r\n":
                break
            if len(raw) + len(piece) > MESSAGE_BYTES_MAX:
                too_big = True
            else:
                raw += piece
                data += piece[1:] if at_line_start and piece.startswith(b".") else piece
            at_line_start = piece.endswith(b"\r\n")
        self._finish_message("DATA", bytes(data), bytes(raw), too_big)

    def _bdat(self, rest: str) -> None:
        words = rest.split()
        last = len(words) == 2 and words[1].upper() == "LAST"
        if not words or len(words) > 2 or not words[0].isdigit() or (len(words) == 2 and not last):
            self._send_lines([self._status(501, "5.5.4", "syntax: BDAT size [LAST]")])
            return
        size = int(words[0])
        # The chunk is read whatever the reply: it is on its way already.
        too_big = size > MESSAGE_BYTES_MAX
        remaining, chunk = size, bytearray()
        while remaining:
            piece = self.reader.exactly(min(remaining, 1 << 20))
            if piece is None:
                self._closed_by("client")
                raise _SessionEnd()
            remaining -= len(piece)
            if not too_big:
                chunk += piece
        with self.sink._lock:
            self.pipelined = self.pipelined or self.reader.pending()
        error = self._message_allowed()
        if error is not None:
            self._send_lines([error])
            # A chunk refused ends the transaction: later chunks get 503.
            self._end_transaction()
            return
        t = self.transaction
        assert t is not None
        with self.sink._lock:
            if too_big or sum(len(c) for c in t.chunks) + len(chunk) > MESSAGE_BYTES_MAX:
                t.too_big = True
            else:
                t.chunks.append(bytes(chunk))
        if not last:
            self._log(f"C: <{size} bytes of chunk>")
            self._send_lines([self._status(250, "2.0.0", f"{size} octets received")])
            return
        data = b"".join(t.chunks)
        self._finish_message("BDAT", data, data, t.too_big)

    def _rset(self, rest: str) -> None:
        code, _ = self._answer("rset", "", self._status(250, "2.0.0", "ok"))
        if code is not None and 200 <= code < 300:
            self._end_transaction()

    def _noop(self, rest: str) -> None:
        self._send_lines([self._status(250, "2.0.0", "ok")])

    def _vrfy(self, rest: str) -> None:
        self._send_lines([self._status(252, "2.5.2", "cannot verify, will try delivery")])

    def _help(self, rest: str) -> None:
        self._send_lines([self._status(214, "2.0.0", "see RFC 5321")])

    def _quit(self, rest: str) -> None:
        self._answer("quit", "", self._status(221, "2.0.0", "bye"))
        self._close()


# ------------------------------------------------------------------ refused connections


class Refusing:
    """A TCP socket bound to a loopback address and port and never
    listening: connections to it are refused (RST), and while it is held
    nothing else can take the port by accident. A context manager."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        _check_loopback(host)
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        # Binds even over TIME_WAIT connections a sink left on this port.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind((host, port))
        except OSError:
            self.sock.close()
            raise
        self.host = host
        self.port: int = self.sock.getsockname()[1]

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "Refusing":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def refusing(host: str = "127.0.0.1", port: int = 0) -> Refusing:
    """A loopback address and port (`.host`, `.port`, `.address`) where
    connections are refused; port 0 picks a free one."""
    return Refusing(host, port)
