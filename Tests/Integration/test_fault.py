"""The fault test (issue 12): random processes of every role are killed
with SIGKILL while mail flows — every tenth kill is the master, and the
daemon is started again on the same spool — and children are stopped with
SIGSTOP for one to eight seconds (the watchdog kills those stopped longer
than five). Every message answered 250 arrives exactly once;
nothing is delivered twice, to an mbox or to a Maildir.

The short run (about 30 kills) is part of scripts/test; the long one (100
kills while 5,000 messages flow) runs with `scripts/test --fault-long`
(or `pytest --fault-long Tests/Integration/test_fault.py`).
"""

from __future__ import annotations

import os
import pathlib
import pwd
import shutil
import signal
import time

import pytest

from daemon import Daemon, ensure_user, make_message, unique_token, wait_until
from fault_support import Faults, MailFlow
from smtp_client import set_options

MAILDIR_USER = "pt-carol"


def maildir_texts(home: pathlib.Path) -> list[str]:
    texts = []
    for sub in ("new", "cur"):
        folder = home / "Maildir" / sub
        if folder.is_dir():
            texts += [p.read_text(errors="replace") for p in folder.iterdir()]
    return texts


@pytest.fixture
def fault_daemon(jail, postern_bin):
    carol = ensure_user(MAILDIR_USER)
    home = pathlib.Path(carol.pw_dir)
    shutil.rmtree(home / "Maildir", ignore_errors=True)
    forward = home / ".forward"
    forward.write_text("~/Maildir/\n")
    os.chown(forward, carol.pw_uid, carol.pw_gid)
    forward.chmod(0o644)
    j = jail()
    set_options(j.config, {
        # Whatever a kill costs is retried within seconds, not minutes.
        "QueueRetryMinimum": "1s",
        "QueueRetryMaximum": "2s",
        # A stopped child: clients wait 3 s at most, the master kills it
        # after 5 s (stops last 1 to 8 s: some end before, some after).
        "Timeout.ipc": "3s",
        "Timeout.watchdog": "5s",
    })
    d = Daemon(j, postern_bin, users=("pt-alice", "pt-bob", MAILDIR_USER))
    d.start()
    yield d
    d.kill_all()
    forward.unlink(missing_ok=True)


def run_faults(d, kills: int, stops: int, minimum: int) -> None:
    users = ("pt-alice", "pt-bob", MAILDIR_USER)
    flow = MailFlow(d, [f"{u}@{d.jail.domain}" for u in users], connections=8, minimum=minimum)
    faults = Faults(d, kills=kills, stops=stops)
    flow.start()
    try:
        faults.run()
    finally:
        flow.stop()
    home = pathlib.Path(pwd.getpwnam(MAILDIR_USER).pw_dir)

    def texts() -> list[str]:
        return [d.mbox("pt-alice"), d.mbox("pt-bob")] + maildir_texts(home)

    summary = f"faults: {dict(faults.done)}; client errors: {dict(flow.failures.most_common(8))}"
    # Everything accepted arrives once the queue has caught up.
    try:
        wait_until(lambda: not flow.verdict(texts()).lost, 180, interval=1, what="every accepted message")
    except AssertionError:
        pass
    verdict = flow.verdict(texts())
    print(f"\nfault run: {verdict}; {summary}")
    assert verdict.acked > 0
    assert not verdict.lost, f"{verdict}\nlost: {verdict.lost[:10]}\n{summary}\n{d.diagnostics(80)}"
    assert not verdict.duplicated, f"{verdict}\ntwice: {list(verdict.duplicated.items())[:10]}\n{summary}"
    assert not verdict.strangers, verdict.strangers[:5]


def test_killing_every_role_loses_and_duplicates_nothing(fault_daemon, request):
    long = request.config.getoption("--fault-long")
    run_faults(fault_daemon, kills=100 if long else 30, stops=10 if long else 4, minimum=5000 if long else 600)


# ------------------------------------------------- the two windows, one by one

BIG = 4 << 20


def big_message(token: str) -> str:
    line = "x" * 76 + "\r\n"
    return make_message(token, body=line * (BIG // len(line)))


def wait_growing(path: pathlib.Path, beyond: int, timeout: float = 20) -> int:
    """Polls until the file is larger than `beyond`; returns its size."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            size = 0
        if size > beyond:
            return size
        time.sleep(0.0005)
    raise AssertionError(f"{path} did not grow beyond {beyond}")


def test_a_delivery_whose_answer_was_lost_is_not_repeated(start_daemon):
    """The worker wrote the message, but local (stopped, then killed with
    the queue) never passed the answer on: after the restart the message is
    'maybe delivered', and the journal shows it is in the mailbox already."""
    d = start_daemon()
    kids = d.wait_ready()
    box = d.mbox_path("pt-alice")
    for _ in range(5):
        before = box.stat().st_size if box.exists() else 0
        token = unique_token("lost-answer")
        offset = len(d.log())
        refused = d.send(["pt-alice@example.test"], big_message(token))
        assert refused == {}
        wait_growing(box, before)
        os.kill(kids["local"], signal.SIGSTOP)  # the worker goes on writing
        if "relay=local, status=sent" not in d.log_since(offset):
            break
        # The whole delivery slipped through before the stop: again.
        os.kill(kids["local"], signal.SIGCONT)
    else:
        pytest.fail("could not stop local while its worker was writing")
    # The worker finishes: the mailbox stops growing and ends with the message.
    wait_until(lambda: d.mbox("pt-alice").endswith("\n\n") and f"token={token}" in d.mbox("pt-alice"), 20,
               what="the worker to finish")
    os.kill(kids["queue"], signal.SIGKILL)
    os.kill(kids["local"], signal.SIGKILL)
    try:  # a stopped process dies of SIGKILL too; the master may have reaped it
        os.kill(kids["local"], signal.SIGCONT)
    except ProcessLookupError:
        pass
    wait_until(lambda: "already in the mailbox of pt-alice (an earlier attempt), not repeated" in d.log(), 30,
               what="the repeat to be recognised\n" + d.diagnostics())
    time.sleep(1)
    assert d.mbox("pt-alice").count(f"token={token}") == 1


def test_a_copy_cut_short_by_a_killed_worker_is_replaced_by_a_whole_one(start_daemon):
    """The worker is killed while it appends a 4 MB message: whatever it
    had written is cut off by the next writer (or, had it finished, found
    by the repeat), and exactly one whole copy ends up in the mailbox."""
    d = start_daemon()
    d.wait_ready()
    d.deliver_and_wait("pt-alice")  # the user's worker is running now
    workers = d.workers()
    assert len(workers) == 1, workers
    box = d.mbox_path("pt-alice")
    before = box.stat().st_size
    token = unique_token("torn")
    offset = len(d.log())
    assert d.send(["pt-alice@example.test"], big_message(token)) == {}
    wait_growing(box, before)
    os.kill(workers[0], signal.SIGKILL)
    text = d.wait_for_mbox("pt-alice", lambda t: t.count(f"token={token}") == 1 and t.endswith("\n\n"), timeout=30)
    time.sleep(1)
    text = d.mbox("pt-alice")
    assert text.count(f"token={token}") == 1
    assert text.count(f"Message-ID: <{token}@client.test>") == 1, "a partial copy is left"
    log = d.log_since(offset)
    if "4.3.0 delivery worker ended" in log:
        # Interrupted: a partial copy was cut off, or the whole one found.
        assert "an interrupted delivery" in log or "already in the mailbox" in log, log
