"""Malformed frames written into each IPC edge of a running daemon (issue 2:
"the receiver survives, logs, and the daemon keeps delivering").

How a frame gets into an edge: the test takes a duplicate of the sending
process's end of the socketpair with pidfd_getfd(2) (the socket whose peer
inode, per `ss -xan`, is held by the receiving process) and sends datagrams on
it. The socketpairs are SOCK_SEQPACKET: one datagram is one frame, with the
12-byte header: u32 total length (big-endian), u16 type, u8 version (1),
u8 flags, u32 request id.

A receiver drops the connection at the first frame that does not decode, so
one burst exercises its first frame; each test therefore starts its own
daemon (a fraction of a second) and sends one burst of FRAMES_PER_EDGE
frames whose first frame is of the test's category, the rest drawn at random
from all categories. Edges: listener->lookup, listener->queue, queue->local,
queue->relay, queue->lookup with every category, the answering direction of
each with three (the receiver logs "protocol violation by SENDER", the master
restarts the sender), master->child (the child logs "bad
frame from the master" and exits, the master restarts it) and child->master
(the master logs "protocol violation by CHILD on its master channel" and
restarts the child). After each burst: the master still runs, the receiver
survived (or, on its master channel, was restarted), every edge exists
again, and a message is delivered end to end.

The seed is SEED (POSTERN_FUZZ_SEED overrides it); each test derives its own
generator from it and the test's name, and every failure message names both.
"""

from __future__ import annotations

import contextlib
import errno
import os
import random
import re
import socket
import struct
import time

import pytest

from daemon import (
    ROLES,
    StalePeerChannel,
    connected_fds,
    steal_fd,
    wait_until,
)

SEED = int(os.environ.get("POSTERN_FUZZ_SEED", "20260523"))
FRAMES_PER_EDGE = 200
MAX_FRAME = 65_536
CATEGORIES = ("random", "oversize", "truncated", "bad-length", "unknown-type", "garbage-payload")

# IPCMessage.Kind raw values, and how many descriptors each carries.
KINDS = {
    1: 0, 2: 1, 3: 1, 4: 1, 5: 0, 6: 0,  # configure attachPeer listenSocket userDatabase reload shutdown
    10: 0, 11: 0,  # ready peerViolation
    20: 0, 21: 0, 22: 0,  # checkRecipient recipientAccepted rejected
    30: 0, 31: 1, 32: 0, 33: 0, 34: 0,  # openMessage messageOpened commitMessage committed abortMessage
    40: 1, 41: 0, 42: 0,  # deliver deliveryResult assignWorker
}
NO_FD_KINDS = sorted(k for k, n in KINDS.items() if n == 0)

CHILD_EDGES = [("listener", "lookup"), ("listener", "queue"), ("queue", "local"), ("queue", "relay"),
               ("queue", "lookup")]
# The answering direction of the same socketpairs, with fewer categories.
REVERSE_EDGES = [("lookup", "listener"), ("queue", "listener"), ("local", "queue"), ("relay", "queue"),
                 ("lookup", "queue")]
REVERSE_CATEGORIES = ("random", "truncated", "garbage-payload")
EDGE_CASES = ([(edge, category) for edge in CHILD_EDGES for category in CATEGORIES]
              + [(edge, category) for edge in REVERSE_EDGES for category in REVERSE_CATEGORIES])
# The roles whose restart leaves an edge dead (see test_daemon.STALE_FD_REASON).
STALE_AFTER_RESTART = {"listener", "lookup", "queue"}
STALE_FD_REASON = (
    "product bug: restarting listener/lookup/queue leaves an IPC edge dead; the peer's replace() "
    "calls IPCChannel.shutdown() on a descriptor number its reader thread already closed and the "
    "new channel reuses (Sources/PosternIPC/IPCChannel.swift)")


# --------------------------------------------------------------------- frames


def header(length: int, kind: int, version: int = 1, flags: int = 0, request_id: int = 0) -> bytes:
    return struct.pack(">IHBBI", length & 0xFFFFFFFF, kind, version, flags, request_id)


def frame(kind: int, payload: bytes, request_id: int = 0, flags: int = 0) -> bytes:
    return header(12 + len(payload), kind, 1, flags, request_id) + payload


def field(text: str) -> bytes:
    data = text.encode()
    return struct.pack(">H", len(data)) + data


def u32(n: int) -> bytes:
    return struct.pack(">I", n)


def queue_id(rng: random.Random) -> str:
    return "".join(rng.choice("0123456789ABCDEFGHJKMNPQRSTVWXYZ") for _ in range(12))


def valid_frame(sender: str, receiver: str, rng: random.Random) -> bytes:
    """A well-formed frame of a kind `sender` really sends `receiver`."""
    rid = rng.randrange(1, 1 << 32)
    recipients = u32(1) + u32(0) + field("pt-alice@example.test") + field("pt-alice")
    if receiver == "master":
        if rng.random() < 0.5:
            return frame(10, field(sender))  # ready(role)
        return frame(11, field("lookup") + field("a reason"))  # peerViolation
    if sender == "master":
        return frame(5, u32(12) + b"MaxHopCount=", rid)  # reload(text)
    if (sender, receiver) in (("listener", "lookup"), ("queue", "lookup")):
        return frame(20, field("pt-alice@example.test") + field("127.0.0.1"), rid)  # checkRecipient
    if (sender, receiver) in (("lookup", "listener"), ("lookup", "queue")):
        return frame(21, field("pt-alice"), rid, flags=1)  # recipientAccepted (a response)
    if (sender, receiver) == ("queue", "listener"):
        return frame(33, field(queue_id(rng)), rid, flags=1)  # committed (a response)
    if (sender, receiver) in (("local", "queue"), ("relay", "queue")):
        return frame(41, field(queue_id(rng)) + u32(1) + u32(0) + b"\x00" + field("delivered"), rid,
                     flags=1)  # deliveryResult (a response)
    if (sender, receiver) == ("listener", "queue"):
        return frame(32, field(queue_id(rng)) + field("tester@client.test") + recipients
                     + field("127.0.0.1") + field("client.test") + field(""), rid)  # commitMessage
    # queue -> local / relay: deliver (its descriptor is missing here, which
    # alone makes it a violation; the truncations make it one regardless).
    return frame(40, field(queue_id(rng)) + field("tester@client.test") + struct.pack(">q", 1_700_000_000)
                 + recipients, rid)


def fuzz_frame(category: str, sender: str, receiver: str, rng: random.Random) -> bytes:
    if category == "random":
        return rng.randbytes(rng.randint(1, 70_000))
    if category == "oversize":
        n = rng.randint(MAX_FRAME + 1, 70_000)
        return header(n, rng.choice(NO_FD_KINDS)) + rng.randbytes(n - 12)
    if category == "truncated":
        good = valid_frame(sender, receiver, rng)
        return good[:rng.randint(1, len(good) - 1)]
    if category == "bad-length":
        good = valid_frame(sender, receiver, rng)
        actual = len(good)
        declared = rng.choice([0, 1, 11, 12, actual - 1, actual + 1, MAX_FRAME, MAX_FRAME + 1,
                               0xFFFFFFFF, rng.randrange(0, 1 << 32)])
        if declared == actual:
            declared += 1
        return struct.pack(">I", declared & 0xFFFFFFFF) + good[4:]
    if category == "unknown-type":
        kind = rng.randrange(0, 1 << 16)
        while kind in KINDS:
            kind = rng.randrange(0, 1 << 16)
        return frame(kind, rng.randbytes(rng.randint(0, 64)), rng.randrange(0, 1 << 32))
    if category == "garbage-payload":
        return frame(rng.choice(NO_FD_KINDS), rng.randbytes(rng.randint(1, 512)), rng.randrange(0, 1 << 32),
                     flags=rng.choice([0, 0, 1]))
    raise ValueError(category)


def burst(category: str, sender: str, receiver: str, rng: random.Random) -> list[bytes]:
    frames = [fuzz_frame(category, sender, receiver, rng)]
    while len(frames) < FRAMES_PER_EDGE:
        frames.append(fuzz_frame(rng.choice(CATEGORIES), sender, receiver, rng))
    return frames


def blast(pid: int, fd: int, frames: list[bytes]) -> dict:
    """Sends `frames` on a duplicate of descriptor `fd` of `pid`; never
    blocks (MSG_DONTWAIT: the file description is shared with the daemon, so
    its flags are left alone). Returns what happened to each frame."""
    stolen = steal_fd(pid, fd)
    sock = socket.socket(fileno=stolen)
    outcome = {"sent": 0, "too_big": 0, "full": 0, "closed_after": None, "first_sent": False}
    try:
        assert sock.type == socket.SOCK_SEQPACKET, f"fd {fd} of {pid} is {sock.type!r}"
        for i, data in enumerate(frames):
            try:
                n = sock.send(data, socket.MSG_DONTWAIT)
                assert n == len(data)
                outcome["sent"] += 1
                if i == 0:
                    outcome["first_sent"] = True
            except OSError as e:
                if e.errno == errno.EMSGSIZE:
                    outcome["too_big"] += 1
                elif e.errno in (errno.EAGAIN, errno.ENOBUFS):
                    outcome["full"] += 1
                elif e.errno in (errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN, errno.ECONNREFUSED):
                    outcome["closed_after"] = i  # the receiver dropped the connection
                    break
                else:
                    raise
    finally:
        sock.close()
    return outcome


@contextlib.contextmanager
def naming(context: str):
    """Prefixes any assertion failure with the seed and the edge."""
    try:
        yield
    except AssertionError as e:
        raise type(e)(f"[{context}] {e}").with_traceback(e.__traceback__) from None


def rng_for(name: str) -> random.Random:
    return random.Random(f"{SEED}:{name}")


def finish(d, restarted: str, context: str) -> None:
    """After a burst: every edge back, mail still flows, SIGTERM exits 0."""
    d.assert_edges_restored(f"after the restart of {restarted}", settle=0.3, timeout=0.7)
    d.deliver_and_wait("pt-alice")
    d.assert_running()
    d.stop()


def marks_for(restarted: str):
    return []


# ------------------------------------------------------------ child -> child


@pytest.mark.parametrize("edge,category", [
    pytest.param(edge, category, marks=marks_for(edge[0]), id=f"{edge[0]}->{edge[1]}-{category}")
    for edge, category in EDGE_CASES
])
def test_malformed_frames_between_children(start_daemon, edge, category):
    sender, receiver = edge
    context = f"seed={SEED} edge={sender}->{receiver} category={category}"
    with naming(context):
        d = start_daemon()
        kids = d.wait_ready()
        master = d.pid
        fds = connected_fds(kids[sender], kids[receiver])
        assert len(fds) == 1, f"{sender} holds {fds} connected to {receiver}"
        frames = burst(category, sender, receiver, rng_for(f"{sender}->{receiver}:{category}"))
        offset = len(d.log())
        outcome = blast(kids[sender], fds[0], frames)
        assert outcome["first_sent"], outcome

        # The receiver logs the violation and reports it; the master restarts the sender.
        pattern = re.compile(
            rf"postern/{receiver}\[{kids[receiver]}\]: .*protocol violation by {sender}\b")
        wait_until(lambda: pattern.search(d.log_since(offset)), 3,
                   what=f"{receiver} to log a protocol violation by {sender}")
        reported = re.compile(rf"postern/master\[{master}\]: .*{receiver} reports a protocol violation by {sender}")
        wait_until(lambda: reported.search(d.log_since(offset)), 3,
                   what=f"the master to log {receiver}'s report")
        wait_until(lambda: d.children().get(sender, kids[sender]) != kids[sender], 2,
                   what=f"the master to restart {sender}")
        after = d.wait_ready(timeout=5)
        d.assert_running()
        assert d.pid == master
        assert after[receiver] == kids[receiver], f"the receiver {receiver} did not survive"
        for role in ROLES:
            if role != sender:
                assert after[role] == kids[role], f"{role} was restarted too"
        finish(d, sender, context)


# ------------------------------------------------- master channel, both ways


MASTER_TO_CHILD = [(category, ROLES[i % len(ROLES)]) for i, category in enumerate(CATEGORIES)]
CHILD_TO_MASTER = [(category, ROLES[(i + 2) % len(ROLES)]) for i, category in enumerate(CATEGORIES)]


@pytest.mark.parametrize("category,child", [
    pytest.param(c, r, marks=marks_for(r), id=f"master->{r}-{c}") for c, r in MASTER_TO_CHILD
])
def test_malformed_frames_from_master_to_child(start_daemon, category, child):
    context = f"seed={SEED} edge=master->{child} category={category}"
    with naming(context):
        d = start_daemon()
        kids = d.wait_ready()
        master = d.pid
        fds = connected_fds(master, kids[child])
        assert len(fds) == 1, f"the master holds {fds} connected to {child}"
        frames = burst(category, "master", child, rng_for(f"master->{child}:{category}"))
        offset = len(d.log())
        outcome = blast(master, fds[0], frames)
        assert outcome["first_sent"], outcome

        # The child refuses the frame, says so, and ends; the master restarts it.
        pattern = re.compile(rf"postern/{child}\[{kids[child]}\]: .*bad frame from the master")
        wait_until(lambda: pattern.search(d.log_since(offset)), 3, what=f"{child} to log the bad frame")
        wait_until(lambda: d.children().get(child, kids[child]) != kids[child], 2,
                   what=f"the master to restart {child}")
        after = d.wait_ready(timeout=5)
        d.assert_running()
        assert d.pid == master
        for role in ROLES:
            if role != child:
                assert after[role] == kids[role], f"{role} was restarted too"
        finish(d, child, context)


@pytest.mark.parametrize("category,child", [
    pytest.param(c, r, marks=marks_for(r), id=f"{r}->master-{c}") for c, r in CHILD_TO_MASTER
])
def test_malformed_frames_from_child_to_master(start_daemon, category, child):
    context = f"seed={SEED} edge={child}->master category={category}"
    with naming(context):
        d = start_daemon()
        kids = d.wait_ready()
        master = d.pid
        fds = connected_fds(kids[child], master)
        assert fds == [3], f"{child} holds {fds} connected to the master (expected its fd 3)"
        frames = burst(category, child, "master", rng_for(f"{child}->master:{category}"))
        offset = len(d.log())
        outcome = blast(kids[child], 3, frames)
        assert outcome["first_sent"], outcome

        pattern = re.compile(
            rf"postern/master\[{master}\]: .*protocol violation by {child} on its master channel")
        wait_until(lambda: pattern.search(d.log_since(offset)), 3, what="the master to log the violation")
        wait_until(lambda: d.children().get(child, kids[child]) != kids[child], 2,
                   what=f"the master to restart {child}")
        after = d.wait_ready(timeout=5)
        d.assert_running()
        assert d.pid == master
        for role in ROLES:
            if role != child:
                assert after[role] == kids[role], f"{role} was restarted too"
        finish(d, child, context)


# ------------------------------------------------------- zero-length frames


class ZeroLengthFrameTakenForEOF(AssertionError):
    """A zero-length datagram closed the edge silently: no violation logged,
    the sender not restarted, the edge left dead."""


ZERO_REASON = (
    "product bug: IPCChannel.receive() returns nil (end of file) for a zero-length SEQPACKET datagram "
    "(`if n == 0 && received.isEmpty { return nil }`), so the receiver closes the edge without logging a "
    "violation or reporting the sender; nothing restarts it and the edge stays dead")


@pytest.mark.parametrize("edge", [("listener", "lookup"), ("queue", "local")], ids=lambda e: f"{e[0]}->{e[1]}")
def test_zero_length_frame_is_a_protocol_violation(start_daemon, edge):
    sender, receiver = edge
    d = start_daemon()
    kids = d.wait_ready()
    fds = connected_fds(kids[sender], kids[receiver])
    assert len(fds) == 1
    offset = len(d.log())
    outcome = blast(kids[sender], fds[0], [b""])
    assert outcome["first_sent"], outcome
    pattern = re.compile(rf"postern/{receiver}\[{kids[receiver]}\]: .*protocol violation by {sender}\b")
    try:
        wait_until(lambda: pattern.search(d.log_since(offset)), 2, what="the violation to be logged")
    except AssertionError:
        d.assert_running()
        gone = not connected_fds(kids[sender], kids[receiver])
        same = d.children().get(sender) == kids[sender]
        if gone and same:
            raise ZeroLengthFrameTakenForEOF(
                f"a zero-length frame {sender}->{receiver} closed the edge; nothing logged, {sender} not "
                f"restarted\n{d.diagnostics(20)}")
        raise
    wait_until(lambda: d.children().get(sender, kids[sender]) != kids[sender], 2,
               what=f"the master to restart {sender}")
    d.wait_ready(timeout=5)
    d.assert_running()
    assert d.children()[receiver] == kids[receiver]


# ------------------------------------------------------- forged reports


FORGED_REPORT_REASON = (
    "product bug: the master kills whatever role a child's peerViolation frame names "
    "(Sources/PosternMaster/MasterLoop.swift readFrame, case .peerViolation) without checking that the "
    "offender is a peer of the reporter, so a compromised relay can have the listener (or any child) "
    "killed at will; docs/trust-and-ipc.md 'No process trusts another'")


def test_a_child_cannot_get_a_non_peer_restarted(start_daemon):
    """The relay shares no socketpair with the listener, so it cannot have
    seen a frame from it: its report of a violation by the listener is a lie
    and must not cost the listener its life."""
    d = start_daemon()
    kids = d.wait_ready()
    assert connected_fds(kids["relay"], kids["listener"]) == []
    offset = len(d.log())
    outcome = blast(kids["relay"], 3, [frame(11, field("listener") + field("forged report"))])
    assert outcome["sent"] == 1, outcome
    wait_until(lambda: "forged report" in d.log_since(offset) or d.children().get("listener") != kids["listener"],
               2, what="the master to react to the report")
    time.sleep(0.5)
    d.assert_running()
    assert d.children().get("listener") == kids["listener"], (
        f"the listener was restarted on the relay's word\n{d.diagnostics(10)}")
