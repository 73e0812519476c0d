"""Fixtures shared by the integration tests in Tests/Integration.

Environment (scripts/test sets both):
  POSTERN_BIN   the postern executable under test (scripts/test: the
                release build, .build/release/postern, as scripts/run and
                users run it; any build works when set by hand)
  POSTERN_ROOT  the repository root (default: two levels above this file)

These tests run as root: scripts/setup-jail creates the system users and
chowns the tree, and the daemon chroots and drops privileges.

Fixtures:
  repo_root    pathlib.Path of the repository
  postern_bin  pathlib.Path of the binary; fails the test if it is missing
  jail         a factory: jail(domain=..., hostname=..., port=...) lays out a
               fresh tree with scripts/setup-jail under /tmp/pt-XXXXXXXX and
               returns a Jail (prefix, config, host, port, listen, domain, ...);
               every prefix made is removed after the test
Helpers: free_port(), read_manifest(), run_setup_jail(prefix, *args),
read_config(path).
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile

import pytest

REPO_ROOT = pathlib.Path(
    os.environ.get("POSTERN_ROOT") or pathlib.Path(__file__).resolve().parents[2]
)
SETUP_JAIL = REPO_ROOT / "scripts" / "setup-jail"
MANIFEST = REPO_ROOT / "jail" / "manifest"
CONFIG_TEMPLATE = REPO_ROOT / "jail" / "postern.conf.in"

POSTERN_GROUP = "postern"
POSTERN_USERS = ("postern-smtpd", "postern-lookup", "postern-queue", "postern-relay", "postern-submit")

# Short: Unix socket paths under the prefix must stay below 108 bytes, so not
# under pytest's own (long) temporary directory.
PREFIX_PARENT = "/tmp"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclasses.dataclass(frozen=True)
class ManifestEntry:
    kind: str  # dir | empty-dir | file
    path: str  # absolute, default layout
    owner: str
    group: str
    mode: int

    def under(self, prefix: pathlib.Path | str) -> pathlib.Path:
        return pathlib.Path(f"{prefix}{self.path}")


def read_manifest(path: pathlib.Path = MANIFEST) -> list[ManifestEntry]:
    """jail/manifest, the same file scripts/setup-jail reads."""
    entries = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        kind, p, owner, group, mode = line.split()
        entries.append(ManifestEntry(kind, p, owner, group, int(mode, 8)))
    return entries


def read_config(path: pathlib.Path | str) -> dict[str, str]:
    """postern.conf as {name: value}; comments and blank lines skipped."""
    values = {}
    for raw in pathlib.Path(path).read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        assert sep, f"not a 'name = value' line: {raw!r}"
        values[name.strip()] = value.strip()
    return values


def run_setup_jail(prefix, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """scripts/setup-jail --prefix PREFIX ARGS..., output captured as text."""
    cmd = [str(SETUP_JAIL)]
    if prefix is not None:
        cmd += ["--prefix", str(prefix)]
    cmd += list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def require_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("the integration tests must run as root (setup-jail creates users and chowns)")


@dataclasses.dataclass
class Jail:
    """A tree laid out by setup-jail under `prefix`, and its postern.conf."""

    prefix: pathlib.Path
    config: pathlib.Path
    host: str
    port: int
    domain: str
    hostname: str
    setup_output: str = ""

    @property
    def listen(self) -> str:
        return f"{self.host}:{self.port}"

    def path(self, default_path: str) -> pathlib.Path:
        """Where a default-layout path (e.g. /var/spool/postern) is in this jail."""
        assert default_path.startswith("/")
        return pathlib.Path(f"{self.prefix}{default_path}")

    @property
    def config_dir(self) -> pathlib.Path:
        return self.path("/etc/postern")

    @property
    def spool(self) -> pathlib.Path:
        return self.path("/var/spool/postern")

    @property
    def drop_dir(self) -> pathlib.Path:
        return self.path("/var/spool/postern-drop")

    @property
    def empty_dir(self) -> pathlib.Path:
        return self.path("/var/lib/postern/empty")

    @property
    def mail_dir(self) -> pathlib.Path:
        return self.path("/var/mail")

    @property
    def mailjail(self) -> pathlib.Path:
        return self.path("/var/mailjail")

    @property
    def smrsh_dir(self) -> pathlib.Path:
        return self.path("/etc/postern/smrsh")

    @property
    def run_dir(self) -> pathlib.Path:
        return self.path("/run/postern")

    @property
    def log_file(self) -> pathlib.Path:
        return self.path("/var/log/postern/postern.log")

    def read_config(self) -> dict[str, str]:
        return read_config(self.config)

    def setup(self, *args: str) -> subprocess.CompletedProcess:
        """Run setup-jail again on this prefix."""
        return run_setup_jail(self.prefix, *args)

    def check(self) -> subprocess.CompletedProcess:
        """setup-jail --check on this prefix."""
        return run_setup_jail(self.prefix, "--check")


@pytest.fixture(scope="session")
def repo_root() -> pathlib.Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def postern_bin() -> pathlib.Path:
    value = os.environ.get("POSTERN_BIN")
    if not value:
        pytest.fail("POSTERN_BIN is not set (run through scripts/test, or export it)")
    path = pathlib.Path(value)
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"POSTERN_BIN={value} is not an executable file (did the build fail?)")
    return path


@pytest.fixture
def jail(tmp_path_factory):
    """Factory: jail(domain="example.test", hostname=None, port=None,
    host="127.0.0.1", extra_args=()) -> Jail. Fails the test if setup-jail
    fails. Every prefix it made is removed afterwards."""
    made: list[pathlib.Path] = []

    def make(
        *,
        domain: str = "example.test",
        hostname: str | None = None,
        port: int | None = None,
        host: str = "127.0.0.1",
        extra_args: tuple[str, ...] = (),
    ) -> Jail:
        require_root()
        prefix = pathlib.Path(tempfile.mkdtemp(prefix="pt-", dir=PREFIX_PARENT))
        made.append(prefix)
        port = port or free_port(host)
        args = ["--listen", f"{host}:{port}", "--domain", domain]
        if hostname:
            args += ["--hostname", hostname]
        args += list(extra_args)
        result = run_setup_jail(prefix, *args)
        output = result.stdout + result.stderr
        log_dir = tmp_path_factory.mktemp("setup-jail")
        (log_dir / "output.txt").write_text(f"$ setup-jail --prefix {prefix} {' '.join(args)}\n{output}")
        if result.returncode != 0:
            pytest.fail(f"setup-jail --prefix {prefix} failed ({result.returncode}):\n{output}")
        return Jail(
            prefix=prefix,
            config=prefix / "etc/postern/postern.conf",
            host=host,
            port=port,
            domain=domain,
            hostname=hostname or f"mail.{domain}",
            setup_output=output,
        )

    yield make

    for prefix in made:
        shutil.rmtree(prefix, ignore_errors=True)


# ------------------------------------------------------------------------
# Running daemons (Tests/Integration/daemon.py). Appended; the fixtures
# above are owned elsewhere.


@pytest.fixture
def start_daemon(jail, postern_bin):
    """Factory: start_daemon(start=True, **jail_kwargs) -> daemon.Daemon on a
    fresh jail, started (and ready) unless start=False. Every daemon it made
    is killed (-9, with its children's process groups) afterwards."""
    from daemon import Daemon

    made = []

    def make(*, start: bool = True, **jail_kwargs):
        d = Daemon(jail(**jail_kwargs), postern_bin)
        made.append(d)
        if start:
            d.start()
        return d

    yield make

    for d in made:
        d.kill_all()


def pytest_addoption(parser):
    parser.addoption(
        "--fault-long", action="store_true", default=False,
        help="the long fault test: 100 kills while 5,000 messages flow (test_fault.py)")
