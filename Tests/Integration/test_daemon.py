"""The running daemon (issue 2, "How it is checked"): privileges and
descriptors of every child, one message all the way into an mbox, RCPT
refusals, restarts after kill -9, durability of a 250 across a crash of queue
and local, SIGHUP, SIGTERM, pipelining, and a default start that logs no
error.

Each test starts its own daemon on a fresh jail (start_daemon in conftest.py,
Daemon in daemon.py); starting one takes well under a second.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import signal
import smtplib
import socket
import subprocess
import time

import pytest

from daemon import (
    ROLES,
    StalePeerChannel,
    fd_links,
    is_alive,
    make_message,
    proc_root,
    socket_inodes,
    status,
    thread_statuses,
    unique_token,
    unix_socket_inodes,
    wait_until,
)

CHILD_USERS = {
    "listener": "postern-smtpd",
    "lookup": "postern-lookup",
    "queue": "postern-queue",
    "relay": "postern-relay",
}
NO_CAPS = "0000000000000000"
# CHOWN(0) | DAC_READ_SEARCH(2) | SETGID(6) | SETUID(7) | SYS_CHROOT(18)
LOCAL_CAPS = "00000000000400c5"
ALLOWED_ANON = {"anon_inode:[eventpoll]", "anon_inode:[eventfd]", "anon_inode:[timerfd]"}
NO_SUCH_USER = "pt-nosuch-zz"

# kill -9 of listener, lookup or queue leaves an edge dead: see the report of
# IPCChannel.shutdown() acting on a descriptor number the reader thread has
# already closed and the kernel has handed to the replacement channel.
STALE_FD_REASON = (
    "product bug: a peer's replace() calls IPCChannel.shutdown() on the old channel, whose reader "
    "thread already closed its fd at EOF; the new channel received by SCM_RIGHTS reuses that fd "
    "number, so shutdown() kills the new edge (Sources/PosternIPC/IPCChannel.swift shutdown()/start(); "
    "callers ListenerServices.replace, LookupRole PeerTable.replace, LocalService.attach, RelayRole)")


def root_of(d, role: str) -> str:
    j = d.jail
    return {
        "listener": str(j.empty_dir),
        "relay": str(j.empty_dir),
        "lookup": str(j.config_dir),
        "queue": str(j.spool),
        "local": "/",
    }[role]


def ids(field: str) -> list[int]:
    return [int(x) for x in field.split()]


def assert_same_fields(pid: int, expected: dict[str, str], who: str) -> None:
    """Every thread of `pid` has exactly these /proc status fields."""
    threads = thread_statuses(pid)
    assert threads, f"{who}: no threads found for pid {pid}"
    for tid, st in threads.items():
        for field, value in expected.items():
            assert st.get(field) == value, (
                f"{who} pid={pid} thread {tid}: {field} is {st.get(field)!r}, expected {value!r}")


# ---------------------------------------------------------------- privileges


def test_every_child_runs_with_its_own_user_root_and_capabilities(start_daemon):
    d = start_daemon()
    kids = d.wait_ready()
    assert set(kids) == set(ROLES)

    master = status(d.pid)
    assert ids(master["Uid"]) == [0, 0, 0, 0], master["Uid"]
    assert proc_root(d.pid) == "/"

    for role, user in CHILD_USERS.items():
        pid = kids[role]
        pw = pwd.getpwnam(user)
        for tid, st in thread_statuses(pid).items():
            assert ids(st["Uid"]) == [pw.pw_uid] * 4, f"{role} thread {tid}: Uid {st['Uid']}"
            assert ids(st["Gid"]) == [pw.pw_gid] * 4, f"{role} thread {tid}: Gid {st['Gid']}"
        assert_same_fields(pid, {
            "Groups": "",
            "CapInh": NO_CAPS,
            "CapPrm": NO_CAPS,
            "CapEff": NO_CAPS,
            "CapBnd": NO_CAPS,
            "CapAmb": NO_CAPS,
            "NoNewPrivs": "1",
        }, role)
        assert proc_root(pid) == root_of(d, role), f"{role}: root is {proc_root(pid)}"

    local = kids["local"]
    for tid, st in thread_statuses(local).items():
        assert ids(st["Uid"]) == [0, 0, 0, 0], f"local thread {tid}: Uid {st['Uid']}"
    assert_same_fields(local, {
        "Groups": "",
        "CapPrm": LOCAL_CAPS,
        "CapEff": LOCAL_CAPS,
        "CapBnd": LOCAL_CAPS,
        "CapAmb": NO_CAPS,
        "NoNewPrivs": "1",
    }, "local")
    assert proc_root(local) == "/"

    # Only the master runs as full root: no child keeps a capability beyond
    # local's list, and local is the only child with uid 0.
    for role, pid in kids.items():
        if role != "local":
            assert ids(status(pid)["Uid"])[0] != 0, f"{role} runs as uid 0"


def test_children_hold_no_descriptor_they_should_not(start_daemon):
    d = start_daemon()
    kids = d.wait_ready()
    log = str(d.log_path)
    msg_dir = str(d.jail.spool / "msg")
    unix = unix_socket_inodes()
    for role, pid in kids.items():
        links = fd_links(pid)
        assert links.get(1) == "/dev/null", f"{role}: fd 1 is {links.get(1)!r}"
        assert links.get(2) == log, f"{role}: fd 2 is {links.get(2)!r}"
        paths = {fd: link for fd, link in links.items() if link.startswith("/")}
        allowed = {"/dev/null", log} | ({msg_dir} if role == "queue" else set())
        assert set(paths.values()) <= allowed, f"{role} holds paths {paths}"
        assert sorted(paths.values()).count("/dev/null") == 1, f"{role}: {paths}"
        assert sorted(paths.values()).count(log) == 1, f"{role}: {paths}"
        if role == "queue":
            assert list(paths.values()).count(msg_dir) == 1, f"queue should hold {msg_dir} once: {paths}"
        others = {fd: link for fd, link in links.items() if not link.startswith("/")}
        for fd, link in others.items():
            assert link.startswith("socket:[") or link in ALLOWED_ANON, f"{role} fd {fd} -> {link}"
        if role != "listener":
            # Only the listener touches the network: everyone else holds
            # unix socketpairs only.
            for fd, inode in socket_inodes(pid).items():
                assert inode in unix, f"{role} fd {fd} is not a unix socket (inode {inode})"


# ------------------------------------------------------------------ delivery


BODY_LINES = [
    "plain first line",
    "From the start of a line must be quoted",
    ">From already quoted gains one more",
    ".a line starting with a dot",
    "..two dots",
    ".",
    "  From indented stays",
    "last line",
]


def test_message_arrives_in_mbox_written_by_the_users_worker(start_daemon):
    d = start_daemon()
    kids = d.wait_ready()
    alice = pwd.getpwnam("pt-alice")
    token = unique_token()
    message = make_message(token, subject="delivery", body="".join(f"{line}\r\n" for line in BODY_LINES))
    refused = d.send(["pt-alice@example.test"], message)
    assert refused == {}
    text = d.wait_for_mbox("pt-alice", lambda t: "last line" in t)

    st = os.stat(d.mbox_path("pt-alice"))
    assert st.st_uid == alice.pw_uid, f"mbox owned by uid {st.st_uid}"
    assert st.st_gid == grp.getgrnam("mail").gr_gid, f"mbox group {st.st_gid}"
    assert st.st_mode & 0o777 == 0o600, oct(st.st_mode)

    lines = text.split("\n")
    assert re.fullmatch(r"From tester@client\.test \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}", lines[0]), lines[0]
    headers, sep, body = text.partition("\n\n")
    assert sep, text
    # Received: from EHLO-NAME ([IP]) by MYHOSTNAME ... with ESMTP id QUEUEID ...; DATE
    assert re.search(
        r"^Received: from client\.test \(.*\[127\.0\.0\.1\].*\)\n"
        r"\s+by mail\.example\.test\b.* with ESMTP id [0-9A-Z]{12}\b[^;]*;"
        r"\s*\w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}$", headers, re.M), headers
    assert f"Message-ID: <{token}@client.test>" in headers
    expected = [
        f"token={token}",
        "plain first line",
        ">From the start of a line must be quoted",
        ">>From already quoted gains one more",
        ".a line starting with a dot",
        "..two dots",
        ".",
        "  From indented stays",
        "last line",
    ]
    assert body.split("\n")[:len(expected)] == expected, body
    assert text.endswith("last line\n\n"), repr(text[-40:])
    assert text.count("\nFrom ") == 0, "an unquoted From line would split the mbox"

    # The worker that wrote it runs as pt-alice, capability-free, and stays
    # up (LocalWorkerIdleTimeout, 60 s by default).
    workers = d.workers()
    assert len(workers) == 1, f"workers: {workers}"
    worker = workers[0]
    assert status(worker)["PPid"] == str(kids["local"])
    for tid, wst in thread_statuses(worker).items():
        assert ids(wst["Uid"]) == [alice.pw_uid] * 4, f"worker thread {tid}: Uid {wst['Uid']}"
        assert ids(wst["Gid"]) == [alice.pw_gid] * 4, f"worker thread {tid}: Gid {wst['Gid']}"
        assert wst["CapPrm"] == NO_CAPS and wst["CapEff"] == NO_CAPS and wst["CapAmb"] == NO_CAPS, wst
        assert wst["NoNewPrivs"] == "1"
    groups = set(ids(status(worker)["Groups"]))
    expected_groups = set(os.getgrouplist("pt-alice", alice.pw_gid)) | {grp.getgrnam("mail").gr_gid}
    assert groups == expected_groups, f"worker groups {groups}, expected {expected_groups}"
    links = fd_links(worker)
    paths = sorted(link for link in links.values() if link.startswith("/"))
    assert paths == sorted(["/dev/null", str(d.log_path)]), f"idle worker holds {links}"
    # Still there a moment later, and a second message reuses it.
    token2 = d.deliver_and_wait("pt-alice")
    assert d.workers() == [worker], "the worker for pt-alice should have been reused"
    assert d.mbox("pt-alice").count(f"token={token}") == 1
    assert d.mbox("pt-alice").count(f"token={token2}") == 1


def test_two_users_get_two_workers(start_daemon):
    d = start_daemon()
    d.wait_ready()
    alice, bob = pwd.getpwnam("pt-alice"), pwd.getpwnam("pt-bob")
    token = unique_token()
    refused = d.send(["pt-alice@example.test", "pt-bob@example.test"], make_message(token))
    assert refused == {}
    for user, pw in (("pt-alice", alice), ("pt-bob", bob)):
        text = d.wait_for_mbox(user, lambda t: token in t)
        assert text.count(f"token={token}") == 1
        assert f"Delivered-To: {user}@example.test" in text
        assert os.stat(d.mbox_path(user)).st_uid == pw.pw_uid
    uids = sorted(ids(status(w)["Uid"])[0] for w in d.workers())
    assert uids == sorted([alice.pw_uid, bob.pw_uid])


def rcpt_reply(d, address: str) -> tuple[int, bytes]:
    with smtplib.SMTP(d.jail.host, d.jail.port, timeout=10) as client:
        client.ehlo("client.test")
        code, _ = client.mail("tester@client.test")
        assert code == 250
        reply = client.rcpt(address)
        client.quit()
    return reply


def test_unknown_local_user_is_refused_550_5_1_1(start_daemon):
    with pytest.raises(KeyError):
        pwd.getpwnam(NO_SUCH_USER)
    d = start_daemon()
    code, text = rcpt_reply(d, f"{NO_SUCH_USER}@example.test")
    assert code == 550, (code, text)
    assert text.startswith(b"5.1.1"), text
    # Mixed: the good recipient still gets the message, the bad one is refused.
    token = unique_token()
    refused = d.send(["pt-alice@example.test", f"{NO_SUCH_USER}@example.test"], make_message(token))
    assert list(refused) == [f"{NO_SUCH_USER}@example.test"]
    assert refused[f"{NO_SUCH_USER}@example.test"][0] == 550
    assert refused[f"{NO_SUCH_USER}@example.test"][1].startswith(b"5.1.1")
    d.wait_for_mbox("pt-alice", lambda t: token in t)
    assert not d.mbox_path(NO_SUCH_USER).exists()


def test_non_local_domain_is_refused_550_5_7_1(start_daemon):
    d = start_daemon()
    code, text = rcpt_reply(d, "someone@elsewhere.test")
    assert code == 550, (code, text)
    assert text.startswith(b"5.7.1"), text
    assert b"elay" in text, text  # "Relaying denied"
    with pytest.raises(smtplib.SMTPRecipientsRefused) as info:
        d.send(["someone@elsewhere.test"], make_message(unique_token()))
    assert info.value.recipients["someone@elsewhere.test"][0] == 550


# ------------------------------------------------------------------ restarts


def kill_marks(role):
    return []


@pytest.mark.parametrize("role", [pytest.param(r, marks=kill_marks(r)) for r in ROLES])
def test_kill_9_child_is_restarted_and_mail_flows(start_daemon, role):
    d = start_daemon()
    before = d.wait_ready()
    d.deliver_and_wait("pt-alice")  # a worker exists too, for the local case
    old_workers = d.workers()
    assert len(old_workers) == 1
    old = before[role]
    t0 = time.monotonic()
    os.kill(old, signal.SIGKILL)
    new = wait_until(
        lambda: (p := d.children().get(role)) and p != old and p, 2.0, interval=0.02,
        what=f"a new {role} within 2 s of kill -9")
    elapsed = time.monotonic() - t0
    assert elapsed <= 2.0, elapsed
    after = d.wait_ready(timeout=5)
    assert after[role] == new
    for other in ROLES:
        if other != role:
            assert after[other] == before[other], f"{other} changed pid after kill of {role}"
    assert f"{role} died, pid={old}, signal=9" in d.log()
    if role == "local":
        # A worker of the dead local must not linger: it exits with its channel.
        wait_until(lambda: not any(is_alive(p) for p in old_workers), 3, what="the old worker to exit")
    d.assert_edges_restored(f"after kill -9 of {role}")
    d.deliver_and_wait("pt-alice")
    d.deliver_and_wait("pt-bob")
    d.assert_running()
    d.stop()


def test_250_survives_kill_9_of_queue_and_local_and_is_delivered_once(start_daemon):
    d = start_daemon()
    kids = d.wait_ready()
    queue, local = kids["queue"], kids["local"]
    os.kill(local, signal.SIGSTOP)
    try:
        token = unique_token()
        refused = d.send(["pt-alice@example.test"], make_message(token))
        assert refused == {}  # 250 after the queue's commit
        m = wait_until(lambda: re.search(
            rf"postern/queue\[{queue}\]: (?:\w+: )?([0-9A-Z]{{12}}): queued, from=<tester@client\.test>",
            d.log()), 3, what="the queued line")
        qid = m.group(1)
        time.sleep(0.5)  # the queue hands the job to the stopped local
        assert token not in d.mbox("pt-alice"), "delivered although local was stopped"
        os.kill(queue, signal.SIGKILL)
        os.kill(local, signal.SIGKILL)
    finally:
        try:
            os.kill(local, signal.SIGCONT)
        except ProcessLookupError:
            pass
    wait_until(lambda: (k := d.children()).get("queue", queue) != queue and k.get("local", local) != local,
               2.0, what="queue and local restarted")
    kids2 = d.wait_ready(timeout=5)
    assert f"postern/queue[{kids2['queue']}]: spool recovered, messages=1" in d.log(), d.diagnostics()
    text = d.wait_for_mbox("pt-alice", lambda t: token in t, timeout=15)
    time.sleep(2)  # a second copy would come now
    text = d.mbox("pt-alice")
    assert text.count(f"token={token}") == 1, text
    assert text.count(f"Message-ID: <{token}@client.test>") == 1
    log = d.log()
    assert len(re.findall(rf"{qid}: to=<pt-alice@example\.test>, relay=local, status=sent", log)) == 1, log
    wait_until(lambda: f"{qid}: removed" in d.log(), 5, what=f"{qid} removed from the spool")
    assert not any(qid in name for name in os.listdir(d.jail.spool / "msg")), os.listdir(d.jail.spool / "msg")


# -------------------------------------------------------------------- SIGHUP


def greeting(d) -> str:
    with socket.create_connection((d.jail.host, d.jail.port), timeout=5) as s:
        data = b""
        while not data.endswith(b"\r\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.sendall(b"QUIT\r\n")
    return data.decode(errors="replace")


def test_sighup_with_valid_config_reloads_and_keeps_serving(start_daemon):
    d = start_daemon()
    kids = d.wait_ready()
    assert greeting(d).startswith("220 mail.example.test ESMTP")
    marker = unique_token("hup")
    original = d.jail.config.read_text()
    assert "SmtpGreetingMessage = $j ESMTP\n" in original
    d.jail.config.write_text(original.replace(
        "SmtpGreetingMessage = $j ESMTP\n", f"SmtpGreetingMessage = $j ESMTP {marker}\n"))
    offset = len(d.log())
    d.signal(signal.SIGHUP)
    wait_until(lambda: f"postern/master[{d.pid}]: " in d.log_since(offset)
               and "reloading configuration" in d.log_since(offset), 3, what="reloading configuration")
    assert "reload refused" not in d.log_since(offset)
    wait_until(lambda: marker in greeting(d), 3, what="the new greeting")
    assert d.children() == kids, "SIGHUP must not restart children"
    d.deliver_and_wait("pt-alice")
    d.stop()


def test_sighup_with_broken_config_is_refused_and_old_one_kept(start_daemon):
    d = start_daemon()
    kids = d.wait_ready()
    original = d.jail.config.read_text()
    broken = original + ("" if original.endswith("\n") else "\n") + "Frobnicate = 1\n"
    line = broken.count("\n")
    d.jail.config.write_text(broken)
    offset = len(d.log())
    d.signal(signal.SIGHUP)
    wait_until(lambda: "reload refused" in d.log_since(offset), 3, what="reload refused")
    refused = [ln for ln in d.log_since(offset).splitlines() if "reload refused" in ln]
    assert f"postern/master[{d.pid}]: " in refused[0], refused
    assert f"{d.jail.config}:{line}: unknown option" in refused[0], refused
    assert "reloading configuration" not in d.log_since(offset)
    d.assert_running()
    assert d.children() == kids
    d.deliver_and_wait("pt-alice")
    # Restored: the next SIGHUP is accepted again.
    d.jail.config.write_text(original)
    offset = len(d.log())
    d.signal(signal.SIGHUP)
    wait_until(lambda: "reloading configuration" in d.log_since(offset), 3, what="reloading configuration")
    assert "reload refused" not in d.log_since(offset)
    d.deliver_and_wait("pt-alice")
    assert d.children() == kids
    d.stop()


# ------------------------------------------------------------------- SIGTERM


def test_sigterm_stops_everything_and_exits_0(start_daemon):
    d = start_daemon()
    kids = d.wait_ready()
    d.deliver_and_wait("pt-alice")
    d.deliver_and_wait("pt-bob")
    workers = d.workers()
    assert len(workers) == 2
    assert d.pid_file.read_text().strip() == str(d.pid)
    everyone = list(kids.values()) + workers
    t0 = time.monotonic()
    d.stop(timeout=15)
    elapsed = time.monotonic() - t0
    assert elapsed < 10 + 3, f"took {elapsed:.1f}s (ShutdownTimeout is 10s)"
    assert d.leftover_processes() == []
    for pid in everyone:
        assert not is_alive(pid), f"pid {pid} ({status(pid).get('Name')}) still alive"
    assert not d.pid_file.exists(), "pid file left behind"
    assert f"postern/master[{d.pid}]: stopped" in d.log()
    with pytest.raises(OSError):
        socket.create_connection((d.jail.host, d.jail.port), timeout=2).close()


def test_sigterm_with_an_open_session_exits_within_shutdown_timeout(start_daemon):
    d = start_daemon(start=False)
    with open(d.jail.config, "a") as f:
        f.write("ShutdownTimeout = 2\n")
    d.start()
    d.wait_ready()
    client = smtplib.SMTP(d.jail.host, d.jail.port, timeout=10)
    try:
        client.ehlo("client.test")
        client.mail("tester@client.test")
        t0 = time.monotonic()
        d.stop(timeout=15)
        elapsed = time.monotonic() - t0
    finally:
        try:
            client.close()
        except Exception:
            pass
    assert elapsed < 2 + 3, f"took {elapsed:.1f}s with ShutdownTimeout = 2"
    assert d.leftover_processes() == []
    assert not d.pid_file.exists()


# ---------------------------------------------------------------- pipelining


def read_replies(sock: socket.socket, count: int, timeout: float = 10) -> list[tuple[int, list[str]]]:
    """Reads `count` complete SMTP replies (multi-line ones joined)."""
    sock.settimeout(timeout)
    buffer = b""
    replies = []
    current: list[str] = []
    while len(replies) < count:
        while b"\r\n" not in buffer:
            chunk = sock.recv(65536)
            if not chunk:
                raise AssertionError(f"connection closed after {replies} {current} {buffer!r}")
            buffer += chunk
        line, buffer = buffer.split(b"\r\n", 1)
        text = line.decode()
        current.append(text)
        if len(text) >= 4 and text[3] == " " or len(text) == 3:
            replies.append((int(text[:3]), current))
            current = []
    assert buffer == b"", f"more than {count} replies: {buffer!r}"
    return replies


def test_pipelined_commands_get_all_replies_in_order(start_daemon):
    d = start_daemon()
    token = unique_token()
    with socket.create_connection((d.jail.host, d.jail.port), timeout=10) as s:
        (code, lines), = read_replies(s, 1)
        assert code == 220
        s.sendall(
            b"EHLO client.test\r\n"
            b"MAIL FROM:<tester@client.test>\r\n"
            b"RCPT TO:<pt-alice@example.test>\r\n"
            + f"RCPT TO:<{NO_SUCH_USER}@example.test>\r\n".encode()
            + b"DATA\r\n")
        replies = read_replies(s, 5)
        codes = [c for c, _ in replies]
        assert codes == [250, 250, 250, 550, 354], replies
        assert any(line[4:].upper() == "PIPELINING" for line in replies[0][1]), replies[0]
        assert replies[3][1][-1][4:].startswith("5.1.1"), replies[3]
        s.sendall(make_message(token).encode() + b".\r\nQUIT\r\n")
        (c1, l1), (c2, l2) = read_replies(s, 2)
        assert c1 == 250, l1
        assert c2 == 221, l2
    text = d.wait_for_mbox("pt-alice", lambda t: token in t)
    assert text.count(f"token={token}") == 1


def test_a_child_that_keeps_dying_is_logged_and_the_others_keep_serving(start_daemon):
    d = start_daemon()
    before = d.wait_ready()
    pid = before["relay"]
    for attempt in range(1, 6):
        os.kill(pid, signal.SIGKILL)
        # Backoff doubles from 0.1 s: 0.1, 0.2, 0.4, 0.8, 1.6.
        pid = wait_until(lambda: (p := d.children().get("relay")) and p != pid and p,
                         0.1 * 2 ** (attempt - 1) + 2, interval=0.02, what=f"relay restart #{attempt}")
        d.wait_ready(timeout=5)
    assert re.search(r"postern/master\[\d+\]: .*relay keeps dying \(5 times in a row\)", d.log()), d.diagnostics()
    after = d.children()
    for role in ROLES:
        if role != "relay":
            assert after[role] == before[role], f"{role} was restarted"
    d.deliver_and_wait("pt-alice")
    d.stop()


# ------------------------------------------------------------- a clean start

# A line at error or critical level: "postern/ROLE[PID]: [QUEUEID: ]error: ..."
# or "... critical: ...".
ERROR_LINE = re.compile(r"^.*\bpostern/[\w-]+\[\d+\]: (?:[0-9A-Z]{12}: )?(?:error|critical): .*$", re.MULTILINE)


def self_signed_certificate(d) -> None:
    """What scripts/run adds to the configuration setup-jail wrote: a
    self-signed certificate for the host name, so STARTTLS (and AUTH after
    it) is offered out of the box."""
    tls_dir = d.jail.config_dir / "tls"
    tls_dir.mkdir(mode=0o700)
    name = d.jail.hostname
    result = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "365", "-subj", f"/CN={name}",
         "-addext", f"subjectAltName=DNS:{name}", "-keyout", str(tls_dir / "key.pem"),
         "-out", str(tls_dir / "cert.pem")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    (tls_dir / "key.pem").chmod(0o600)
    with open(d.jail.config, "a") as f:
        f.write(f"TLSCertificateFile = {tls_dir / 'cert.pem'}\nTLSKeyFile = {tls_dir / 'key.pem'}\n")


@pytest.mark.parametrize("certificate", [False, True], ids=["setup-jail", "scripts-run"])
def test_a_default_start_logs_no_error(start_daemon, certificate):
    """The configuration setup-jail writes (with the harness's loopback
    smart host and DNS server), and that plus the self-signed certificate
    scripts/run adds: starting, one session (the listener asks the lookup
    for its SASL mechanisms then), and stopping log nothing at error or
    critical level. The release build once logged an error about
    SCRAM-SHA-256 and CRAM-MD5 on every start."""
    d = start_daemon(start=False)
    if certificate:
        self_signed_certificate(d)
    d.start()
    d.wait_ready()
    client = smtplib.SMTP(d.jail.host, d.jail.port, timeout=10)
    client.ehlo("client.test")
    if certificate:
        assert "starttls" in client.esmtp_features, client.esmtp_features
    client.quit()
    d.stop()
    log = d.log()
    assert f"postern/master[{d.pid}]: stopped" in log
    assert ERROR_LINE.findall(log) == [], d.diagnostics()
