"""Raw-socket SMTP helpers for the conformance tests (test_smtp_*.py).

    c = SMTPConn(d.jail.host, d.jail.port, source="127.0.0.5")
    c.greeting                      # Reply(220, ["mail.example.test ESMTP"])
    r = c.cmd("EHLO client.test")   # one command, one reply
    r.code, r.enhanced, r.text      # 250, "", "mail.example.test"
    c.send(b"MAIL FROM:<a@b>\\r\\nRCPT TO:<c@d>\\r\\n")
    c.read_replies(2)               # pipelined replies, in order
    c.wait_closed()                 # True once the server closed the socket

Nothing here hides what goes on the wire: `send` writes exactly the bytes it
is given (no CRLF fixing, no dot-stuffing), so the tests can send bare CR,
bare LF, NUL and smuggling attempts.

Also: writing postern.conf options before a daemon starts, starting a daemon
on such a configuration, reading mboxes (mboxrd) and the spool, counting the
queue's "queued" log lines, and a rotating supply of 127.x source addresses
(so that no client address reaches the per-client connection rate limit).
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import pathlib
import re
import shutil
import socket
import smtplib
import tempfile
import threading
import time

# ------------------------------------------------------------------ replies

ENHANCED = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})$")


class ConnectionClosed(AssertionError):
    """The server closed the connection before a complete reply arrived."""


@dataclasses.dataclass
class Reply:
    code: int
    # Text of every line, without "NNN-" / "NNN ".
    lines: list[str]

    @property
    def enhanced(self) -> str:
        """The RFC 3463 code of the last line, or "" when it has none."""
        first = self.lines[-1].split(" ", 1)[0] if self.lines else ""
        return first if ENHANCED.match(first) else ""

    @property
    def text(self) -> str:
        """The last line after its enhanced code."""
        last = self.lines[-1] if self.lines else ""
        if self.enhanced:
            return last[len(self.enhanced):].lstrip(" ")
        return last

    @property
    def full(self) -> str:
        """"CODE TEXT-OF-LAST-LINE", e.g. "250 2.1.0 Ok"."""
        return f"{self.code} {self.lines[-1]}" if self.lines else str(self.code)

    def __str__(self) -> str:
        return " | ".join(f"{self.code} {line}" for line in self.lines)


def parse_reply_lines(raw_lines: list[bytes]) -> Reply:
    code = None
    texts = []
    for raw in raw_lines:
        line = raw.decode("utf-8", errors="replace")
        assert len(line) >= 3 and line[:3].isdigit(), f"not a reply line: {line!r}"
        assert len(line) == 3 or line[3] in " -", f"not a reply line: {line!r}"
        if code is None:
            code = int(line[:3])
        assert int(line[:3]) == code, f"code changes inside a reply: {raw_lines!r}"
        texts.append(line[4:])
    return Reply(code, texts)


# --------------------------------------------------------------- connection


class SMTPConn:
    """One client connection, raw. The greeting is read on connect (pass
    read_greeting=False to read it yourself)."""

    def __init__(self, host: str, port: int, source: str | None = None, timeout: float = 15,
                 read_greeting: bool = True):
        self.timeout = timeout
        self.sock = socket.create_connection(
            (host, port), timeout=timeout, source_address=(source, 0) if source else None)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""
        self.eof = False
        self.greeting: Reply | None = self.read_reply() if read_greeting else None

    # ---- I/O

    def send(self, data: bytes | str) -> None:
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self, deadline: float) -> bool:
        """Reads more into the buffer; False at EOF."""
        if self.eof:
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no complete reply in time; buffered {self.buffer!r}")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        except socket.timeout:
            raise TimeoutError(f"no complete reply in time; buffered {self.buffer!r}") from None
        if not chunk:
            self.eof = True
            return False
        self.buffer += chunk
        return True

    def read_line(self, timeout: float | None = None) -> bytes:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while b"\r\n" not in self.buffer:
            if not self._fill(deadline):
                raise ConnectionClosed(f"connection closed; buffered {self.buffer!r}")
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def read_reply(self, timeout: float | None = None) -> Reply:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        lines = []
        while True:
            line = self.read_line(max(0.001, deadline - time.monotonic()))
            lines.append(line)
            if len(line) == 3 or (len(line) > 3 and line[3:4] == b" "):
                return parse_reply_lines(lines)

    def read_replies(self, count: int, timeout: float | None = None) -> list[Reply]:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        return [self.read_reply(max(0.001, deadline - time.monotonic())) for _ in range(count)]

    def cmd(self, line: str | bytes, timeout: float | None = None) -> Reply:
        """Sends one command line (CRLF added) and reads its reply."""
        if isinstance(line, str):
            line = line.encode()
        self.send(line + b"\r\n")
        return self.read_reply(timeout)

    def nothing_pending(self, wait: float = 0.5) -> bool:
        """True when no byte arrives within `wait` seconds (and the
        connection stays open)."""
        if self.buffer or self.eof:
            return False
        try:
            self._fill(time.monotonic() + wait)
        except TimeoutError:
            return True
        return False  # data or EOF arrived

    def wait_closed(self, timeout: float = 5) -> bool:
        """Reads until EOF (bytes that arrive meanwhile stay in the buffer);
        True if the server closed the connection within `timeout`."""
        deadline = time.monotonic() + timeout
        try:
            while self._fill(deadline):
                pass
        except TimeoutError:
            return False
        return True

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> "SMTPConn":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- conveniences

    def ehlo(self, name: str = "client.test") -> Reply:
        r = self.cmd(f"EHLO {name}")
        assert r.code == 250, str(r)
        return r

    def transaction(self, sender: str, rcpts: list[str], message: bytes | str,
                    mail_params: str = "", expect_data: int = 250) -> Reply:
        """MAIL, each RCPT, DATA and the message (dot-stuffed here, and
        terminated); asserts 250/250.../354 and returns the final reply."""
        if isinstance(message, str):
            message = message.encode()
        r = self.cmd(f"MAIL FROM:<{sender}>{(' ' + mail_params) if mail_params else ''}")
        assert r.full.startswith("250 2.1.0"), str(r)
        for rcpt in rcpts:
            r = self.cmd(f"RCPT TO:<{rcpt}>")
            assert r.full.startswith("250 2.1.5"), f"{rcpt}: {r}"
        r = self.cmd("DATA")
        assert r.code == 354, str(r)
        self.send(dot_stuff(message) + b".\r\n")
        final = self.read_reply()
        assert final.code == expect_data, str(final)
        return final


def dot_stuff(message: bytes) -> bytes:
    """RFC 5321 §4.5.2 transparency for a CRLF message, with a final CRLF."""
    if not message.endswith(b"\r\n"):
        message += b"\r\n"
    lines = message.split(b"\r\n")
    return b"\r\n".join((b"." + line) if line.startswith(b".") else line for line in lines)


QUEUED = re.compile(r"^Ok: queued as ([0-9A-Z]{12})$")


def queue_id_of(reply: Reply) -> str:
    m = QUEUED.match(reply.text)
    assert reply.code == 250 and reply.enhanced == "2.0.0" and m, f"not a queued reply: {reply}"
    return m.group(1)


# ------------------------------------------------------------ source addresses

_sources = itertools.cycle([f"127.0.{a}.{b}" for a in range(10, 20) for b in range(1, 255)])
_sources_lock = threading.Lock()


def next_source() -> str:
    """A fresh 127.x client address each call (2,540 before one repeats), so
    that a daemon's per-client rate limit never hits a test by accident."""
    with _sources_lock:
        return next(_sources)


# ------------------------------------------------------------ configuration


def set_options(config: pathlib.Path | str, options: dict[str, object]) -> None:
    """Sets `name = value` lines in postern.conf: an existing line for the
    option (names compare case-insensitively) is replaced, otherwise the
    line is appended."""
    path = pathlib.Path(config)
    lines = path.read_text().splitlines()
    pending = {name.lower(): (name, value) for name, value in options.items()}
    out = []
    for line in lines:
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and "=" in stripped:
            key = stripped.split("=", 1)[0].strip().lower()
            if key in pending:
                name, value = pending.pop(key)
                out.append(f"{name} = {value}")
                continue
        out.append(line)
    for name, value in pending.values():
        out.append(f"{name} = {value}")
    path.write_text("\n".join(out) + "\n")


def start_configured(start_daemon, options: dict[str, object] | None = None, access: str | None = None,
                     **jail_kwargs):
    """A daemon (from the start_daemon fixture) whose postern.conf got
    `options` (and whose access map got `access`) before it started."""
    d = start_daemon(start=False, **jail_kwargs)
    if options:
        set_options(d.jail.config, options)
    if access is not None:
        (d.jail.config_dir / "access").write_text(access)
    d.start()
    return d


def connect(d, source: str | None = None, timeout: float = 15, **kwargs) -> SMTPConn:
    """A raw connection to daemon `d` from `source` (default: a fresh
    127.x address)."""
    return SMTPConn(d.jail.host, d.jail.port, source=source or next_source(), timeout=timeout, **kwargs)


# -------------------------------------------------------------- mail, spool


def mbox_bytes(d, user: str) -> bytes:
    try:
        return d.mbox_path(user).read_bytes()
    except FileNotFoundError:
        return b""


def mbox_messages(d, user: str) -> list[bytes]:
    """The messages of an mboxrd mailbox, each from its "From " line on.
    Body lines that began with ">*From " are quoted, so every line that
    starts with "From " starts a message."""
    data = mbox_bytes(d, user)
    if not data:
        return []
    starts = [m.start() for m in re.finditer(rb"(?m)^From ", data)]
    assert starts and starts[0] == 0, f"mbox of {user} does not start with a From line: {data[:200]!r}"
    return [data[a:b] for a, b in zip(starts, starts[1:] + [len(data)])]


def messages_with(d, user: str, token: str | bytes) -> list[bytes]:
    if isinstance(token, str):
        token = token.encode()
    return [m for m in mbox_messages(d, user) if token in m]


def wait_for_message(d, user: str, token: str | bytes, timeout: float = 10) -> bytes:
    """Waits until a message holding `token` is in USER's mbox; returns
    the first one."""
    deadline = time.monotonic() + timeout
    while True:
        # Complete only once it ends with the mbox's closing blank line (a
        # reader takes no lock and may catch a big message mid-write).
        found = [m for m in messages_with(d, user, token) if m.endswith(b"\n\n")]
        if found:
            return found[0]
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"no message with {token!r} for {user} after {timeout}s\n{d.diagnostics(30)}")
        time.sleep(0.05)


def wait_delivered(d, queue_id: str, address: str, timeout: float = 30) -> None:
    """Waits for the queue's log line saying the message `queue_id` was
    delivered to `address` (the mailbox write is complete then)."""
    marker = f"{queue_id}: to=<{address}>, relay=local, status=sent"
    deadline = time.monotonic() + timeout
    while marker not in d.log():
        if time.monotonic() >= deadline:
            raise AssertionError(f"no {marker!r} after {timeout}s\n{d.diagnostics(30)}")
        time.sleep(0.05)


def split_message(mbox_message: bytes) -> tuple[list[bytes], bytes]:
    """(header lines of the stored message, body) of one mbox message: the
    "From " line is dropped; continuation lines stay separate entries."""
    head, _, body = mbox_message.partition(b"\n\n")
    lines = head.split(b"\n")
    assert lines[0].startswith(b"From "), lines[0]
    return lines[1:], body


def header_values(mbox_message: bytes, name: str) -> list[str]:
    """Unfolded values of every header field `name` in one mbox message."""
    lines, _ = split_message(mbox_message)
    fields: list[str] = []
    for raw in lines:
        line = raw.decode("utf-8", errors="replace")
        if line[:1] in (" ", "\t") and fields:
            fields[-1] += " " + line.strip()
        else:
            fields.append(line)
    prefix = name.lower() + ":"
    return [f.split(":", 1)[1].strip() for f in fields if f.lower().startswith(prefix)]


def spool_files(d) -> list[str]:
    """Names in the queue's msg/ directory (data and control files)."""
    msg = d.jail.spool / "msg"
    try:
        return sorted(p.name for p in msg.iterdir())
    except FileNotFoundError:
        return []


def queued_count(d) -> int:
    """How many messages the queue logged as queued."""
    return sum(1 for line in d.log().splitlines() if "postern/queue[" in line and ": queued, " in line)


def assert_nothing_delivered(d, users=("pt-alice", "pt-bob"), settle: float = 1.5,
                             queued_before: int | None = None, spool_timeout: float = 5) -> None:
    """After `settle` seconds: no mbox of `users` holds anything, no message
    was queued since `queued_before` (a queued_count() value), and the
    spool's msg/ directory is empty (an aborted spool file is removed by
    the queue asynchronously, so that is polled for up to spool_timeout)."""
    time.sleep(settle)
    for user in users:
        assert mbox_bytes(d, user) == b"", f"{user} got mail:\n{mbox_bytes(d, user)[-1500:]!r}"
    if queued_before is not None:
        assert queued_count(d) == queued_before, f"a message was queued\n{d.diagnostics(30)}"
    deadline = time.monotonic() + spool_timeout
    while spool_files(d):
        if time.monotonic() >= deadline:
            raise AssertionError(f"spool files left: {spool_files(d)}\n{d.diagnostics(30)}")
        time.sleep(0.05)


# ------------------------------------------------------------ daemons


@contextlib.contextmanager
def fresh_daemon(postern_bin, options: dict[str, object] | None = None, access: str | None = None,
                 domain: str = "example.test", files: dict[str, str] | None = None, before_start=None):
    """A daemon on a jail of its own, for a module-scoped fixture (the
    conftest fixtures are per test): `options` written into postern.conf
    and `access` into the access map before it starts; killed and removed
    afterwards. `files` are written into the configuration directory
    (maps: aliases, virtusertable...), and `before_start(jail)` may prepare
    anything else."""
    import conftest
    from daemon import Daemon

    conftest.require_root()
    prefix = pathlib.Path(tempfile.mkdtemp(prefix="pt-", dir=conftest.PREFIX_PARENT))
    d = None
    try:
        port = conftest.free_port()
        result = conftest.run_setup_jail(prefix, "--listen", f"127.0.0.1:{port}", "--domain", domain)
        assert result.returncode == 0, result.stdout + result.stderr
        jail = conftest.Jail(prefix=prefix, config=prefix / "etc/postern/postern.conf", host="127.0.0.1",
                             port=port, domain=domain, hostname=f"mail.{domain}",
                             setup_output=result.stdout + result.stderr)
        if options:
            set_options(jail.config, options)
        if access is not None:
            (jail.config_dir / "access").write_text(access)
        for name, text in (files or {}).items():
            (jail.config_dir / name).write_text(text)
        if before_start is not None:
            before_start(jail)
        d = Daemon(jail, postern_bin)
        d.start()
        yield d
    finally:
        if d is not None:
            d.kill_all()
        shutil.rmtree(prefix, ignore_errors=True)


def message(token: str, headers: list[str] | None = None, body: bytes | str = b"",
            subject: str = "conformance") -> bytes:
    """A CRLF message: the given header lines (default From/To/Subject/
    Date/Message-ID), an empty line, "token=TOKEN" and `body`."""
    if headers is None:
        headers = [
            "From: <tester@client.test>",
            "To: <pt-alice@example.test>",
            f"Subject: {subject}",
            "Date: Mon, 02 Mar 2026 10:00:00 +0000",
            f"Message-ID: <{token}@client.test>",
        ]
    if isinstance(body, str):
        body = body.encode()
    return ("\r\n".join(headers) + "\r\n\r\n" + f"token={token}\r\n").encode() + body


# ---- smtplib sessions from a chosen source address (access map, DNSBL tests)

def smtplib_connect(d, source: str = "127.0.0.1", timeout: float = 15):
    """(client, greeting code, greeting text) for an smtplib session from
    `source` (another 127.x address plays another client)."""
    client = smtplib.SMTP(timeout=timeout, source_address=(source, 0))
    code, msg = client.connect(d.jail.host, d.jail.port)
    return client, code, msg.decode(errors="replace")


def smtplib_cmd(client, line: str) -> tuple[int, str]:
    code, msg = client.docmd(line)
    return code, msg.decode(errors="replace")


def greeting_from(d, source: str, timeout: float = 15) -> tuple[int, str]:
    """The greeting a client at `source` gets; the session is then closed."""
    client, code, text = smtplib_connect(d, source, timeout)
    try:
        client.docmd("QUIT")
    except smtplib.SMTPException:
        pass
    client.close()
    return code, text
