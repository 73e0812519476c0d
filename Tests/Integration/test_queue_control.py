"""Queue control against the running daemon (issue 5): `postern queue …`
and `postern mailq` over the control sockets, who may use them
(restrictmailq, restrictqrun, QueueAdminGroup), hold/release/delete, and a
queue of 10,000 messages that lists in under a second and survives
`kill -9` of the queue process.

Messages to remote addresses stay queued (the relay process defers every
remote delivery until remote delivery exists), which gives a real queue to
look at.
"""

from __future__ import annotations

import os
import pathlib
import re
import smtplib
import subprocess
import time

import pytest

from daemon import make_message, unique_token, wait_until
from smtp_client import fresh_daemon
from spool_support import prepare_msg_dir, write_spool_message

RELAY_CLIENT = "127.0.0.9"


@pytest.fixture(scope="module")
def qd(postern_bin):
    with fresh_daemon(postern_bin, {"QueueRetryMinimum": "1h"}, access=f"Connect:{RELAY_CLIENT} RELAY\n") as d:
        yield d


def postern(d, *args: str, user: str | None = None) -> subprocess.CompletedProcess:
    cmd = [str(d.bin), *args, "-c", str(d.jail.config)]
    if user is not None:
        # The jail's prefix is a private temporary directory (0700); on a
        # real system /run is open to all.
        d.jail.prefix.chmod(0o755)
        cmd = ["runuser", "-u", user, "--"] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30)


def queue_remote(d, token: str, recipient: str = "someone@remote.test") -> str:
    client = smtplib.SMTP(d.jail.host, d.jail.port, timeout=15, source_address=(RELAY_CLIENT, 0))
    try:
        client.ehlo("client.test")
        client.mail("pt-bob@example.test")
        client.rcpt(recipient)
        code, text = client.data(make_message(token, sender="pt-bob@example.test", to=recipient))
        assert code == 250, text
        client.quit()
    finally:
        client.close()
    return re.search(r"queued as ([0-9A-Z]{12})", text.decode()).group(1)


def test_mailq_lists_a_deferred_message_in_sendmails_layout(qd):
    d = qd
    token = unique_token("mailq")
    qid = queue_remote(d, token)
    wait_until(lambda: f"{qid}: to=<someone@remote.test>, relay=relay, status=deferred" in d.log(), 10,
               what="the deferral")
    r = postern(d, "mailq")
    assert r.returncode == 0, r.stderr
    assert "-----Q-ID----- --Size-- -----Q-Time----- ------------Sender/Recipient-----------" in r.stdout
    block = r.stdout[r.stdout.index(qid):]
    assert "<pt-bob@example.test>" in block.splitlines()[0]
    assert "(Deferred: 4.4.1 connect to 127.0.0.1[127.0.0.1]:1: Connection refused)" in block
    assert "<someone@remote.test>" in block
    assert re.search(r"Total requests: \d+", r.stdout)
    shown = postern(d, "queue", "show", qid)
    assert shown.returncode == 0, shown.stderr
    assert f"id: {qid}" in shown.stdout and "recipient: <someone@remote.test> pending" in shown.stdout


def test_hold_release_and_delete(qd):
    d = qd
    qid = queue_remote(d, unique_token("hold"))
    wait_until(lambda: f"{qid}: to=<someone@remote.test>, relay=relay, status=deferred" in d.log(), 10,
               what="the deferral")
    assert postern(d, "queue", "hold", qid).stdout == f"{qid} held\n"
    listing = postern(d, "mailq").stdout
    assert f"{qid}!" in listing, listing
    # A held message is not tried, even when the queue is flushed.
    offset = len(d.log())
    assert postern(d, "queue", "flush").returncode == 0
    time.sleep(1.5)
    assert f"{qid}: to=" not in d.log_since(offset)
    # Released: tried at once.
    assert postern(d, "queue", "release", qid).stdout == f"{qid} released\n"
    wait_until(lambda: f"{qid}: to=<someone@remote.test>, relay=relay" in d.log_since(offset), 10,
               what="the attempt after release")
    r = postern(d, "queue", "delete", qid)
    assert r.stdout == f"{qid} deleted\n", r.stdout + r.stderr
    assert qid not in postern(d, "mailq").stdout
    assert not [n for n in os.listdir(d.jail.spool / "msg") if n.startswith(qid)]
    assert re.search(rf"{qid}: control: deleted by uid=0, pid=\d+", d.log())
    bad = postern(d, "queue", "show", qid)
    assert bad.returncode == 1 and f"{qid} is not in the queue" in bad.stderr
    assert postern(d, "queue", "frobnicate").returncode == 1


def test_restrictmailq_and_restrictqrun_keep_other_users_out(qd):
    d = qd
    # The default PrivacyOptions include restrictmailq and restrictqrun.
    for args, reason in ((("mailq",), "restrictmailq"), (("queue", "count"), "restrictmailq"),
                         (("queue", "flush"), "restrictqrun")):
        r = postern(d, *args, user="pt-alice")
        assert r.returncode == 1, r.stdout
        assert f"permission denied ({reason})" in r.stderr, r.stderr
    qid = queue_remote(d, unique_token("restrict"))
    r = postern(d, "queue", "delete", qid, user="pt-alice")
    assert r.returncode == 1 and "queue administrators only" in r.stderr
    assert qid in postern(d, "mailq").stdout
    # The admin socket is root:QueueAdminGroup 0660, the public one 0666.
    run = pathlib.Path(d.jail.path("/run/postern"))
    admin, public = os.stat(run / "queue.sock"), os.stat(run / "mailq.sock")
    assert (admin.st_uid, admin.st_gid, admin.st_mode & 0o777) == (0, 0, 0o660)
    assert public.st_mode & 0o777 == 0o666


def test_without_restrictmailq_everyone_may_list_but_not_delete(postern_bin):
    with fresh_daemon(postern_bin, {"PrivacyOptions": "authwarnings"},
                      access=f"Connect:{RELAY_CLIENT} RELAY\n") as d:
        qid = queue_remote(d, unique_token("public"))
        r = postern(d, "mailq", user="pt-alice")
        assert r.returncode == 0 and qid in r.stdout, r.stderr
        assert postern(d, "queue", "flush", user="pt-alice").returncode == 0
        r = postern(d, "queue", "delete", qid, user="pt-alice")
        assert r.returncode == 1 and "queue administrators only" in r.stderr


ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def test_ten_thousand_queued_messages_list_fast_and_survive_kill_9(postern_bin):
    with fresh_daemon(postern_bin) as d:
        d.kill_all()
        msg_dir = prepare_msg_dir(d.jail.spool)
        now = int(time.time())
        ids = set()
        for n in range(10_000):
            qid = "".join(ALPHABET[(n >> (5 * k)) & 31] for k in range(12))
            ids.add(qid)
            write_spool_message(msg_dir, qid, now)
        d.start()
        wait_until(lambda: "spool recovered, messages=10000" in d.log(), 60, what="the spool recovery")
        started = time.monotonic()
        r = postern(d, "mailq")
        took = time.monotonic() - started
        assert r.returncode == 0, r.stderr
        assert "Total requests: 10000" in r.stdout
        assert took < 1.0, f"listing 10,000 messages took {took:.2f}s"
        listed = set(re.findall(r"^([0-9A-Z]{12})[ !*] ", r.stdout, re.M))
        assert listed == ids
        queue_pid = d.children()["queue"]
        os.kill(queue_pid, 9)
        wait_until(lambda: d.children().get("queue", queue_pid) != queue_pid, 10, what="the queue's restart")
        wait_until(lambda: d.log().count("spool recovered, messages=10000") == 2, 60, what="the second recovery")
        assert postern(d, "queue", "count").stdout.startswith("10000 messages, 10000 recipients pending")


def test_kill_9_of_the_queue_while_1000_messages_flow_loses_none(postern_bin):
    """Every message answered 250 is delivered, whatever moment the queue
    dies at. Duplicates are only possible in the documented window (a
    delivery done but not yet recorded when the queue died), so there are
    at most as many as deliveries were in flight at the kills."""
    import random
    import threading

    with fresh_daemon(postern_bin, {"MaxConnectionRatePerClient": 0}) as d:
        tokens = [unique_token(f"k9-{n}") for n in range(1000)]
        accepted: list[str] = []
        tries: dict[str, int] = {}
        lock = threading.Lock()
        errors: list[str] = []

        def client(part: list[str]):
            for token in part:
                for _ in range(20):
                    with lock:
                        tries[token] = tries.get(token, 0) + 1
                    try:
                        c = smtplib.SMTP(d.jail.host, d.jail.port, timeout=30)
                        c.ehlo("client.test")
                        c.sendmail("tester@client.test", ["pt-alice@example.test"], make_message(token))
                        c.quit()
                        with lock:
                            accepted.append(token)
                        break
                    except (smtplib.SMTPException, OSError):
                        time.sleep(0.2)  # 451 while the queue restarts: the client tries again
                else:
                    errors.append(token)

        threads = [threading.Thread(target=client, args=(tokens[i::4],)) for i in range(4)]
        for t in threads:
            t.start()
        kills = 0
        # Often enough to land several kills while the load runs: a queue
        # restart no longer slows the clients (the listener waits for it).
        while any(t.is_alive() for t in threads) and kills < 5:
            time.sleep(random.uniform(0.2, 0.6))
            pid = d.children().get("queue")
            if pid:
                os.kill(pid, 9)
                kills += 1
                wait_until(lambda: d.children().get("queue", pid) != pid, 10, what="the queue's restart")
        for t in threads:
            t.join(300)
        assert not errors, f"{len(errors)} messages never accepted"
        assert kills >= 3, "the load finished before the queue was killed three times"

        def counts():
            text = d.mbox("pt-alice")
            return {token: text.count(f"token={token}") for token in accepted}

        wait_until(lambda: all(n >= 1 for n in counts().values()), 180, interval=1,
                   what="every accepted message delivered")
        final = counts()
        duplicates = sum(n - 1 for n in final.values())
        print(f"{len(accepted)} accepted, {kills} kills of the queue, {duplicates} duplicate deliveries")
        # Delivery is exactly once: a token arrives more than once only if
        # the client sent it again after a session that broke before its
        # 250 (the message may have been committed: SMTP cannot tell).
        resent_twice = {t: n for t, n in final.items() if n > tries[t]}
        assert not resent_twice, f"delivered more often than sent: {list(resent_twice.items())[:5]}"
        assert all(n == 1 for t, n in final.items() if tries[t] == 1), "a message sent once arrived twice"


def test_torn_spool_files_are_logged_and_removed_and_the_rest_is_delivered(postern_bin):
    """A control file cut short (no end marker), a data file whose control
    file never came, a control file whose data is gone, and a good message:
    the queue logs and removes the three, never crashes, and delivers the
    good one."""
    with fresh_daemon(postern_bin) as d:
        d.kill_all()
        msg_dir = prepare_msg_dir(d.jail.spool)
        now = int(time.time())
        torn, orphan_data, orphan_control, good = "T0RN00000001", "DATA00000002", "CTR000000003", "G00D00000004"
        for qid in (torn, orphan_data, orphan_control):
            write_spool_message(msg_dir, qid, now)
        # The good one goes to a local user, at once.
        write_spool_message(msg_dir, good, now, recipient=("pt-alice", "pt-alice@example.test"), next_attempt=0)
        cut = msg_dir / f"{torn}.c"
        cut.write_bytes(cut.read_bytes()[:-12])
        (msg_dir / f"{orphan_data}.c").unlink()
        (msg_dir / f"{orphan_control}.d").unlink()
        d.start()
        wait_until(lambda: "spool recovered, messages=1" in d.log(), 30, what="the recovery")
        log = d.log()
        assert f"queue id={torn}:" in log and f"queue id={orphan_data}: removed data file without control file" in log
        assert f"queue id={orphan_control}: removed control file without data file" in log
        d.wait_for_mbox("pt-alice", lambda t: f"Subject: bulk {good}" in t, timeout=15)
        left = sorted(os.listdir(msg_dir))
        assert not [n for n in left if n[:12] in (torn, orphan_data, orphan_control)], left
        assert "queue died" not in log
