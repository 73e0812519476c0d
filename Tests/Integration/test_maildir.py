"""Maildir delivery (HomeMailbox = Maildir/, Postfix's home_mailbox) against
the running daemon: the message lands in ~user/Maildir/new, written by a
worker running as the user, and a Maildir planted as a symbolic link gets
nothing."""

from __future__ import annotations

import os
import pathlib
import pwd
import shutil
import smtplib

import pytest

from daemon import make_message, unique_token, wait_until
from smtp_client import fresh_daemon


@pytest.fixture(scope="module")
def md(postern_bin):
    with fresh_daemon(postern_bin, {"HomeMailbox": "Maildir/"}) as d:
        yield d


def send(d, to: str, token: str) -> None:
    client = smtplib.SMTP(d.jail.host, d.jail.port, timeout=15)
    try:
        client.sendmail("tester@client.test", [to], make_message(token, to=to))
        client.quit()
    finally:
        client.close()


def maildir_texts(home: pathlib.Path) -> list[str]:
    new = home / "Maildir" / "new"
    return [p.read_text() for p in sorted(new.iterdir())] if new.is_dir() else []


def test_delivery_lands_in_the_users_maildir_as_the_user(md):
    d = md
    user = pwd.getpwnam("pt-alice")
    home = pathlib.Path(user.pw_dir)
    token = unique_token("maildir")
    send(d, "pt-alice@example.test", token)
    wait_until(lambda: any(token in t for t in maildir_texts(home)), 15, what="the Maildir delivery")
    new = home / "Maildir" / "new"
    [path] = [p for p in new.iterdir() if token in p.read_text()]
    info = path.stat()
    assert (info.st_uid, info.st_mode & 0o777) == (user.pw_uid, 0o600)
    text = path.read_text()
    assert text.startswith("Return-Path: <tester@client.test>\nDelivered-To: pt-alice@example.test\nReceived: ")
    assert "\r" not in text
    assert not list((home / "Maildir" / "tmp").iterdir())
    assert token not in d.mbox("pt-alice"), "also written to the mbox"
    assert "relay=local, status=sent (delivered to maildir" in d.log()


def test_a_maildir_that_is_a_symlink_gets_nothing(md):
    d = md
    user = pwd.getpwnam("pt-bob")
    home = pathlib.Path(user.pw_dir)
    maildir = home / "Maildir"
    if maildir.is_symlink() or maildir.is_file():
        maildir.unlink()
    elif maildir.exists():
        shutil.rmtree(maildir)
    target = pathlib.Path(d.jail.prefix) / "target"
    target.mkdir()
    os.chown(target, user.pw_uid, user.pw_gid)
    maildir.symlink_to(target)
    try:
        token = unique_token("maildir-link")
        offset = len(d.log())
        send(d, "pt-bob@example.test", token)
        wait_until(lambda: "to=<pt-bob@example.test>, relay=local, status=deferred (4.2.0 unsafe maildir"
                   in d.log_since(offset), 15, what="the refusal")
        assert list(target.iterdir()) == [], "something was written through the link"
    finally:
        maildir.unlink()
