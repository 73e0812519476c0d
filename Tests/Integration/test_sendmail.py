"""Local submission (issue 14): the sendmail command line against the real
daemon — as root and as an unprivileged user, the invocations real programs
use, -bv, -bp, -q under restrictqrun, a message submitted while the daemon
is down, hostile drop files, the untrusted -f warning, the submit process's
privileges read from /proc, and relaying for local mail only."""

from __future__ import annotations

import os
import pathlib
import pwd
import smtplib
import subprocess
import time

import pytest

from daemon import TEST_USERS, as_user, ensure_user, status, unique_token, wait_until
from smtp_client import fresh_daemon, set_options

ALIASES = "team: pt-alice, pt-bob\nfar: someone@remote.test\n"
VIRTUSERTABLE = "info@virtual.test pt-alice\n"


@pytest.fixture(scope="module")
def sd(postern_bin):
    def before(jail):
        # mkdtemp made the prefix 0700: users must reach the config and the drop directory.
        os.chmod(jail.prefix, 0o755)
        for user in TEST_USERS:
            ensure_user(user)

    files = {"aliases": ALIASES, "virtusertable": VIRTUSERTABLE, "local-host-names": "example.test\nvirtual.test\n"}
    with fresh_daemon(postern_bin, files=files, before_start=before) as d:
        yield d


def sendmail(d, postern_bin, args, message: bytes, user: str | None = None, argv0: str | None = None,
             timeout: float = 30) -> subprocess.CompletedProcess:
    """`postern sendmail ARGS` (or the binary run as `sendmail` through a
    link), as root or as `user`, with POSTERN_CONFIG naming the jail's."""
    if argv0:
        link = pathlib.Path(d.jail.prefix) / argv0
        if not link.exists():
            link.symlink_to(postern_bin)
        command = [str(link)] + list(args)
    else:
        command = [str(postern_bin), "sendmail"] + list(args)
    env = {"PATH": "/usr/bin:/bin", "POSTERN_CONFIG": str(d.jail.config)}
    return subprocess.run(command, input=message, capture_output=True, env=env, timeout=timeout,
                          preexec_fn=as_user(user) if user else None)


def msg(token: str, headers: str = "Subject: test\n") -> bytes:
    return f"{headers}\ntoken={token}\n".encode()


def mailbox_with(d, user, token, timeout=20) -> str:
    return d.wait_for_mbox(user, lambda text: token in text, timeout=timeout)


def one_message(box: str, token: str) -> str:
    """The mbox message that carries `token`."""
    for part in box.split("\nFrom ")[::-1]:
        if token in part:
            return part
    raise AssertionError(f"{token} not in mailbox")


@pytest.mark.parametrize("user", [None, "pt-bob"])
def test_sendmail_user_delivers_with_added_headers(sd, postern_bin, user):
    token = unique_token("plain")
    result = sendmail(sd, postern_bin, ["pt-alice"], msg(token), user=user, argv0="sendmail")
    assert result.returncode == 0, result.stderr
    text = one_message(mailbox_with(sd, "pt-alice", token), token)
    login = user or "root"
    uid = pwd.getpwnam(login).pw_uid
    assert f"(Postern, from userid {uid})" in text
    assert f"From: {login}@mail.example.test" in text or f"<{login}@mail.example.test>" in text
    assert "\nDate: " in text and "\nMessage-ID: <" in text
    assert "X-Authentication-Warning" not in text


def test_php_minus_t_minus_i_reads_recipients_and_removes_bcc(sd, postern_bin):
    token = unique_token("php")
    headers = "To: pt-alice@example.test\nBcc: pt-bob@example.test\nSubject: php\n"
    body = f"{headers}\n.\ntoken={token}\n".encode()  # -i: the lone dot is text
    result = sendmail(sd, postern_bin, ["-t", "-i"], body, user="pt-bob")
    assert result.returncode == 0, result.stderr
    for user in ("pt-alice", "pt-bob"):
        text = one_message(mailbox_with(sd, user, token), token)
        assert "Bcc:" not in text
        assert "\n.\n" in text or "\n..\n" in text


def test_minus_t_without_recipients_is_refused(sd, postern_bin):
    result = sendmail(sd, postern_bin, ["-t"], msg(unique_token("none")), user="pt-bob")
    assert result.returncode != 0
    assert b"No recipient addresses found in header" in result.stderr


def test_cron_invocation(sd, postern_bin):
    token = unique_token("cron")
    result = sendmail(sd, postern_bin, ["-FCronDaemon", "-i", "-B8BITMIME", "-oem", "pt-alice"],
                      msg(token, "Subject: Cron <root@host> job\n"))
    assert result.returncode == 0, result.stderr
    text = one_message(mailbox_with(sd, "pt-alice", token), token)
    assert "From: CronDaemon <root@mail.example.test>" in text


def test_git_send_email_and_mutt_invocations(sd, postern_bin):
    token = unique_token("git")
    result = sendmail(sd, postern_bin, ["-i", "--", "pt-alice@example.test", "pt-bob@example.test"], msg(token),
                      user="pt-alice")
    assert result.returncode == 0, result.stderr
    mailbox_with(sd, "pt-alice", token)
    mailbox_with(sd, "pt-bob", token)
    token = unique_token("mutt")
    result = sendmail(sd, postern_bin, ["-oem", "-oi", "--", "pt-bob@example.test"], msg(token), user="pt-alice")
    assert result.returncode == 0, result.stderr
    mailbox_with(sd, "pt-bob", token)


def test_a_lone_dot_ends_input_without_minus_i(sd, postern_bin):
    token = unique_token("dot")
    result = sendmail(sd, postern_bin, ["pt-alice"], f"Subject: dot\n\ntoken={token}\n.\nafter-the-dot\n".encode())
    assert result.returncode == 0, result.stderr
    text = one_message(mailbox_with(sd, "pt-alice", token), token)
    assert "after-the-dot" not in text


@pytest.mark.parametrize("payload,what", [
    (b"Subject: x\n\nNUL \x00 here\n", b"NUL"),
    (b"Subject: x\n\nbare \r CR\n", b"carriage return"),
    (b"Subject: x\n\n" + b"y" * 1200 + b"\n", b"longer than 998"),
])
def test_bad_input_is_refused_with_dataerr_and_nothing_queued(sd, postern_bin, payload, what):
    before = set(os.listdir(sd.jail.drop_dir))
    result = sendmail(sd, postern_bin, ["pt-alice"], payload, user="pt-bob")
    assert result.returncode == 65, result.stderr
    assert what in result.stderr
    assert set(os.listdir(sd.jail.drop_dir)) <= before


def test_unknown_flag_is_a_usage_error(sd, postern_bin):
    result = sendmail(sd, postern_bin, ["-Z", "pt-alice"], b"")
    assert result.returncode == 64
    assert b"usage" in result.stderr.lower()


def test_unknown_local_recipient_is_printed_with_nouser(sd, postern_bin):
    result = sendmail(sd, postern_bin, ["nosuchuser"], msg(unique_token("nouser")), user="pt-bob")
    assert result.returncode == 67, result.stderr
    assert b"nosuchuser@mail.example.test" in result.stderr


def test_untrusted_minus_f_gets_the_warning_and_root_does_not(sd, postern_bin):
    token = unique_token("f")
    result = sendmail(sd, postern_bin, ["-f", "boss@example.org", "pt-alice"], msg(token), user="pt-bob")
    assert result.returncode == 0, result.stderr
    text = one_message(mailbox_with(sd, "pt-alice", token), token)
    assert "X-Authentication-Warning: mail.example.test: pt-bob set sender to boss@example.org using -f" in text
    assert "Return-Path: <boss@example.org>" in text or "From boss@example.org" in text
    token = unique_token("f-root")
    result = sendmail(sd, postern_bin, ["-f", "boss@example.org", "pt-alice"], msg(token))
    assert result.returncode == 0, result.stderr
    assert "X-Authentication-Warning" not in one_message(mailbox_with(sd, "pt-alice", token), token)


def test_bv_explains_local_alias_virtual_and_remote(sd, postern_bin):
    result = sendmail(sd, postern_bin, ["-bv", "pt-alice", "team", "info@virtual.test", "someone@remote.test"], b"",
                      user="pt-bob")
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr
    assert "deliverable: local user pt-alice" in out
    assert "alias team, members:" in out and "local user pt-bob" in out
    assert "info@virtual.test: virtual address for local name pt-alice" in out
    assert "<someone@remote.test>: deliverable: remote" in out
    result = sendmail(sd, postern_bin, ["-bv", "nosuchuser"], b"")
    assert result.returncode == 67
    assert b"nosuchuser" in result.stdout


def test_bp_lists_the_queue_and_q_is_refused_for_users(sd, postern_bin):
    result = sendmail(sd, postern_bin, ["-bp"], b"", user="pt-bob")
    assert result.returncode == 0 or b"restrict" in result.stderr.lower(), result.stderr
    result = sendmail(sd, postern_bin, ["-bp"], b"")
    assert result.returncode == 0, result.stderr
    result = sendmail(sd, postern_bin, ["-q"], b"", user="pt-bob")
    assert result.returncode != 0
    result = sendmail(sd, postern_bin, ["-q"], b"")
    assert result.returncode == 0, result.stderr


def test_a_remote_recipient_is_relayed_for_local_mail_only(sd, postern_bin):
    offset = len(sd.log())
    token = unique_token("remote")
    result = sendmail(sd, postern_bin, ["someone@remote.test"], msg(token), user="pt-bob")
    assert result.returncode == 0, result.stderr
    wait_until(lambda: "to=<someone@remote.test>" in sd.log_since(offset), 20, what="the relay to try it")
    client = smtplib.SMTP(sd.jail.host, sd.jail.port, timeout=20)
    try:
        client.ehlo("client.test")
        client.mail("tester@client.test")
        code, text = client.rcpt("someone@remote.test")
        assert code == 550 and b"Relaying denied" in text
    finally:
        client.close()


def test_submit_runs_unprivileged_in_the_drop_directory(sd):
    pid = sd.children()["submit"]
    st = status(pid)
    uid = pwd.getpwnam("postern-submit").pw_uid
    assert st["Uid"].split() == [str(uid)] * 4
    assert st["CapEff"] == "0000000000000000" and st["CapPrm"] == "0000000000000000"
    assert st["NoNewPrivs"] == "1"
    assert os.readlink(f"/proc/{pid}/root") == str(sd.jail.drop_dir)


def plant(d, owner: str, name_uid: int, make) -> str:
    """A file named for `name_uid` made in the drop directory by `owner`."""
    name = f"U{name_uid}.{os.urandom(16).hex()}"
    pw = pwd.getpwnam(owner)
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
            make(d.jail.drop_dir / name)
            os._exit(0)
        except BaseException:
            os._exit(1)
    _, rc = os.waitpid(pid, 0)
    assert rc == 0
    return name


def drop_file(name: str, uid: int, recipient: str, token: str) -> bytes:
    return (f"POSTERN-DROP 1\nname {name}\nuid {uid}\ntime {int(time.time())}\nrecipient {recipient}\n\n"
            f"Subject: planted\r\n\r\ntoken={token}\r\n").encode()


def test_planted_linked_and_foreign_files_are_refused(sd):
    alice = pwd.getpwnam("pt-alice").pw_uid
    bob = pwd.getpwnam("pt-bob").pw_uid
    offset = len(sd.log())
    tokens = []

    def foreign(path):  # made by pt-alice, named for pt-bob
        token = unique_token("foreign")
        tokens.append(token)
        path.write_bytes(drop_file(path.name, bob, "pt-bob", token))
        os.chmod(path, 0o644)

    def symlink(path):
        os.symlink("/etc/passwd", path)

    def hardlink(path):
        token = unique_token("hard")
        tokens.append(token)
        other = pathlib.Path(f"/tmp/ptlink-{os.getpid()}-{token}")
        other.write_bytes(drop_file(path.name, alice, "pt-bob", token))
        os.chmod(other, 0o644)
        os.link(other, path)

    names = [plant(sd, "pt-alice", bob, foreign), plant(sd, "pt-alice", alice, symlink),
             plant(sd, "pt-alice", alice, hardlink)]
    for name in names:
        wait_until(lambda: f"{name}" in sd.log_since(offset), 20, what=f"{name} to be refused\n{sd.diagnostics()}")
        assert not (sd.jail.drop_dir / name).exists()
    time.sleep(1)
    box = sd.mbox("pt-bob")
    assert not any(token in box for token in tokens)


def test_a_message_sent_while_the_daemon_is_down_is_delivered_at_start(start_daemon, postern_bin):
    d = start_daemon(start=False)
    os.chmod(d.jail.prefix, 0o755)
    ensure_user("pt-bob")
    token = unique_token("down")
    result = sendmail(d, postern_bin, ["-v", "pt-alice"], msg(token), user="pt-bob")
    assert result.returncode == 0, result.stderr
    assert b"waits in" in result.stderr
    waiting = os.listdir(d.jail.drop_dir)
    assert len(waiting) == 1
    st = os.stat(d.jail.drop_dir / waiting[0])
    assert st.st_uid == pwd.getpwnam("pt-bob").pw_uid and (st.st_mode & 0o7777) == 0o644
    d.start()
    mailbox_with(d, "pt-alice", token, timeout=30)
    wait_until(lambda: not os.listdir(d.jail.drop_dir), 10, what="the drop directory to empty")


def test_oem_mails_refused_recipients_back_and_exits_zero(sd, postern_bin):
    token = unique_token("oem")
    result = sendmail(sd, postern_bin, ["-oem", "-oi", "--", "pt-alice", "nosuchuser"], msg(token), user="pt-bob")
    assert result.returncode == 0, result.stderr
    assert b"nosuchuser" not in result.stderr
    mailbox_with(sd, "pt-alice", token)
    bounce = sd.wait_for_mbox("pt-bob", lambda text: "nosuchuser@mail.example.test" in text and token in text,
                              timeout=30)
    assert "5.1.1" in bounce


def test_refused_recipients_of_a_message_left_while_down_are_bounced(start_daemon, postern_bin):
    d = start_daemon(start=False)
    os.chmod(d.jail.prefix, 0o755)
    ensure_user("pt-bob")
    token = unique_token("down-bounce")
    result = sendmail(d, postern_bin, ["nosuchuser"], msg(token), user="pt-bob")
    assert result.returncode == 0, result.stderr
    d.start()
    bounce = d.wait_for_mbox("pt-bob", lambda text: "nosuchuser@mail.example.test" in text and token in text,
                             timeout=30)
    assert "5.1.1" in bounce


def test_bs_runs_an_smtp_session_on_stdin(sd, postern_bin):
    token = unique_token("bs")
    script = ("EHLO me\r\nMAIL FROM:<pt-bob@example.test>\r\nRCPT TO:<pt-alice@example.test>\r\n"
              "RCPT TO:<nosuchuser@example.test>\r\nDATA\r\n"
              f"Subject: bs\r\n\r\n..leading dot\r\ntoken={token}\r\n.\r\nQUIT\r\n").encode()
    result = sendmail(sd, postern_bin, ["-bs"], script, user="pt-bob")
    assert result.returncode == 0, result.stderr
    codes = [line[:3] for line in result.stdout.decode().splitlines() if line[3:4] == " "]
    assert codes == ["220", "250", "250", "250", "550", "354", "250", "221"], result.stdout
    text = one_message(mailbox_with(sd, "pt-alice", token), token)
    assert "\n.leading dot" in text
    uid = pwd.getpwnam("pt-bob").pw_uid
    assert f"(Postern, from userid {uid})" in text
    assert text.count("Received:") == 1


def test_selective_queue_runs(sd, postern_bin):
    result = sendmail(sd, postern_bin, ["-qRpt-alice", "-qSexample"], b"")
    assert result.returncode == 0, result.stderr
    assert b"flushed" in result.stdout
    result = sendmail(sd, postern_bin, ["-qRpt-alice"], b"", user="pt-bob")
    assert result.returncode != 0
    assert b"restrictqrun" in result.stderr


def test_mailq_link_finds_the_configuration_through_postern_config(sd, postern_bin):
    result = sendmail(sd, postern_bin, [], b"", argv0="mailq")
    assert result.returncode == 0, result.stderr
    assert b"Mail queue is empty" in result.stdout or b"Queue ID" in result.stdout or result.stdout


def test_an_oversized_message_is_refused_before_anything_is_queued(start_daemon, postern_bin):
    d = start_daemon(start=False)
    os.chmod(d.jail.prefix, 0o755)
    set_options(d.jail.config, {"MaxMessageSize": "2k"})
    result = sendmail(d, postern_bin, ["pt-alice"], b"Subject: big\n\n" + (b"y" * 70 + b"\n") * 60, user="pt-bob")
    assert result.returncode == 65, result.stderr
    assert b"larger than" in result.stderr
    assert os.listdir(d.jail.drop_dir) == []


def test_a_drop_that_cannot_be_made_exits_tempfail(start_daemon, postern_bin):
    d = start_daemon(start=False)
    os.chmod(d.jail.prefix, 0o755)
    os.chmod(d.jail.drop_dir, 0o700)  # as if the directory had been locked down
    result = sendmail(d, postern_bin, ["pt-alice"], msg(unique_token("nodrop")), user="pt-bob")
    assert result.returncode == 75, result.stderr
    assert b"cannot create a file in" in result.stderr and b"nothing was sent" in result.stderr


def test_local_mail_is_masqueraded_and_tagged_in_the_log(postern_bin):
    def before(jail):
        os.chmod(jail.prefix, 0o755)
        ensure_user("pt-bob")

    with fresh_daemon(postern_bin, {"MasqueradeAs": "masq.test"}, before_start=before) as d:
        token = unique_token("masq")
        offset = len(d.log())
        result = sendmail(d, postern_bin, ["-L", "nightly-job", "pt-alice"], msg(token), user="pt-bob")
        assert result.returncode == 0, result.stderr
        text = one_message(mailbox_with(d, "pt-alice", token), token)
        assert "From: pt-bob@masq.test" in text, text
        wait_until(lambda: "tag=nightly-job" in d.log_since(offset), 10, what="the tag in the log")
