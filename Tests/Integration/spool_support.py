"""Writing spool files as the queue does, for tests that need a queue
state no SMTP client can produce (thousands of messages at once, torn
files, a user deleted while mail waited). The format is the control-file
format documented in README.md ("The spool")."""

from __future__ import annotations

import os
import pathlib
import pwd
import shutil


def field(value: str) -> str:
    return f"{len(value.encode())}:{value}"


def prepare_msg_dir(spool: pathlib.Path) -> pathlib.Path:
    msg_dir = spool / "msg"
    msg_dir.mkdir(exist_ok=True)
    shutil.chown(msg_dir, "postern-queue", "postern-queue")
    return msg_dir


def write_spool_message(msg_dir: pathlib.Path, qid: str, now: int, sender: str = "pt-bob@example.test",
                        recipient: tuple[str, str] = ("", "someone@remote.test"),
                        next_attempt: int | None = None) -> None:
    """msg/QID.d and msg/QID.c, owned by postern-queue, mode 0600.
    `recipient` is (local user or "", address)."""
    owner = pwd.getpwnam("postern-queue")
    data = (f"Received: from client.test ([127.0.0.9])\r\n\tby mail.example.test (Postern) with ESMTP id {qid};\r\n"
            f"\tMon, 23 Nov 2026 12:00:00 +0000\r\nSubject: bulk {qid}\r\n\r\nbody\r\n").encode()
    user, address = recipient
    attempt = now + 86400 if next_attempt is None else next_attempt
    control = (f"postern-control 1\nid {qid}\nsender {field(sender)}\narrival {now}\n"
               f"client {field('127.0.0.9')}\nhelo {field('client.test')}\nauth 0:\nsize {len(data)}\n"
               f"attempts 1\nnext-attempt {attempt}\nrcpt pending {field(user)} {field(address)} 0:\n"
               f"end\n").encode()
    for name, content in ((f"{qid}.d", data), (f"{qid}.c", control)):
        path = msg_dir / name
        path.write_bytes(content)
        os.chown(path, owner.pw_uid, owner.pw_gid)
        path.chmod(0o600)
