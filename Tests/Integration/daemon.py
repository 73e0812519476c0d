"""A running `postern daemon` for the integration tests, and /proc helpers.

    d = Daemon(jail(), postern_bin)
    d.start()                       # waits for "listening on" and every child ready
    d.children()                    # {"listener": pid, "lookup": pid, ...}
    d.send(["pt-alice@example.test"], body)
    d.wait_for_mbox("pt-alice", lambda text: token in text)
    d.stop()                        # SIGTERM, asserts exit status 0
    d.kill_all()                    # teardown: kill -9 whatever is left

The daemon runs without -d, so every process logs to the jail's LogFile
(P/var/log/postern/postern.log); the master's own stdout/stderr go to
P/daemon.out. Children are found by scanning /proc for processes whose PPid
is the master and whose cmdline is `postern __child ROLE LOGMODE`.

Also here: reading /proc/PID/status and /proc/PID/fd, matching the two ends
of a unix socketpair (`ss -xan` gives each socket's peer inode), and taking a
duplicate of another process's descriptor with pidfd_getfd(2).
"""

from __future__ import annotations

import ctypes
import os
import pathlib
import pwd
import re
import signal
import smtplib
import socket
import subprocess
import time
import uuid

ROLES = ("listener", "lookup", "queue", "local", "relay", "submit")
# The socketpairs between children (docs/trust-and-ipc.md, "Edges"), besides master<->each child.
EDGES = (("listener", "lookup"), ("listener", "queue"), ("queue", "local"), ("queue", "relay"), ("queue", "lookup"),
         ("submit", "queue"), ("submit", "lookup"))
TEST_USERS = ("pt-alice", "pt-bob")
CHILD_ARGUMENT = "__child"


# --------------------------------------------------------------------- users


def ensure_user(name: str) -> pwd.struct_passwd:
    """The test user `name`, created with `useradd -m` if missing (kept
    afterwards: the users are reusable across runs)."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    result = subprocess.run(["useradd", "-m", name], capture_output=True, text=True)
    # Two test processes may race to create the same user.
    if result.returncode != 0 and "already exists" not in result.stderr:
        raise AssertionError(f"useradd -m {name} failed ({result.returncode}): {result.stderr}")
    return pwd.getpwnam(name)


def as_user(name: str):
    """A preexec_fn that makes a subprocess the test user `name` (its own
    group, no supplementary groups)."""
    pw = pwd.getpwnam(name)

    def become():
        os.setgroups([])
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
    return become


# ---------------------------------------------------------------------- /proc


def read_text(path: pathlib.Path | str) -> str | None:
    try:
        return pathlib.Path(path).read_text(errors="replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None


def cmdline(pid: int) -> list[str]:
    try:
        raw = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def parse_status(text: str) -> dict[str, str]:
    fields = {}
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep:
            fields[name.strip()] = value.strip()
    return fields


def status(pid: int) -> dict[str, str]:
    """/proc/PID/status as {field: value}; empty if the process is gone."""
    text = read_text(f"/proc/{pid}/status")
    return parse_status(text) if text else {}


def thread_statuses(pid: int) -> dict[int, dict[str, str]]:
    """{tid: /proc/PID/task/TID/status} for every thread of `pid`."""
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return out
    for tid in tids:
        text = read_text(f"/proc/{pid}/task/{tid}/status")
        if text:
            out[int(tid)] = parse_status(text)
    return out


def ppid(pid: int) -> int | None:
    value = status(pid).get("PPid")
    return int(value) if value else None


def is_alive(pid: int) -> bool:
    """Exists and is not a zombie."""
    state = status(pid).get("State", "")
    return bool(state) and not state.startswith("Z")


def proc_root(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/root")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None


def fd_links(pid: int) -> dict[int, str]:
    """{fd: readlink(/proc/PID/fd/FD)} (a chrooted process's paths come out
    absolute, as seen from our root)."""
    out = {}
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except (FileNotFoundError, ProcessLookupError):
        return out
    for name in names:
        try:
            out[int(name)] = os.readlink(f"/proc/{pid}/fd/{name}")
        except (FileNotFoundError, ProcessLookupError):
            pass
    return out


SOCKET_LINK = re.compile(r"^socket:\[(\d+)\]$")


def socket_inodes(pid: int) -> dict[int, int]:
    """{fd: socket inode} of every socket `pid` holds."""
    out = {}
    for fd, link in fd_links(pid).items():
        m = SOCKET_LINK.match(link)
        if m:
            out[fd] = int(m.group(1))
    return out


def unix_socket_inodes() -> set[int]:
    """Inodes of every unix socket in this network namespace (/proc/net/unix)."""
    inodes = set()
    for line in pathlib.Path("/proc/net/unix").read_text().splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 7:
            inodes.add(int(parts[6]))
    return inodes


def unix_peers() -> dict[int, int]:
    """{socket inode: peer socket inode} for the connected unnamed unix
    sockets (`ss -xan`: '* INODE * PEERINODE')."""
    out = subprocess.run(["ss", "-xan"], capture_output=True, text=True, check=True).stdout
    peers = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 8 and parts[0] in ("u_seq", "u_str", "u_dgr") and parts[4] == "*" and parts[6] == "*":
            try:
                peers[int(parts[5])] = int(parts[7])
            except ValueError:
                continue
    return peers


def connected_fds(pid_a: int, pid_b: int) -> list[int]:
    """Descriptors of `pid_a` whose socket's other end is held by `pid_b`."""
    peers = unix_peers()
    b_inodes = set(socket_inodes(pid_b).values())
    return sorted(fd for fd, inode in socket_inodes(pid_a).items() if peers.get(inode) in b_inodes)


# --------------------------------------------------------------- pidfd_getfd

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
SYS_PIDFD_OPEN = 434  # x86-64
SYS_PIDFD_GETFD = 438  # x86-64


def steal_fd(pid: int, fd: int) -> int:
    """A duplicate (same open file description) of descriptor `fd` of
    process `pid`, in this process: pidfd_open + pidfd_getfd (Linux >= 5.6).
    The caller closes it."""
    pidfd = _libc.syscall(ctypes.c_long(SYS_PIDFD_OPEN), ctypes.c_long(pid), ctypes.c_long(0))
    if pidfd < 0:
        e = ctypes.get_errno()
        raise OSError(e, f"pidfd_open({pid}): {os.strerror(e)}")
    try:
        new = _libc.syscall(
            ctypes.c_long(SYS_PIDFD_GETFD), ctypes.c_long(pidfd), ctypes.c_long(fd), ctypes.c_long(0))
        if new < 0:
            e = ctypes.get_errno()
            raise OSError(e, f"pidfd_getfd({pid}, {fd}): {os.strerror(e)}")
        return int(new)
    finally:
        os.close(pidfd)


# ------------------------------------------------------------------- polling


def wait_until(predicate, timeout: float, interval: float = 0.05, what: str = "condition"):
    """Polls `predicate` until it returns something truthy; returns that.
    Raises AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def unique_token(prefix: str = "tok") -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def make_message(token: str, subject: str = "test", body: str = "", sender: str = "tester@client.test",
                 to: str = "pt-alice@example.test") -> str:
    """A small RFC 5322 message whose Message-ID and body carry `token`."""
    return (
        f"From: <{sender}>\r\n"
        f"To: <{to}>\r\n"
        f"Subject: {subject}\r\n"
        f"Message-ID: <{token}@client.test>\r\n"
        f"\r\n"
        f"token={token}\r\n"
        f"{body}"
    )


# -------------------------------------------------------------------- daemon


class StalePeerChannel(AssertionError):
    """After a child was restarted, an IPC edge (socketpair) to it was not
    re-established: one end holds no socket connected to the other."""


class Daemon:
    """One `postern daemon` on a jail made by the `jail` fixture."""

    def __init__(self, jail, postern_bin, users=TEST_USERS):
        self.jail = jail
        self.bin = pathlib.Path(postern_bin)
        self.users = tuple(users)
        self.proc: subprocess.Popen | None = None
        self.exit_status: int | None = None
        # Every child pid ever seen, for the teardown.
        self.seen: set[int] = set()
        self.output_path = jail.prefix / "daemon.out"

    # ---- paths

    @property
    def prefix(self) -> pathlib.Path:
        return self.jail.prefix

    @property
    def log_path(self) -> pathlib.Path:
        return self.jail.log_file

    @property
    def pid_file(self) -> pathlib.Path:
        return self.jail.run_dir / "postern.pid"

    def mbox_path(self, user: str) -> pathlib.Path:
        return self.jail.mail_dir / user

    @property
    def pid(self) -> int:
        assert self.proc is not None, "daemon not started"
        return self.proc.pid

    # ---- life cycle

    def start(self, timeout: float = 20) -> "Daemon":
        for user in self.users:
            ensure_user(user)
        self._confine_remote_delivery()
        out = open(self.output_path, "ab")
        try:
            self.proc = subprocess.Popen(
                [str(self.bin), "daemon", "--config", str(self.jail.config)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True)
        finally:
            out.close()
        try:
            self.wait_ready(timeout=timeout)
            wait_until(self._port_accepts, timeout, what=f"{self.jail.listen} to accept")
        except AssertionError as e:
            raise AssertionError(f"{e}\n{self.diagnostics()}") from None
        return self

    # Remote delivery must never leave loopback: unless a test sets them,
    # every remote message goes to a smart host on 127.0.0.1 where nothing
    # listens (refused at once: deferred), and the lookup's DNS server is a
    # loopback port where nothing listens (never the machine's resolver).
    CLOSED_SMART_HOST = "[127.0.0.1]:1"

    def _confine_remote_delivery(self) -> None:
        text = self.jail.config.read_text()
        names = {line.split("=", 1)[0].strip().lower() for line in text.splitlines() if "=" in line
                 and not line.lstrip().startswith("#")}
        extra = ""
        if "smarthost" not in names:
            extra += f"SmartHost = {self.CLOSED_SMART_HOST}\n"
        if "dnsresolvers" not in names:
            from dns_server import silent_port
            extra += f"DnsResolvers = 127.0.0.1:{silent_port()}\n"
        if extra:
            self.jail.config.write_text(text + ("" if text.endswith("\n") else "\n") + extra)

    def _port_accepts(self) -> bool:
        try:
            with socket.create_connection((self.jail.host, self.jail.port), timeout=1):
                return True
        except OSError:
            return False

    def assert_running(self) -> None:
        assert self.proc is not None
        rc = self.proc.poll()
        assert rc is None, f"the master exited with status {rc}\n{self.diagnostics()}"

    def is_ready(self) -> dict[str, int] | None:
        """The children, once every role runs and has told the master it is
        ready (and the listener listens, the lookup has its user table, and
        every IPC edge is in place)."""
        self.assert_running()
        kids = self.children()
        if set(kids) != set(ROLES):
            return None
        text = self.log()
        for role, pid in kids.items():
            if f"postern/master[{self.pid}]: {role} ready, pid={pid}" not in text:
                return None
        if f"postern/listener[{kids['listener']}]: listening on" not in text:
            return None
        if f"postern/lookup[{kids['lookup']}]: user database loaded" not in text:
            return None
        # A peer's end arrives by SCM_RIGHTS on the child's master channel,
        # which it may read after telling the master it is ready.
        if self.missing_edges(kids):
            return None
        return kids

    def wait_ready(self, timeout: float = 10) -> dict[str, int]:
        return wait_until(self.is_ready, timeout, what="every child ready")

    def children(self) -> dict[str, int]:
        """{role: pid} of the live processes whose parent is the master and
        whose cmdline is `postern __child ROLE ...`."""
        kids: dict[str, int] = {}
        for pid in self._pids_with_parent(self.pid):
            args = cmdline(pid)
            if len(args) >= 3 and args[1] == CHILD_ARGUMENT:
                assert args[2] not in kids, f"two live {args[2]} children: {kids[args[2]]} and {pid}"
                kids[args[2]] = pid
                self.seen.add(pid)
        return kids

    def workers(self) -> list[int]:
        """Pids of the local-worker processes under the current `local`."""
        local = self.children().get("local")
        if local is None:
            return []
        found = []
        for pid in self._pids_with_parent(local):
            args = cmdline(pid)
            if len(args) >= 3 and args[1] == CHILD_ARGUMENT and args[2] == "local-worker":
                found.append(pid)
                self.seen.add(pid)
        return found

    @staticmethod
    def _pids_with_parent(parent: int) -> list[int]:
        pids = []
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            st = status(pid)
            if st.get("PPid") == str(parent) and not st.get("State", "").startswith("Z"):
                pids.append(pid)
        return pids

    def leftover_processes(self) -> list[int]:
        """Live `postern __child` processes that belong to this daemon: ones
        seen as its children, or whose root or log descriptor lies in the
        jail (an orphan's parent is no longer the master)."""
        prefix = str(self.prefix) + "/"
        found = []
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            args = cmdline(pid)
            if len(args) < 2 or args[1] != CHILD_ARGUMENT or not is_alive(pid):
                continue
            root = proc_root(pid) or ""
            links = fd_links(pid)
            if pid in self.seen or root.startswith(prefix) or any(
                    link.startswith(prefix) for link in links.values()):
                found.append(pid)
        return found

    def missing_edges(self, kids: dict[str, int] | None = None) -> list[str]:
        """The edges (child<->child, master<->child) with no connected
        socketpair right now, as "a[pid] <-> b[pid]"."""
        kids = kids or self.children()
        missing = []
        for a, b in EDGES:
            if a in kids and b in kids and not connected_fds(kids[a], kids[b]):
                missing.append(f"{a}[{kids[a]}] <-> {b}[{kids[b]}]")
        for role, pid in kids.items():
            if not connected_fds(self.pid, pid):
                missing.append(f"master[{self.pid}] <-> {role}[{pid}]")
        return missing

    def assert_edges_restored(self, why: str, settle: float = 0.3, timeout: float = 2.0) -> None:
        """Every edge exists (after `settle` seconds, and still `timeout`
        later at the latest); raises StalePeerChannel naming the missing ones."""
        time.sleep(settle)
        deadline = time.monotonic() + timeout
        while True:
            kids = self.children()
            missing = self.missing_edges(kids)
            if not missing:
                return
            if time.monotonic() >= deadline:
                holdings = "\n".join(f"  {role}[{pid}] fds: {fd_links(pid)}" for role, pid in kids.items())
                raise StalePeerChannel(
                    f"{why}: IPC edges not re-established: {', '.join(missing)}\n{holdings}\n{self.diagnostics(30)}")
            time.sleep(0.05)

    def signal(self, sig: int) -> None:
        os.kill(self.pid, sig)

    def stop(self, timeout: float = 15) -> int:
        """SIGTERM and wait; asserts exit status 0. Returns the status."""
        assert self.proc is not None
        self.children()  # remember the current ones for the teardown
        self.workers()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the master did not exit within {timeout}s of SIGTERM\n{self.diagnostics()}")
        self.exit_status = rc
        assert rc == 0, f"postern daemon exited with status {rc} after SIGTERM\n{self.diagnostics()}"
        return rc

    def kill_all(self) -> None:
        """Teardown: kill -9 the master and every process (and process group)
        of this daemon that is left."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.children()
                self.workers()
            except Exception:
                pass
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        for _ in range(3):
            left = self.leftover_processes()
            if not left:
                break
            for pid in left:
                try:
                    if os.getpgid(pid) == pid:  # every child leads its own group
                        os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)

    # ---- logs

    def log(self) -> str:
        return read_text(self.log_path) or ""

    def log_since(self, offset: int) -> str:
        return self.log()[offset:]

    def diagnostics(self, tail: int = 60) -> str:
        lines = self.log().splitlines()[-tail:]
        out = read_text(self.output_path) or ""
        return ("--- log tail ---\n" + "\n".join(lines) +
                ("\n--- master stdout/stderr ---\n" + out[-4000:] if out.strip() else ""))

    # ---- mail

    def send(self, rcpts, body, sender: str = "tester@client.test", timeout: float = 30) -> dict:
        """Sends one message with smtplib; returns the refused-recipients
        dict (raises smtplib's exceptions, e.g. when every RCPT is refused)."""
        if isinstance(rcpts, str):
            rcpts = [rcpts]
        with smtplib.SMTP(self.jail.host, self.jail.port, timeout=timeout) as client:
            client.ehlo("client.test")
            refused = client.sendmail(sender, list(rcpts), body)
            client.quit()
        return refused

    def mbox(self, user: str) -> str:
        return read_text(self.mbox_path(user)) or ""

    def wait_for_mbox(self, user: str, predicate, timeout: float = 10) -> str:
        """Polls P/var/mail/USER until predicate(text) holds; returns the text."""
        last = {"text": ""}

        def check():
            last["text"] = self.mbox(user)
            return predicate(last["text"])

        try:
            wait_until(check, timeout, what=f"the mbox of {user}")
        except AssertionError as e:
            raise AssertionError(
                f"{e}; mbox now:\n{last['text'][-2000:]}\n{self.diagnostics()}") from None
        return last["text"]

    def deliver_and_wait(self, user: str = "pt-alice", timeout: float = 10) -> str:
        """Sends one message with a fresh token to USER@domain and waits for
        it to arrive exactly once; returns the token."""
        token = unique_token()
        address = f"{user}@{self.jail.domain}"
        refused = self.send([address], make_message(token, to=address))
        assert refused == {}, f"refused: {refused}"
        text = self.wait_for_mbox(user, lambda t: token in t, timeout=timeout)
        assert text.count(f"token={token}") == 1, f"{token} delivered {text.count(token)} times"
        return token
