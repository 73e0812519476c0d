"""`postern log` against a log with known traffic (issue 15, item 1).

One daemon with TLS, SASL (the sasldb of test_auth.py) and an access map
takes a known set of sessions: accepted messages, rejections for several
reasons, AUTH successes and a failure, a message relayed to the closed
smart host (deferred), a spooled message for a deleted user (bounced, and
its notice sent), two sessions open at once, a killed relay, and attempts
to forge a record through a recipient address and a HELO name. Then
`postern log --json` must count exactly that, and `--trace` must show one
message's lines from the listener, the queue and local.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import smtplib
import subprocess
import time

import pytest

from daemon import make_message, unique_token, wait_until
from smtp_client import wait_delivered
from spool_support import prepare_msg_dir, write_spool_message
from test_auth import make_sasldb, tls_client
from tls_support import tls_daemon

ALICE = "pt-alice@example.test"
BOUNCED_QID = "G0NE00000002"
FORGED_ADDRESS = "postern/queue[1]: ZZZZZZZZZZZZ: to=a@b, status=sent"
FORGED = "postern/queue[1]: ZZZZZZZZZZZZ: to=<a@b>, relay=local, status=sent (delivered to mailbox, 1 bytes)"


def prepare(jail):
    make_sasldb(jail)
    (jail.config_dir / "access").write_text("From:spammer@bad.test REJECT\n")
    write_spool_message(prepare_msg_dir(jail.spool), BOUNCED_QID, int(time.time()), sender=ALICE,
                        recipient=("pt-deleted", "pt-deleted@example.test"), next_attempt=0)


def postern_log(postern_bin, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(postern_bin), "log", *args], capture_output=True, text=True, timeout=60)


def plain(d) -> smtplib.SMTP:
    client = smtplib.SMTP(d.jail.host, d.jail.port, timeout=30)
    client.ehlo("client.test")
    return client


@pytest.fixture(scope="module")
def traffic(postern_bin):
    with tls_daemon(postern_bin, before_start=prepare) as (d, ports, pki):
        # The bounce of the spooled message and its notice to alice.
        wait_until(lambda: f"notice=failed about {BOUNCED_QID}" in d.log(), 20, what="the bounce notice")
        # The start-up's readiness probe connects too (at least once; its line may come late).
        wait_until(lambda: "]: disconnect from " in d.log(), 10, what="the readiness probe's session")
        probes = d.log().count("]: connect from ")

        # Two accepted messages to alice, the second under TLS and AUTH, both sessions open at once.
        first, second = plain(d), tls_client(d, ports.smtp, pki)
        token = unique_token("lr")
        first.sendmail("tester@client.test", [ALICE], make_message(token))
        second.login("carol", "Carol's secret 1")
        second.sendmail("carol@example.test", [ALICE], make_message(unique_token("lr")))
        first.quit()
        second.quit()

        # Rejections: relaying denied, unknown user, access map (MAIL), and a forged recipient.
        client = plain(d)
        client.mail("tester@client.test")
        assert client.rcpt("someone@far.test")[0] == 550
        assert client.rcpt("pt-nosuch@example.test")[0] == 550
        forged_rcpt = client.rcpt(f'"{FORGED_ADDRESS}"@example.test')[0]
        assert forged_rcpt == 550
        client.rset()
        assert client.mail("spammer@bad.test")[0] == 550
        client.quit()

        # A HELO name that tries the same (refused or logged inside the listener's line).
        client = smtplib.SMTP(d.jail.host, d.jail.port, timeout=30)
        helo_code = client.docmd("HELO", FORGED)[0]
        client.close()

        # AUTH: one failure (a session of its own), one relayed message (deferred at the closed smart host).
        client = tls_client(d, ports.smtp, pki)
        blob = base64.b64encode(b"\0carol\0wrong").decode()
        assert client.docmd("AUTH PLAIN " + blob)[0] == 535
        client.close()
        client = tls_client(d, ports.smtp, pki)
        client.login("dave", "dave-pw-2")
        client.sendmail("", ["remote@far.test"], make_message(unique_token("lr")))
        client.quit()
        wait_until(lambda: "to=<remote@far.test>, relay=relay, status=deferred" in d.log(), 30,
                   what="the deferral")

        # A killed relay, restarted by the master.
        relay = d.children()["relay"]
        os.kill(relay, signal.SIGKILL)
        wait_until(lambda: d.children().get("relay", relay) != relay, 10, what="the relay's restart")
        wait_until(lambda: d.log().count("relay=local, status=sent") >= 3, 20, what="the local deliveries")
        time.sleep(0.5)
        yield d, helo_code, probes


def review(postern_bin, d, *args) -> dict:
    result = postern_log(postern_bin, "--json", *args, str(d.log_path))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_every_count_equals_the_known_traffic(postern_bin, traffic):
    d, helo_code, probes = traffic
    r = review(postern_bin, d)
    log = d.log()
    assert r["lines"]["unparsable"] == 0, log
    # Sessions: two at once, the rejections, the HELO, the AUTH failure, the relayed one.
    assert r["connections"] == 6 + probes, "\n".join(l for l in log.splitlines() if "postern/listener" in l)
    assert r["peak_concurrency"] == 2
    assert r["messages_accepted"] == 3  # the two to alice, the relayed one; not the notice
    assert r["processes"]["listener"]["events"]["accepted"] == 3
    # The forged address has an @ in its quoted local part: relaying denied.
    expected = {"relaying_denied": 2, "unknown_user": 1, "access_map": 1}
    if helo_code >= 400:
        expected["protocol"] = 1
    assert r["rejections"]["by"] == expected, log
    assert r["rejections"]["total"] == sum(expected.values())
    # smtplib's login picks CRAM-MD5; the failure was sent as PLAIN.
    assert r["auth"] == {"successes": {"CRAM-MD5": 2}, "failures": {"PLAIN": 1}}
    assert r["tls"]["in"]["total"] == 6 + probes and r["tls"]["in"]["tls"] == 3
    assert sum(r["tls"]["in"]["versions"].values()) == 3
    assert r["deliveries"]["mbox"] == 3  # two messages and the notice
    assert sum(r["deliveries"].values()) == 3
    assert r["deferrals"]["total"] == 1
    assert [row["key"] for row in r["top_deferral_domains"]] == ["far.test"]
    assert r["bounces"]["total"] == 1 and list(r["bounces"]["by"]) == ["N.N.N user unknown"]
    assert r["notices"] == {"total": 1, "by": {"failed": 1}}
    assert r["child_deaths"] == {"total": 1, "by": {"relay": 1}}
    assert r["death_signals"] == {"9": 1}
    assert r["restarts"] == {"total": 1, "by": {"relay": 1}}
    assert r["processes"]["relay"]["events"]["died"] == 1
    assert r["top_clients_by_connections"] == [{"key": "127.0.0.1", "count": 6 + probes}]
    assert r["top_clients_by_rejections"] == [{"key": "127.0.0.1", "count": sum(expected.values())}]
    assert sum(row["count"] for row in r["messages_per_hour"]) == 3


def test_trace_shows_the_listener_queue_and_local_lines(postern_bin, traffic):
    d, _, _ = traffic
    # The first message's queue id: from the listener's accepted line of its session.
    accepted = [line for line in d.log().splitlines() if "postern/listener[" in line and ": accepted, client=" in line]
    qid = accepted[0].split("]: ")[1].split(":")[0]
    result = postern_log(postern_bin, "--trace", qid, "--json", str(d.log_path))
    assert result.returncode == 0, result.stderr
    lines = json.loads(result.stdout)
    processes = {line["process"] for line in lines}
    assert {"listener", "queue", "local"} <= processes, lines
    assert all(qid in line["text"] for line in lines)
    # By address, and the notice a bounce caused.
    result = postern_log(postern_bin, "--trace", BOUNCED_QID, str(d.log_path))
    assert "notice=failed about " + BOUNCED_QID in result.stdout
    notice = result.stdout.split("notice=failed about")[0].rsplit("]: ", 1)[1].split(":")[0]
    assert f"{notice}: to=<{ALICE}>, relay=local, status=sent" in result.stdout


def test_trace_by_message_id(postern_bin, traffic):
    d, _, _ = traffic
    # make_message gives every message <TOKEN@client.test>; the first one's:
    accepted = [line for line in d.log().splitlines() if "postern/listener[" in line and ": accepted, client=" in line]
    message_id = accepted[0].split("message-id=")[1].split()[0]
    assert message_id.startswith("<") and message_id.endswith("@client.test>"), accepted[0]
    result = postern_log(postern_bin, "--trace", message_id, "--json", str(d.log_path))
    assert result.returncode == 0, result.stderr
    processes = {line["process"] for line in json.loads(result.stdout)}
    assert {"listener", "queue", "local"} <= processes, result.stdout


def test_a_forged_record_counts_nothing(postern_bin, traffic):
    d, _, _ = traffic
    log = d.log()
    assert FORGED_ADDRESS in log, "the forged text should reach the log, inside a listener line"
    for line in log.split("\n"):
        assert not line.startswith("postern/queue[1]"), line
        if "ZZZZZZZZZZZZ" in line:
            assert "postern/listener[" in line.split(": ", 1)[0] + ": ", line
    r = review(postern_bin, d)
    assert r["deliveries"]["mbox"] == 3
    trace = postern_log(postern_bin, "--trace", "ZZZZZZZZZZZZ", "--json", str(d.log_path))
    assert all(line["process"] == "listener" for line in json.loads(trace.stdout or "[]"))


def test_process_filter_and_gzip(postern_bin, traffic, tmp_path):
    d, _, _ = traffic
    import gzip
    packed = tmp_path / "postern.log.1.gz"
    packed.write_bytes(gzip.compress(d.log_path.read_bytes()))
    whole = review(postern_bin, d)
    result = postern_log(postern_bin, "--json", str(packed))
    assert json.loads(result.stdout)["messages_accepted"] == whole["messages_accepted"]
    only = review(postern_bin, d, "--process", "listener")
    assert set(only["processes"]) == {"listener"} and only["messages_accepted"] == 0
    assert only["lines"]["filtered"] > 0
