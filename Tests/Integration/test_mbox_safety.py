"""The mbox against a hostile or full mail directory, at the daemon level
(issue 6): a mailbox replaced by a symlink to /etc/passwd gets nothing
written through it, and a full file system defers the delivery and leaves
the mailbox exactly as it was (no truncated message)."""

from __future__ import annotations

import grp
import pathlib

import pytest

from daemon import make_message, unique_token, wait_until
from smtp_client import fresh_daemon
from tmpfs import mount_tmpfs, unmount


@pytest.fixture(scope="module")
def full(postern_bin):
    mounted: list[pathlib.Path] = []

    def small_mail_directory(jail):
        mail = pathlib.Path(jail.prefix) / "var/mail"
        mount_tmpfs(mail, "256k", 0o2775, gid=grp.getgrnam("mail").gr_gid)
        mounted.append(mail)

    try:
        with fresh_daemon(postern_bin, before_start=small_mail_directory) as d:
            yield d
    finally:
        for path in mounted:
            unmount(path)


def send(d, to: str, text: str) -> None:
    import smtplib
    with smtplib.SMTP(d.jail.host, d.jail.port, timeout=20) as c:
        c.sendmail("tester@client.test", [to], text)


def test_a_full_disk_defers_and_leaves_the_mailbox_as_it_was(full):
    d = full
    small = unique_token("small")
    send(d, "pt-alice@example.test", make_message(small, to="pt-alice@example.test"))
    before = d.wait_for_mbox("pt-alice", lambda t: small in t, timeout=20)
    big = unique_token("big")
    offset = len(d.log())
    # Larger than the file system: the append fails part-way.
    send(d, "pt-alice@example.test", make_message(big, to="pt-alice@example.test", body="x" * 76 + "\r\n") +
         ("y" * 998 + "\r\n") * 400)
    wait_until(lambda: "to=<pt-alice@example.test>, relay=local, status=deferred (4.2.0 mailbox" in
               d.log_since(offset), 30, what="the deferral\n" + d.diagnostics())
    after = d.mbox("pt-alice")
    assert after == before, "the mailbox changed"
    assert big not in after


def test_a_mailbox_symlinked_to_etc_passwd_gets_nothing(full):
    d = full
    passwd_before = pathlib.Path("/etc/passwd").read_bytes()
    box = d.mbox_path("pt-bob")
    if box.exists() or box.is_symlink():
        box.unlink()
    box.symlink_to("/etc/passwd")
    try:
        offset = len(d.log())
        send(d, "pt-bob@example.test", make_message(unique_token("passwd"), to="pt-bob@example.test"))
        wait_until(lambda: "to=<pt-bob@example.test>, relay=local, status=deferred (4.2.0 unsafe mailbox" in
                   d.log_since(offset), 30, what="the refusal\n" + d.diagnostics())
        assert pathlib.Path("/etc/passwd").read_bytes() == passwd_before
    finally:
        box.unlink()
