"""A full spool and hung processes (issue 12, parts 5 and 6).

A small tmpfs is the spool: below QueueMinFree MAIL gets 452 4.3.1 (a
declared SIZE counts), a write that meets ENOSPC is answered 452 4.3.1 with
the queue id in the log, and acceptance resumes once space is free.

A child stopped with SIGSTOP: the listener's question to it times out
(Timeout.ipc) and the client gets a 451/421 at once instead of waiting for
its own timeout; the master's health check notices (Timeout.watchdog),
kills the child at `critical` and restarts it; nothing accepted is lost.
"""

from __future__ import annotations

import os
import pathlib
import pwd
import re
import signal
import time

import pytest

from daemon import make_message, unique_token, wait_until
from smtp_client import SMTPConn, dot_stuff, fresh_daemon, next_source
from tmpfs import mount_tmpfs, unmount

MIB = 1 << 20


# ------------------------------------------------------------------ the spool


@pytest.fixture(scope="module")
def small_spool(postern_bin):
    mounted: list[pathlib.Path] = []

    def mount_spool(jail):
        spool = pathlib.Path(jail.prefix) / "var/spool/postern"
        queue = pwd.getpwnam("postern-queue")
        mount_tmpfs(spool, "24m", 0o700, queue.pw_uid, queue.pw_gid)
        mounted.append(spool)

    try:
        with fresh_daemon(postern_bin, {"MaxMessageSize": "2m", "QueueMinFree": "4m"},
                          before_start=mount_spool) as d:
            yield d
    finally:
        for path in mounted:
            unmount(path)


class Filler:
    """A root-owned file in the spool's file system that leaves `leave`
    bytes free (the queue's own files are small next to it)."""

    def __init__(self, d):
        self.path = pathlib.Path(d.jail.prefix) / "var/spool/postern/filler"
        self.spool = self.path.parent

    def free(self) -> int:
        st = os.statvfs(self.spool)
        return st.f_bavail * st.f_frsize

    def leave(self, leave: int) -> None:
        self.remove()
        size = max(0, self.free() - leave)
        with open(self.path, "wb") as f:
            block = b"\0" * MIB
            while size > 0:
                n = min(size, len(block))
                try:
                    f.write(block[:n])
                    f.flush()
                except OSError:
                    break
                size -= n

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def mail_reply(d, params: str = "") -> str:
    with SMTPConn(d.jail.host, d.jail.port, source=next_source()) as c:
        c.ehlo()
        r = c.cmd(f"MAIL FROM:<tester@client.test>{(' ' + params) if params else ''}")
        c.cmd("QUIT")
        return r.full


def test_mail_is_refused_below_queue_min_free_and_accepted_again_after(small_spool):
    d = small_spool
    filler = Filler(d)
    offset = len(d.log())
    try:
        filler.leave(3 * MIB)
        wait_until(lambda: mail_reply(d).startswith("452 4.3.1"), 10, what="MAIL to be refused\n" + d.diagnostics())
        assert mail_reply(d) == "452 4.3.1 Insufficient system storage"
        assert "spool file system short of space" in d.log_since(offset)
        assert "refused MAIL from" in d.log_since(offset)
    finally:
        filler.remove()
    wait_until(lambda: mail_reply(d).startswith("250"), 10, what="MAIL to be accepted again")
    d.deliver_and_wait("pt-alice", timeout=20)
    assert "has" in d.log_since(offset) and "free again; accepting mail" in d.log_since(offset)


def test_a_declared_size_that_would_not_leave_queue_min_free_is_refused(small_spool):
    d = small_spool
    filler = Filler(d)
    try:
        # 5 MiB free, 4 MiB to be kept: 1.5 MiB do not fit, 0.5 MiB do.
        filler.leave(5 * MIB)
        wait_until(lambda: mail_reply(d, f"SIZE={3 * MIB // 2}").startswith("452 4.3.1"), 10,
                   what="MAIL SIZE= to be refused")
        assert mail_reply(d, f"SIZE={MIB // 2}").startswith("250")
        assert mail_reply(d).startswith("250")
    finally:
        filler.remove()


def test_a_write_that_meets_a_full_disk_gets_452_and_leaves_nothing_behind(small_spool):
    d = small_spool
    filler = Filler(d)
    offset = len(d.log())
    token = unique_token("enospc")
    try:
        with SMTPConn(d.jail.host, d.jail.port, source=next_source(), timeout=30) as c:
            c.ehlo()
            assert c.cmd("MAIL FROM:<tester@client.test>").code == 250
            assert c.cmd("RCPT TO:<pt-alice@example.test>").code == 250
            assert c.cmd("DATA").code == 354
            # The disk fills up while the message is on its way.
            filler.leave(0)
            body = make_message(token, body=("z" * 998 + "\r\n") * 1500)
            c.send(dot_stuff(body.encode()) + b".\r\n")
            final = c.read_reply()
            assert final.full == "452 4.3.1 Insufficient system storage", str(final)
        log = d.log_since(offset)
        m = re.search(r"postern/listener\[\d+\]: ([0-9A-Z]{12}): error: spool write failed: No space left on device",
                      log)
        assert m, log
        qid = m.group(1)
        wait_until(lambda: not any(qid in p.name for p in (d.jail.spool / "msg").iterdir()), 5,
                   what="the partial spool file to be removed")
    finally:
        filler.remove()
    wait_until(lambda: mail_reply(d).startswith("250"), 10, what="MAIL to be accepted again")
    d.deliver_and_wait("pt-alice", timeout=20)
    assert token not in d.mbox("pt-alice")


# ------------------------------------------------------------ hung processes


@pytest.fixture
def watched(start_daemon):
    d = start_daemon(start=False)
    text = d.jail.config.read_text()
    d.jail.config.write_text(text + "Timeout.ipc = 2s\nTimeout.watchdog = 6s\n")
    d.start()
    return d


def stopped(d, role: str):
    pid = d.wait_ready()[role]
    os.kill(pid, signal.SIGSTOP)
    return pid


def wait_restarted(d, role: str, old: int, timeout: float = 20) -> int:
    wait_until(lambda: d.children().get(role, old) != old, timeout, what=f"{role} to be restarted\n" + d.diagnostics())
    return d.wait_ready(timeout=10)[role]


def test_a_stopped_queue_costs_a_451_and_is_killed_and_restarted(watched):
    d = watched
    before = d.deliver_and_wait("pt-alice")
    pid = stopped(d, "queue")
    try:
        with SMTPConn(d.jail.host, d.jail.port, source=next_source(), timeout=30) as c:
            c.ehlo()
            assert c.cmd("MAIL FROM:<tester@client.test>").code == 250
            assert c.cmd("RCPT TO:<pt-alice@example.test>").code == 250
            started = time.monotonic()
            r = c.cmd("DATA")
            assert r.full.startswith("451 4.3.0"), str(r)
            assert time.monotonic() - started < 6
        assert f"queue did not answer openMessage within 2s (Timeout.ipc)" in d.log(), d.diagnostics()
        new = wait_restarted(d, "queue", pid)
    finally:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
    assert re.search(rf"postern/master\[\d+\]: critical: queue has not answered the health check for \d+s "
                     rf"\(Timeout.watchdog 6s\); killing pid={pid}", d.log()), d.diagnostics()
    assert new != pid
    d.deliver_and_wait("pt-bob", timeout=20)
    assert d.mbox("pt-alice").count(f"token={before}") == 1


def test_a_stopped_lookup_costs_a_421_and_is_killed_and_restarted(watched):
    d = watched
    pid = stopped(d, "lookup")
    try:
        started = time.monotonic()
        with SMTPConn(d.jail.host, d.jail.port, source=next_source(), timeout=30) as c:
            assert c.greeting.full.startswith("421 4.3.0"), str(c.greeting)
        assert time.monotonic() - started < 6
        assert "lookup did not answer checkClient within 2s (Timeout.ipc)" in d.log(), d.diagnostics()
        wait_restarted(d, "lookup", pid)
    finally:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
    assert "critical: lookup has not answered the health check" in d.log()
    d.deliver_and_wait("pt-alice", timeout=20)


@pytest.mark.parametrize("role", ["listener", "local", "relay"])
def test_every_other_child_that_stops_answering_is_restarted(watched, role):
    d = watched
    pid = stopped(d, role)
    try:
        wait_restarted(d, role, pid)
    finally:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
    assert f"critical: {role} has not answered the health check" in d.log()
    d.deliver_and_wait("pt-alice", timeout=20)


def test_a_child_stopped_for_less_than_the_watchdog_is_left_alone(watched):
    d = watched
    pid = stopped(d, "relay")
    time.sleep(2)
    os.kill(pid, signal.SIGCONT)
    time.sleep(6)
    assert d.children()["relay"] == pid
    assert "has not answered the health check" not in d.log()
