"""The systemd unit and the logrotate snippet (jail/postern.service.in,
jail/logrotate.postern.in) that `scripts/setup-jail --install-links`
installs, and the checks an administrator would run on them.

This machine runs no systemd as PID 1: the unit is checked with
`systemd-analyze verify` and `systemd-analyze security --offline=true` on the
file, and its capability bounding set and NoNewPrivileges are tried for real
by running the daemon under `setpriv` with the same settings. The snippet is
checked with `logrotate --debug` (a dry run) and by rotating a running
daemon's LogFile with a state file of the test's own.

Every test works under a /tmp prefix: the unit there names PREFIX's binary
and paths (the binary is a copy of POSTERN_BIN, as in test_install_links),
so `systemd-analyze verify` finds what ExecStart names without --root."""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import stat
import subprocess

import pytest

from conftest import REPO_ROOT, run_setup_jail
from test_install_links import install_binary, output, tree_snapshot

UNIT = "/etc/systemd/system/postern.service"
SNIPPET = "/etc/logrotate.d/postern"
SAVED = ".postern-saved"
README = REPO_ROOT / "README.md"


def systemd_analyze() -> str:
    path = shutil.which("systemd-analyze")
    if path is None:
        pytest.skip("systemd-analyze is not installed (apt-get install systemd; scripts/test does)")
    return path


def logrotate() -> str:
    path = shutil.which("logrotate") or ("/usr/sbin/logrotate" if os.path.exists("/usr/sbin/logrotate") else None)
    if path is None:
        pytest.skip("logrotate is not installed (apt-get install logrotate; scripts/test does)")
    return path


def render(template: str, prefix: pathlib.Path, binary: pathlib.Path) -> str:
    text = (REPO_ROOT / "jail" / template).read_text()
    return text.replace("@PREFIX@", str(prefix)).replace("@BINARY@", str(binary))


def unit_values(text: str, key: str) -> list[str]:
    return [line.split("=", 1)[1].strip() for line in text.splitlines() if line.startswith(key + "=")]


def readme_score() -> float:
    """The exposure level README's "Running it under systemd" promises."""
    text = README.read_text()
    section = text.split("## Running it under systemd", 1)
    assert len(section) == 2, "README has no 'Running it under systemd' section"
    m = re.search(r"exposure\s+level\s+(\d+\.\d+)", section[1].split("\n## ", 1)[0])
    assert m, "README's systemd section states no 'exposure level N.N'"
    return float(m.group(1))


@pytest.fixture
def installed(jail, postern_bin):
    """A fresh jail with the binary at PREFIX/usr/sbin/postern, nothing installed yet."""
    j = jail()
    binary = install_binary(j, postern_bin)
    return j, binary


@pytest.fixture
def unit(installed):
    """The jail with --install-links run: (jail, binary, unit path, snippet path)."""
    j, binary = installed
    result = j.setup("--install-links")
    assert result.returncode == 0, output(result)
    return j, binary, j.path(UNIT), j.path(SNIPPET)


# ---------------------------------------------------------------- installing


def test_installed_under_prefix(installed):
    j, binary = installed
    result = j.setup("--install-links")
    assert result.returncode == 0, output(result)
    lines = result.stdout.splitlines()
    for name, template in ((UNIT, "postern.service.in"), (SNIPPET, "logrotate.postern.in")):
        p = j.path(name)
        assert f"setup-jail: installed {p}" in lines
        st = os.lstat(p)
        assert stat.S_ISREG(st.st_mode)
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, 0o644), name
        text = p.read_text()
        assert text == render(template, j.prefix, binary)
        assert "@PREFIX@" not in text and "@BINARY@" not in text
    unit_text = j.path(UNIT).read_text()
    assert unit_values(unit_text, "ExecStart") == [f"{binary} daemon --config {j.config}"]
    # Every directory the manifest says Postern writes is writable in the sandbox.
    writable = {v.lstrip("-") for v in unit_values(unit_text, "ReadWritePaths")}
    for d in ("/var/spool/postern", "/var/spool/postern-drop", "/var/mail", "/var/mailjail",
              "/run/postern", "/var/log/postern"):
        assert str(j.path(d)) in writable, d
    assert f"{j.prefix}/var/log/postern/*.log {{" in j.path(SNIPPET).read_text()
    check = j.setup("--check", "--install-links")
    assert check.returncode == 0, output(check)


def test_idempotent(unit):
    j, _, unit_path, snippet = unit
    before = tree_snapshot(j.prefix)
    result = j.setup("--install-links")
    assert result.returncode == 0, output(result)
    assert result.stdout.strip().splitlines() == ["setup-jail: done, 0 change(s)"]
    assert tree_snapshot(j.prefix) == before


def test_plain_setup_installs_no_unit(jail):
    j = jail()
    assert not j.path(UNIT).exists() and not j.path(SNIPPET).exists()
    assert not j.path("/etc/systemd").exists() and not j.path("/etc/logrotate.d").exists()


def test_mode_drift_reported_and_fixed(unit):
    j, _, unit_path, _ = unit
    os.chmod(unit_path, 0o666)
    check = j.setup("--check", "--install-links")
    assert check.returncode == 1, output(check)
    assert f"{unit_path}: mode 0666, expected 0644" in check.stdout
    result = j.setup("--install-links")
    assert result.returncode == 0, output(result)
    assert stat.S_IMODE(os.lstat(unit_path).st_mode) == 0o644
    assert j.setup("--check", "--install-links").returncode == 0


def test_refuses_a_different_unit_without_force(installed):
    j, binary = installed
    unit_path = j.path(UNIT)
    unit_path.parent.mkdir(mode=0o755, parents=True)
    edited = b"[Service]\nExecStart=/bin/true\n"
    unit_path.write_bytes(edited)
    before = tree_snapshot(j.prefix)

    check = j.setup("--check", "--install-links")
    assert check.returncode == 1
    assert f"{unit_path}: a different file, expected the one made from jail/postern.service.in" in check.stdout

    result = j.setup("--install-links")
    assert result.returncode == 1, output(result)
    assert f"{unit_path}: is a different file; not replaced. --force moves it aside to {unit_path}{SAVED}" \
        in result.stderr
    # Nothing installed: not the unit, not the snippet, not one link. The only
    # change: the parents the links and the snippet need (root 0755, empty).
    assert unit_path.read_bytes() == edited
    after = tree_snapshot(j.prefix)
    assert not j.path(SNIPPET).exists() and not j.path("/usr/sbin/sendmail").exists()
    for p in set(after) - set(before):
        assert os.path.isdir(p) and not os.listdir(p), p

    forced = j.setup("--install-links", "--force")
    assert forced.returncode == 0, output(forced)
    assert f"setup-jail: moved {unit_path} (a different file) aside to {unit_path}{SAVED}" in forced.stdout
    assert pathlib.Path(f"{unit_path}{SAVED}").read_bytes() == edited
    assert unit_path.read_text() == render("postern.service.in", j.prefix, binary)
    assert j.setup("--check", "--install-links").returncode == 0

    # A second --force finds nothing to replace and keeps the saved copy.
    again = j.setup("--install-links", "--force")
    assert again.returncode == 0, output(again)
    assert again.stdout.strip().splitlines() == ["setup-jail: done, 0 change(s)"]
    assert pathlib.Path(f"{unit_path}{SAVED}").read_bytes() == edited


def test_masked_unit_is_not_unmasked_without_force(installed):
    """`systemctl mask postern` leaves a link to /dev/null: the administrator's
    decision, kept unless --force."""
    j, _ = installed
    unit_path = j.path(UNIT)
    unit_path.parent.mkdir(mode=0o755, parents=True)
    unit_path.symlink_to("/dev/null")
    result = j.setup("--install-links")
    assert result.returncode == 1, output(result)
    assert f"{unit_path}: is a symbolic link to /dev/null; not replaced" in result.stderr
    assert os.readlink(unit_path) == "/dev/null"
    forced = j.setup("--install-links", "--force")
    assert forced.returncode == 0, output(forced)
    assert os.readlink(f"{unit_path}{SAVED}") == "/dev/null"
    assert not unit_path.is_symlink() and unit_path.is_file()


def test_edited_snippet_refused_and_reported(unit):
    j, _, _, snippet = unit
    with open(snippet, "a") as f:
        f.write("# local change\n")
    check = j.setup("--check", "--install-links")
    assert check.returncode == 1
    assert f"{snippet}: a different file, expected the one made from jail/logrotate.postern.in" in check.stdout
    result = j.setup("--install-links")
    assert result.returncode == 1, output(result)
    assert snippet.read_text().endswith("# local change\n")


# ---------------------------------------------------------------- systemd-analyze


def test_systemd_analyze_verify(unit):
    """No warning at all: an unknown key or a bad value is only a warning
    for systemd-analyze (exit 0), so the output must be empty too."""
    tool = systemd_analyze()
    _, _, unit_path, _ = unit
    result = subprocess.run([tool, "verify", str(unit_path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, output(result)
    assert result.stdout.strip() == "" and result.stderr.strip() == "", output(result)


def test_systemd_analyze_security_score(unit):
    tool = systemd_analyze()
    _, _, unit_path, _ = unit
    result = subprocess.run([tool, "security", "--offline=true", "--no-pager", str(unit_path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, output(result)
    m = re.search(r"Overall exposure level for postern\.service: (\d+\.\d+)", result.stdout)
    assert m, output(result)
    assert float(m.group(1)) <= readme_score(), output(result)


def test_daemon_runs_under_the_units_bounding_set(unit):
    """The unit's CapabilityBoundingSet and NoNewPrivileges, applied with
    setpriv as systemd would apply them to a root service: every child
    starts and drops, local starts a worker that delivers, the master stops
    cleanly. (A capability missing from the set stops the children: without
    CAP_SETPCAP every drop fails with EPERM.)"""
    from daemon import Daemon, status

    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed")
    j, binary, unit_path, _ = unit
    text = unit_path.read_text()
    caps = " ".join(unit_values(text, "CapabilityBoundingSet")).split()
    assert caps and all(c.startswith("CAP_") for c in caps), caps
    assert unit_values(text, "NoNewPrivileges") == ["yes"]
    bounding = "-all," + ",".join("+" + c[4:].lower() for c in caps)
    wrapper = j.path("/usr/sbin/postern-under-unit")
    wrapper.write_text(f'#!/bin/sh\nexec setpriv --no-new-privs --bounding-set {bounding} {binary} "$@"\n')
    os.chmod(wrapper, 0o755)

    d = Daemon(j, wrapper)
    try:
        d.start()
        master = status(d.pid)
        assert master["NoNewPrivs"] == "1"
        expected = int(master["CapBnd"], 16)
        assert int(master["CapPrm"], 16) == expected
        assert bin(expected).count("1") == len(caps)
        d.deliver_and_wait("pt-alice")
        assert d.stop() == 0
    finally:
        d.kill_all()


# ---------------------------------------------------------------- logrotate


def test_logrotate_debug_accepts_snippet(unit, tmp_path):
    tool = logrotate()
    j, _, _, snippet = unit
    j.log_file.write_text("a line\n")
    result = subprocess.run([tool, "--debug", "--force", "--state", str(tmp_path / "state"), str(snippet)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, output(result)
    text = result.stdout + result.stderr
    assert f"rotating pattern: {j.prefix}/var/log/postern/*.log" in text, text
    assert "error" not in text.lower(), text
    assert "running postrotate script" in text, text
    assert j.log_file.read_text() == "a line\n"  # a dry run
    assert not pathlib.Path(f"{j.log_file}.1").exists()


def test_logrotate_rotates_a_running_daemons_log(start_daemon, postern_bin, tmp_path):
    """A real rotation: the file is renamed, a new one made root 0640, the
    master signalled through the pid file (SIGUSR1: reopen the LogFile), and
    the daemon keeps serving, now into the new file."""
    from daemon import wait_until

    tool = logrotate()
    d = start_daemon()
    j = d.jail
    install_binary(j, postern_bin)
    result = j.setup("--install-links")
    assert result.returncode == 0, output(result)
    d.deliver_and_wait("pt-alice")
    # The snippet believes the pid file only for a process named postern.
    assert d.pid_file.read_text().strip() == str(d.pid)
    assert pathlib.Path(f"/proc/{d.pid}/comm").read_text().strip() == "postern"
    result = subprocess.run([tool, "--force", "--verbose", "--state", str(tmp_path / "state"), str(j.path(SNIPPET))],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, output(result)
    rotated = pathlib.Path(f"{j.log_file}.1")
    assert rotated.exists() and "queued" in rotated.read_text()
    st = os.lstat(j.log_file)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, 0o640)
    # The postrotate script's SIGUSR1 reached the master, which reopened the
    # LogFile and handed the new one to its children.
    wait_until(lambda: "log file reopened" in j.log_file.read_text(), 5, what="the master to reopen its LogFile")
    d.assert_running()
    d.deliver_and_wait("pt-alice")
    wait_until(lambda: "status=sent" in j.log_file.read_text(), 5, what="the queue to log in the new file")
    assert d.stop() == 0
