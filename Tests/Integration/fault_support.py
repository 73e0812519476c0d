"""Mail flowing while processes die: the machinery of the fault test.

    flow = MailFlow(d, recipients, connections=8)
    faults = Faults(d, kills=30, stops=3)
    flow.start(); faults.run(); flow.stop()
    verdict = flow.verdict(read_mailboxes)

Each message carries a unique token. A message the client saw answered
`250` must be delivered exactly once; one whose session broke before the
`250` (the listener, or the whole daemon, was killed under it) may have
been accepted or not, so it is delivered at most once. The client never
resends a token: a new attempt is a new message, as a real client's retry
after a lost reply would be.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import random
import re
import signal
import smtplib
import threading
import time

from daemon import make_message, unique_token, wait_until
from smtp_client import next_source

TOKEN = re.compile(r"token=(fault-[0-9a-f]{32})")


class MailFlow:
    """`connections` threads, each sending one message per SMTP session to
    a recipient drawn in turn from `recipients`, until stopped (and at least
    `minimum` messages were tried)."""

    def __init__(self, d, recipients: list[str], connections: int = 8, minimum: int = 0):
        self.d = d
        self.recipients = recipients
        self.connections = connections
        self.minimum = minimum
        self.lock = threading.Lock()
        self.acked: dict[str, str] = {}  # token -> recipient
        self.unacked: dict[str, str] = {}
        self.failures: collections.Counter[str] = collections.Counter()
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []

    @property
    def tried(self) -> int:
        with self.lock:
            return len(self.acked) + len(self.unacked)

    def start(self) -> None:
        for n in range(self.connections):
            t = threading.Thread(target=self._sender, args=(n,), daemon=True)
            t.start()
            self.threads.append(t)

    def stop(self) -> None:
        wait_until(lambda: self.tried >= self.minimum, 600, interval=0.2,
                   what=f"{self.minimum} messages to be tried")
        self.stopping.set()
        for t in self.threads:
            t.join(60)

    def _sender(self, n: int) -> None:
        i = n
        while not self.stopping.is_set():
            rcpt = self.recipients[i % len(self.recipients)]
            i += 1
            token = unique_token("fault")
            try:
                client = smtplib.SMTP(self.d.jail.host, self.d.jail.port, timeout=60,
                                      source_address=(next_source(), 0))
            except OSError as e:
                # The daemon is being restarted: nothing was sent.
                with self.lock:
                    self.failures[f"connect: {type(e).__name__}"] += 1
                time.sleep(0.05)
                continue
            try:
                client.sendmail("tester@client.test", [rcpt], make_message(token, to=rcpt))
                with self.lock:
                    self.acked[token] = rcpt
                try:
                    client.quit()
                except (OSError, smtplib.SMTPException):
                    pass
            except (OSError, smtplib.SMTPException) as e:
                with self.lock:
                    self.unacked[token] = rcpt
                    self.failures[type(e).__name__ + ": " + str(e)[:60]] += 1
            finally:
                client.close()

    def counts(self, texts: list[str]) -> collections.Counter[str]:
        """How many times each token appears in the delivered mail."""
        found: collections.Counter[str] = collections.Counter()
        for text in texts:
            found.update(TOKEN.findall(text))
        return found

    def verdict(self, texts: list[str]) -> "FlowVerdict":
        found = self.counts(texts)
        with self.lock:
            acked, unacked = dict(self.acked), dict(self.unacked)
        return FlowVerdict(
            acked=len(acked), unacked=len(unacked),
            lost=sorted(t for t in acked if found[t] == 0),
            duplicated={t: n for t, n in found.items() if n > 1},
            unacked_delivered=sum(1 for t in unacked if found[t] == 1),
            strangers=sorted(t for t in found if t not in acked and t not in unacked))


@dataclasses.dataclass
class FlowVerdict:
    acked: int
    unacked: int
    lost: list[str]
    duplicated: dict[str, int]
    unacked_delivered: int
    strangers: list[str]

    def __str__(self) -> str:
        return (f"{self.acked} answered 250, {self.unacked} cut off ({self.unacked_delivered} of those delivered), "
                f"{len(self.lost)} lost, {len(self.duplicated)} delivered more than once")


class Faults:
    """Kills random processes of every role with SIGKILL — every tenth kill
    is the master, after which the daemon is started again on the same
    spool — and now and then stops one child with SIGSTOP for a while."""

    ROLES = ("listener", "lookup", "queue", "local", "relay", "local-worker")

    def __init__(self, d, kills: int, stops: int = 0, stop_seconds=(1.0, 8.0), interval=(0.15, 0.6),
                 seed: int | None = None):
        self.d = d
        self.kills = kills
        self.stops = stops
        # Some stops end before the watchdog, some after (it kills those).
        self.stop_seconds = stop_seconds
        self.stoppers: list[threading.Thread] = []
        self.interval = interval
        self.random = random.Random(seed)
        self.done: collections.Counter[str] = collections.Counter()
        self.restarts = 0

    def run(self) -> None:
        plan = ["kill"] * self.kills + ["stop"] * self.stops
        self.random.shuffle(plan)
        kills = 0
        for action in plan:
            time.sleep(self.random.uniform(*self.interval))
            if action == "stop":
                t = threading.Thread(target=self._stop_one, daemon=True)
                t.start()
                self.stoppers.append(t)
                continue
            kills += 1
            if kills % 10 == 0:
                self._kill_master()
            else:
                self._kill_one()
        for t in self.stoppers:
            t.join(30)

    def _victim(self, roles) -> tuple[str, int] | None:
        kids = self.d.children()
        workers = self.d.workers()
        choices = [r for r in roles if (r == "local-worker" and workers) or r in kids]
        if not choices:
            return None
        role = self.random.choice(choices)
        return role, (self.random.choice(workers) if role == "local-worker" else kids[role])

    def _kill_one(self) -> None:
        victim = self._victim(self.ROLES)
        if victim is None:
            return
        role, pid = victim
        try:
            os.kill(pid, signal.SIGKILL)
            self.done[role] += 1
        except ProcessLookupError:
            pass

    def _stop_one(self) -> None:
        victim = self._victim(self.ROLES[:-1])
        if victim is None:
            return
        role, pid = victim
        try:
            os.kill(pid, signal.SIGSTOP)
        except ProcessLookupError:
            return
        self.done[f"stop {role}"] += 1
        time.sleep(self.random.uniform(*self.stop_seconds))
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass

    def _kill_master(self) -> None:
        d = self.d
        d.children()
        d.workers()
        os.kill(d.pid, signal.SIGKILL)
        d.proc.wait(10)
        self.done["master"] += 1
        # The children leave when their master channel closes; a new
        # master can bind the listening socket once the old listener is gone.
        wait_until(lambda: not d.leftover_processes(), 30, interval=0.05,
                   what="the old daemon's children to exit\n" + d.diagnostics())
        d.start(timeout=30)
        self.restarts += 1
