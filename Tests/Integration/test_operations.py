"""Running it (issue 15, items 2, 3 and 5): `postern status`, `reload`,
`stop` and `--version` through the master's control socket; the LogFile
reopened after a rotation (SIGUSR1, SIGHUP); the notices when logs would
go nowhere; `newaliases` failing when the daemon was not told; refused
queue requests logged; and `postern check`'s audit of every file the
daemon trusts, on a tree made unsafe on purpose."""

from __future__ import annotations

import os
import pathlib
import pwd
import re
import shutil
import signal
import subprocess
import time

import pytest

from daemon import as_user, ensure_user, make_message, status, unique_token, wait_until
from smtp_client import set_options


def run(d, postern_bin, *args, user: str | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([str(postern_bin), *args, "--config", str(d.jail.config)], capture_output=True, text=True,
                          timeout=timeout, preexec_fn=as_user(user) if user else None)


def test_version(postern_bin):
    result = subprocess.run([str(postern_bin), "--version"], capture_output=True, text=True)
    assert result.returncode == 0
    assert re.fullmatch(r"postern \d+\.\d+\.\d+(-dev)?\n", result.stdout), result.stdout


def test_status_agrees_with_proc(start_daemon, postern_bin):
    d = start_daemon()
    os.chmod(d.jail.prefix, 0o755)
    kids = d.wait_ready()
    result = run(d, postern_bin, "status")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"master pid {d.pid}" in out
    assert str(d.jail.config) in out
    assert d.jail.listen in out
    for role, pid in kids.items():
        line = next((l for l in out.splitlines() if l.startswith(role + " ")), None)
        assert line, f"no line for {role}:\n{out}"
        cells = line.split()
        assert cells[1] == str(pid)
        uid = int(status(pid)["Uid"].split()[0])
        assert cells[2] == pwd.getpwuid(uid).pw_name
        assert cells[3] == os.readlink(f"/proc/{pid}/root")
        assert cells[-1] == "ready"
    assert "messages" in out  # the queue's counts
    # A user who is not a queue administrator may not ask.
    ensure_user("pt-bob")
    denied = run(d, postern_bin, "status", user="pt-bob")
    assert denied.returncode == 4, denied.stderr


def test_status_of_a_stopped_daemon_and_restarts(start_daemon, postern_bin):
    d = start_daemon()
    kids = d.wait_ready()
    os.kill(kids["relay"], signal.SIGKILL)
    wait_until(lambda: d.children().get("relay") not in (None, kids["relay"]), 10, what="the relay restarted")
    d.wait_ready()
    out = run(d, postern_bin, "status").stdout
    relay = next(l for l in out.splitlines() if l.startswith("relay "))
    assert " 1 " in relay and "signal=9" in relay, relay
    d.stop()
    stopped = run(d, postern_bin, "status")
    assert stopped.returncode == 3
    assert "not running" in stopped.stderr


def test_reload_applied_named_and_refused(start_daemon, postern_bin):
    d = start_daemon()
    set_options(d.jail.config, {"MaxHopCount": 42})
    result = run(d, postern_bin, "reload")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("applied")
    assert "changed: MaxHopCount" in result.stdout
    text = d.jail.config.read_text()
    d.jail.config.write_text(re.sub(r"(?m)^Listen = .*$", "Listen = 127.0.0.1:1", text))
    result = run(d, postern_bin, "reload")
    assert "takes effect at the next restart: Listen" in result.stdout, result.stdout
    d.jail.config.write_text(text + "\nNoSuchOption = 1\n")
    result = run(d, postern_bin, "reload")
    assert result.returncode == 1
    assert "reload refused" in result.stderr and "NoSuchOption" in result.stderr
    d.jail.config.write_text(text)
    d.assert_running()


def test_stop(start_daemon, postern_bin):
    d = start_daemon()
    result = run(d, postern_bin, "stop")
    assert result.returncode == 0 and "stopping" in result.stdout
    assert d.proc.wait(timeout=20) == 0


@pytest.mark.parametrize("how", ["usr1", "hup", "reload"])
def test_the_log_file_is_reopened_after_a_rotation(start_daemon, postern_bin, how):
    d = start_daemon()
    d.wait_ready()
    log = d.jail.log_file
    rotated = log.with_name("postern.log.1")
    log.rename(rotated)
    if how == "usr1":
        os.kill(d.pid, signal.SIGUSR1)
    elif how == "hup":
        os.kill(d.pid, signal.SIGHUP)
    else:
        assert run(d, postern_bin, "reload").returncode == 0
    wait_until(lambda: log.exists() and "log file reopened" in log.read_text(), 10, what="the new log file")
    time.sleep(0.3)  # the children take their new standard error
    token = unique_token("rotated")
    assert d.send(["pt-alice@example.test"], make_message(token)) == {}
    d.wait_for_mbox("pt-alice", lambda text: token in text)
    wait_until(lambda: "status=sent" in log.read_text(), 10, what="the queue's line in the new file")
    new = log.read_text()
    for role in ("listener", "queue"):
        assert f"postern/{role}[" in new, f"no {role} line in the new file:\n{new}"
    assert "status=sent" not in rotated.read_text().split("log file reopened")[-1]


def test_logs_that_go_nowhere_are_announced(start_daemon, postern_bin):
    d = start_daemon(start=False)
    def stderr_of_a_short_run(*flags: str) -> str:
        p = subprocess.Popen([str(postern_bin), "daemon", *flags, "--config", str(d.jail.config)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            time.sleep(1.5)
        finally:
            os.killpg(p.pid, signal.SIGTERM)
            _, err = p.communicate(timeout=20)
        return err

    # Under -d with a LogFile: said on stderr.
    set_options(d.jail.config, {"LogFile": str(d.jail.log_file)})
    err = stderr_of_a_short_run("-d")
    assert "LogFile" in err and "is not written" in err, err
    if os.path.exists("/dev/log"):
        return
    set_options(d.jail.config, {"LogFile": "syslog"})
    err = stderr_of_a_short_run()
    assert "nothing will be logged" in err, err


def test_newaliases_fails_when_the_daemon_was_not_told(start_daemon, postern_bin):
    d = start_daemon()
    os.chmod(d.jail.prefix, 0o755)
    ensure_user("pt-bob")
    denied = run(d, postern_bin, "newaliases", user="pt-bob")
    assert denied.returncode == 1, denied.stdout + denied.stderr
    assert "was not told" in denied.stderr
    ok = run(d, postern_bin, "newaliases")
    assert ok.returncode == 0, ok.stderr


def test_a_refused_queue_request_is_logged_and_a_stopped_daemon_is_named(start_daemon, postern_bin):
    d = start_daemon()
    os.chmod(d.jail.prefix, 0o755)
    ensure_user("pt-bob")
    uid = pwd.getpwnam("pt-bob").pw_uid
    refused = run(d, postern_bin, "mailq", user="pt-bob")
    assert refused.returncode == 1 and "restrictmailq" in refused.stderr
    wait_until(lambda: f"control: refused list by uid={uid}" in d.log(), 10, what="the refusal in the log")
    d.stop()
    down = run(d, postern_bin, "mailq")
    assert down.returncode == 1 and "not running" in down.stderr


def test_check_audits_every_file_the_daemon_trusts(jail, postern_bin):
    j = jail()
    ensure_user("pt-bob")
    ok = subprocess.run([str(postern_bin), "check", "--config", str(j.config)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    (j.config_dir / "access").write_text("Connect:127.0.0.9 RELAY\n")
    os.chmod(j.config_dir / "access", 0o666)
    (j.config_dir / "mailertable").write_text("x.test error:5.7.1:550 no\n")
    shutil.chown(j.config_dir / "mailertable", "pt-bob")
    include = j.prefix / "list.inc"
    include.write_text("pt-alice\n")
    os.chmod(include, 0o664)
    (j.config_dir / "aliases").write_text(f"team: :include:{include}\n")
    (j.config_dir / "sasldb2").write_bytes(b"")
    os.chmod(j.config_dir / "sasldb2", 0o644)
    program = j.smrsh_dir / "vacation"
    program.write_text("#!/bin/sh\n")
    os.chmod(program, 0o755)
    shutil.chown(program, "pt-bob")
    os.chmod(j.mailjail, 0o777)
    os.chmod(j.config, 0o666)
    result = subprocess.run([str(postern_bin), "check", "--config", str(j.config)], capture_output=True, text=True)
    assert result.returncode == 1
    err = result.stderr
    expected = [
        f"{j.config}: writable by group or others (mode 0666)",
        f"{j.config_dir}/access: writable by group or others (mode 0666)",
        f"{j.config_dir}/mailertable: owned by uid {pwd.getpwnam('pt-bob').pw_uid}, not root",
        f"{include}: writable by group or others (mode 0664)",
        f"{j.config_dir}/sasldb2: readable by others (mode 0644)",
        f"{program}: owned by uid {pwd.getpwnam('pt-bob').pw_uid}, not root",
        f"{j.mailjail}: writable by group or others (mode 0777)",
    ]
    for line in expected:
        assert line in err, f"missing {line!r} in:\n{err}"


def test_setup_jail_check_audits_trusted_files_beyond_the_manifest(jail):
    j = jail()
    ensure_user("pt-bob")
    assert j.check().returncode == 0
    (j.config_dir / "mailertable").write_text("x.test error:5.7.1:550 no\n")
    os.chmod(j.config_dir / "mailertable", 0o666)
    (j.config_dir / "sasldb2").write_bytes(b"")
    os.chmod(j.config_dir / "sasldb2", 0o644)
    program = j.smrsh_dir / "vacation"
    program.write_text("#!/bin/sh\n")
    shutil.chown(program, "pt-bob")
    result = j.check()
    assert result.returncode == 1
    out = result.stdout + result.stderr
    assert f"{j.config_dir}/mailertable: mode 0666 is writable by group or others" in out, out
    assert f"{j.config_dir}/sasldb2: mode 0644 is readable by others" in out, out
    assert f"{program}: owner pt-bob, expected root" in out, out
