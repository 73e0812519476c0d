"""Local delivery and addressing against the running daemon (issue 6):
aliases (members, pipes through smrsh as DefaultUser, files in the
SafeFileEnvironment, loops), .forward (read as the user, unsafe ones
ignored), virtusertable and mailertable answers at RCPT, newaliases."""

from __future__ import annotations

import os
import pathlib
import pwd
import smtplib
import subprocess
import textwrap

import pytest

from daemon import make_message, unique_token, wait_until
from smtp_client import fresh_daemon

NOBODY = pwd.getpwnam("nobody")
RECORDER = textwrap.dedent("""\
    #!/bin/sh
    # Records who ran it, its arguments, its environment and its input.
    out="$OUTDIR/$(date +%s%N)-$$"
    { echo "uid=$(id -u)"; echo "args=$*"; env | sort; echo "--- input"; cat; } > "$out.tmp"
    mv "$out.tmp" "$out"
    """)
TEMPFAIL = "#!/bin/sh\ncat >/dev/null\necho 'try later' >&2\nexit 75\n"
FAILER = "#!/bin/sh\ncat >/dev/null\necho 'no such list here' >&2\nexit 67\n"


def prepare(jail) -> None:
    prefix = pathlib.Path(jail.prefix)
    out = prefix / "pipe-out"
    out.mkdir(mode=0o1777)
    out.chmod(0o1777)
    smrsh = jail.config_dir / "smrsh"
    for name, text in {"recorder": RECORDER.replace("$OUTDIR", str(out)), "tempfail": TEMPFAIL,
                       "failer": FAILER}.items():
        (smrsh / name).write_text(text)
        (smrsh / name).chmod(0o755)
    archive = prefix / "var/mailjail/archive"
    archive.mkdir(parents=True)
    os.chown(archive, NOBODY.pw_uid, NOBODY.pw_gid)
    outside = prefix / "outside"
    outside.mkdir()
    os.chown(outside, NOBODY.pw_uid, NOBODY.pw_gid)
    (archive / "escape").symlink_to(outside)


def aliases_text(prefix: pathlib.Path) -> str:
    jail = prefix / "var/mailjail"
    return textwrap.dedent(f"""\
        # test aliases
        team: pt-alice, pt-bob
        list: pt-alice,
              "|/usr/local/bin/recorder list-arg"
        tempfail: "|tempfail"
        failer: "|failer"
        shell: "|/bin/sh -c 'touch {prefix}/pwned-shell'"
        meta: "|recorder;touch {prefix}/pwned-meta"
        notthere: "|nosuchprogram"
        archive: {jail}/archive/list
        escape: {jail}/archive/../../outside/x
        linked: {jail}/archive/escape/x
        nowhere: /dev/null
        loop1: loop2
        loop2: loop1
        remote: someone@far.example, pt-bob
        root: pt-bob
        """)


@pytest.fixture(scope="module")
def ad(postern_bin):
    def before(jail):
        prepare(jail)
        (jail.config_dir / "aliases").write_text(aliases_text(pathlib.Path(jail.prefix)))

    files = {
        "virtusertable": textwrap.dedent("""\
            info@virtual.test       pt-alice
            sales@virtual.test      team
            gone@virtual.test       error:5.1.1:550 This address is no longer in use
            @catchall.test          pt-bob
            """),
        "mailertable": "blocked.example   error:5.7.1:550 We do not send there\n",
    }
    with fresh_daemon(postern_bin, {"DefaultUser": "nobody", "PipeTimeout": "20s"},
                      access="Connect:127.0.0.9 RELAY\n", files=files, before_start=before) as d:
        yield d


def outputs(d) -> list[str]:
    out = pathlib.Path(d.jail.prefix) / "pipe-out"
    return [p.read_text() for p in sorted(out.iterdir()) if not p.name.endswith(".tmp")]


def send(d, to, token, sender="tester@client.test", source=None) -> dict:
    rcpts = [to] if isinstance(to, str) else to
    client = smtplib.SMTP(d.jail.host, d.jail.port, timeout=20, source_address=(source, 0) if source else None)
    try:
        refused = client.sendmail(sender, rcpts, make_message(token, to=rcpts[0]))
        client.quit()
        return refused
    finally:
        client.close()


def log_has(d, offset, text, timeout=20):
    wait_until(lambda: text in d.log_since(offset), timeout, what=repr(text) + "\n" + d.diagnostics())


def test_an_alias_reaches_each_member(ad):
    token = unique_token("team")
    offset = len(ad.log())
    send(ad, "team@example.test", token)
    ad.wait_for_mbox("pt-alice", lambda t: token in t, timeout=20)
    ad.wait_for_mbox("pt-bob", lambda t: token in t, timeout=20)
    assert "to=<team@example.test>, relay=local, status=expanded (alias team, 2 recipients; 2 new)" \
        in ad.log_since(offset)


def test_alias_pipe_runs_through_smrsh_as_the_default_user(ad):
    token = unique_token("list")
    send(ad, "list@example.test", token)
    text = wait_until(lambda: next((t for t in outputs(ad) if token in t), None), 20, what="the pipe's output")
    assert f"uid={NOBODY.pw_uid}" in text
    assert "args=list-arg" in text
    assert "SENDER=tester@client.test" in text
    assert "RECIPIENT=list@example.test" in text
    assert any(line.startswith("ORIGINAL_RECIPIENT=") and line.endswith("list@example.test")
               for line in text.splitlines())
    assert "Delivered-To: list@example.test" in text and "\r" not in text
    ad.wait_for_mbox("pt-alice", lambda t: token in t, timeout=20)


def test_a_hostile_sender_is_data_in_the_environment_never_a_command(ad):
    token = unique_token("hostile")
    sender = '"$(touch /tmp/pwned-sender);x`id`"@client.test'
    send(ad, "list@example.test", token, sender=sender)
    text = wait_until(lambda: next((t for t in outputs(ad) if token in t), None), 20, what="the pipe's output")
    assert f"SENDER={sender}" in text
    assert not pathlib.Path("/tmp/pwned-sender").exists()


@pytest.mark.parametrize("name", ["shell", "meta", "notthere"])
def test_programs_outside_smrsh_and_metacharacters_run_nothing_and_bounce(ad, name):
    offset = len(ad.log())
    send(ad, f"{name}@example.test", unique_token(name))
    log_has(ad, offset, "status=bounced (5.7.1")
    prefix = pathlib.Path(ad.jail.prefix)
    assert not (prefix / "pwned-shell").exists() and not (prefix / "pwned-meta").exists()


def test_exit_75_defers_and_another_status_bounces_with_stderr(ad):
    offset = len(ad.log())
    send(ad, "tempfail@example.test", unique_token("tempfail"))
    log_has(ad, offset, "status=deferred (4.")
    offset = len(ad.log())
    send(ad, "failer@example.test", unique_token("failer"))
    log_has(ad, offset, "status=bounced (5.1.1")
    assert "no such list here" in ad.log_since(offset)


def test_alias_file_delivery_is_confined_to_the_safe_file_environment(ad):
    prefix = pathlib.Path(ad.jail.prefix)
    token = unique_token("archive")
    send(ad, "archive@example.test", token)
    archive = prefix / "var/mailjail/archive/list"
    wait_until(lambda: archive.exists() and token in archive.read_text(), 20, what="the archive file")
    assert archive.stat().st_uid == NOBODY.pw_uid
    assert archive.read_text().startswith("From tester@client.test ")
    for name in ("escape", "linked"):
        offset = len(ad.log())
        send(ad, f"{name}@example.test", unique_token(name))
        log_has(ad, offset, "status=bounced (5.")
    assert list((prefix / "outside").iterdir()) == []


def test_dev_null_takes_the_message(ad):
    offset = len(ad.log())
    send(ad, "nowhere@example.test", unique_token("null"))
    log_has(ad, offset, "status=sent (discarded to /dev/null)")


def test_an_alias_loop_bounces(ad):
    offset = len(ad.log())
    send(ad, "loop1@example.test", unique_token("loop"))
    log_has(ad, offset, "status=bounced (5.4.6 alias loop")


def test_remote_members_go_to_the_relay_and_local_ones_are_delivered(ad):
    token = unique_token("remote")
    offset = len(ad.log())
    send(ad, "remote@example.test", token)
    ad.wait_for_mbox("pt-bob", lambda t: token in t, timeout=20)
    log_has(ad, offset, "to=<someone@far.example>, relay=relay")


def test_postmaster_and_root_follow_the_aliases(ad):
    token = unique_token("postmaster")
    send(ad, "postmaster@example.test", token)
    ad.wait_for_mbox("pt-bob", lambda t: token in t, timeout=20)


def test_virtusertable_maps_and_refuses_at_rcpt(ad):
    token = unique_token("virtual")
    send(ad, "info@virtual.test", token)
    ad.wait_for_mbox("pt-alice", lambda t: token in t, timeout=20)
    token = unique_token("catchall")
    send(ad, "Anything@CatchAll.Test", token)
    ad.wait_for_mbox("pt-bob", lambda t: token in t, timeout=20)
    token = unique_token("sales")
    send(ad, "sales@virtual.test", token)
    ad.wait_for_mbox("pt-alice", lambda t: token in t, timeout=20)
    ad.wait_for_mbox("pt-bob", lambda t: token in t, timeout=20)
    with smtplib.SMTP(ad.jail.host, ad.jail.port, timeout=15) as c:
        c.ehlo("client.test")
        c.mail("tester@client.test")
        assert c.rcpt("gone@virtual.test") == (550, b"5.1.1 This address is no longer in use")
        assert c.rcpt("nobody@virtual.test")[0] == 550
        # A virtual domain is not a relay destination for anyone.
        assert c.rcpt("info@virtual.test")[0] == 250


def test_mailertable_error_is_the_rcpt_reply(ad):
    with smtplib.SMTP(ad.jail.host, ad.jail.port, timeout=15, source_address=("127.0.0.9", 0)) as c:
        c.ehlo("client.test")
        c.mail("tester@client.test")
        assert c.rcpt("x@blocked.example") == (550, b"5.7.1 We do not send there")
        assert c.rcpt("x@elsewhere.example")[0] == 250


def test_forward_is_read_as_the_user_and_can_pipe_and_keep_a_copy(ad):
    alice = pwd.getpwnam("pt-alice")
    forward = pathlib.Path(alice.pw_dir) / ".forward"
    forward.write_text('\\pt-alice, pt-bob, "|recorder from-forward"\n')
    os.chown(forward, alice.pw_uid, alice.pw_gid)
    forward.chmod(0o644)
    try:
        token = unique_token("forward")
        send(ad, "pt-alice@example.test", token)
        ad.wait_for_mbox("pt-alice", lambda t: token in t, timeout=20)
        ad.wait_for_mbox("pt-bob", lambda t: token in t, timeout=20)
        text = wait_until(lambda: next((t for t in outputs(ad) if token in t), None), 20, what="the pipe")
        assert f"uid={alice.pw_uid}" in text and "args=from-forward" in text
    finally:
        forward.unlink()


def test_an_unsafe_forward_is_ignored_and_logged(ad):
    alice = pwd.getpwnam("pt-alice")
    forward = pathlib.Path(alice.pw_dir) / ".forward"
    forward.write_text("pt-bob\n")
    os.chown(forward, alice.pw_uid, alice.pw_gid)
    forward.chmod(0o666)
    try:
        token = unique_token("unsafe-forward")
        offset = len(ad.log())
        send(ad, "pt-alice@example.test", token)
        ad.wait_for_mbox("pt-alice", lambda t: token in t, timeout=20)
        assert "ignoring .forward of pt-alice" in ad.log_since(offset)
        assert "writable by group or others" in ad.log_since(offset)
        assert token not in ad.mbox("pt-bob")
    finally:
        forward.unlink()


def test_newaliases_checks_and_reloads(ad, postern_bin):
    aliases = ad.jail.config_dir / "aliases"
    good = aliases.read_text()
    aliases.write_text(good + "broken line without colon\n")
    result = subprocess.run([postern_bin, "newaliases", "-c", str(ad.jail.config)], capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 1
    assert f"{aliases}:{len(good.splitlines()) + 1}:" in result.stderr
    aliases.write_text(good + "newname: pt-alice\n")
    offset = len(ad.log())
    result = subprocess.run([postern_bin, "newaliases", "-c", str(ad.jail.config)], capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "reloaded" in result.stdout or "is reloading" in result.stdout
    log_has(ad, offset, "aliases loaded")
    wait_until(lambda: ad.log_since(offset).count("aliases=") >= 1, 10, what="the lookup's reload")
    token = unique_token("newname")
    send(ad, "newname@example.test", token)
    ad.wait_for_mbox("pt-alice", lambda t: token in t, timeout=20)


def test_twenty_concurrent_deliveries_to_one_mailbox_are_intact(ad):
    import concurrent.futures
    tokens = [unique_token(f"c{i}") for i in range(20)]
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        list(pool.map(lambda t: send(ad, "pt-bob@example.test", t), tokens))
    text = ad.wait_for_mbox("pt-bob", lambda t: all(tok in t for tok in tokens), timeout=30)
    for tok in tokens:
        assert text.count(f"<{tok}@client.test>") == 1, tok
    messages = [m for m in text.split("\nFrom ") if any(tok in m for tok in tokens)]
    assert len(messages) == 20


def test_the_file_worker_is_chrooted_into_the_jail_and_runs_as_the_default_user(ad):
    from daemon import status
    prefix = pathlib.Path(ad.jail.prefix)
    jail = (prefix / "var/mailjail").resolve()
    token = unique_token("jailed")
    send(ad, "archive@example.test", token)
    archive = prefix / "var/mailjail/archive/list"
    wait_until(lambda: archive.exists() and token in archive.read_text(), 20, what="the archive file")

    def jailed_worker():
        for pid in ad.workers():
            try:
                root = os.readlink(f"/proc/{pid}/root")
            except OSError:
                continue
            if pathlib.Path(root) == jail:
                return pid
        return None

    pid = wait_until(jailed_worker, 10, what="a worker whose root is the SafeFileEnvironment")
    fields = status(pid)
    assert fields["Uid"].split()[:3] == [str(NOBODY.pw_uid)] * 3
    assert fields["CapEff"] == "0000000000000000"
    assert fields["CapPrm"] == "0000000000000000"
    assert fields["NoNewPrivs"] == "1"


def test_notify_success_on_an_alias_reports_it_expanded(ad):
    token = unique_token("expanded")
    with smtplib.SMTP(ad.jail.host, ad.jail.port, timeout=20) as c:
        c.ehlo("client.test")
        c.mail("pt-bob@example.test")
        assert c.rcpt("team@example.test", ["NOTIFY=SUCCESS"])[0] == 250
        assert c.data(make_message(token, to="team@example.test"))[0] == 250
    report = ad.wait_for_mbox("pt-bob", lambda t: "Action: expanded" in t and token in t, timeout=30)
    assert "Final-Recipient: rfc822; team@example.test" in report
