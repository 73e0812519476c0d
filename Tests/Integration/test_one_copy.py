"""One copy per mailbox (issue 12, part 1): recipients of one transaction
that reach the same delivery target, however they were named — twice the
same, a case variant, another local domain, a virtual address, an alias
next to one of its members — are delivered once. Each RCPT still gets its
own 250, and each recipient that asked for a DSN gets its own report."""

from __future__ import annotations

import re
import smtplib
import subprocess

import pytest

from daemon import make_message, unique_token, wait_until
from smtp_client import fresh_daemon
from test_queue_notices import delivery_status, reports_about

ALICE = "pt-alice@example.test"
RELAY_CLIENT = "127.0.0.9"


@pytest.fixture(scope="module")
def oc(postern_bin):
    files = {
        "virtusertable": "sales@virt.test   pt-bob\n",
        "aliases": "team: pt-alice, pt-bob\n",
    }
    with fresh_daemon(postern_bin, {"LocalDomains": "example.test, mail.example.test", "QueueRetryMinimum": "1h"},
                      files=files, access=f"Connect:{RELAY_CLIENT} RELAY\n") as d:
        yield d


def transaction(d, recipients: list[str], token: str, rcpt_options: dict[str, list[str]] | None = None,
                sender: str = ALICE, source: str | None = None) -> list[tuple[int, bytes]]:
    """One transaction; returns each RCPT's reply, then DATA's."""
    client = smtplib.SMTP(d.jail.host, d.jail.port, timeout=15, source_address=(source, 0) if source else None)
    try:
        client.ehlo("client.test")
        assert client.mail(sender)[0] == 250
        replies = [client.rcpt(r, (rcpt_options or {}).get(r, [])) for r in recipients]
        replies.append(client.data(make_message(token, sender=sender, to=recipients[0])))
        client.quit()
        return replies
    finally:
        client.close()


def queue_id(reply: tuple[int, bytes]) -> str:
    return re.search(r"queued as ([0-9A-Z]{12})", reply[1].decode()).group(1)


@pytest.mark.parametrize("variants", [
    ["pt-bob@example.test", "pt-bob@example.test"],
    ["pt-bob@example.test", "PT-BOB@EXAMPLE.TEST"],
    ["pt-bob@example.test", "pt-bob@mail.example.test"],
    ["pt-bob@example.test", "sales@virt.test"],
    ["sales@virt.test", "PT-BOB@mail.example.test", "pt-bob@example.test"],
    ["team@example.test", "pt-bob@example.test"],
], ids=["twice", "case", "other-domain", "virtual", "three-ways", "alias-and-member"])
def test_each_target_gets_one_copy(oc, variants):
    token = unique_token("once")
    offset = len(oc.log())
    replies = transaction(oc, variants, token)
    assert [code for code, _ in replies] == [250] * (len(variants) + 1), replies
    qid = queue_id(replies[-1])
    wait_until(lambda: f"{qid}: removed" in oc.log_since(offset), 20, what="the message to be finished\n"
               + oc.diagnostics())
    assert oc.mbox("pt-bob").count(f"token={token}") == 1, oc.mbox("pt-bob")[-3000:]
    if variants[0].startswith("team"):
        assert oc.mbox("pt-alice").count(f"token={token}") == 1
    # Every address the client gave has its line in the log.
    log = oc.log_since(offset)
    for address in variants:
        assert f"to=<{address}>" in log, log


def test_each_recipient_that_asked_gets_its_own_report(oc):
    token = unique_token("dsn")
    offset = len(oc.log())
    recipients = ["pt-bob@example.test", "PT-BOB@example.test", "sales@virt.test"]
    replies = transaction(oc, recipients, token, rcpt_options={
        "PT-BOB@example.test": ["NOTIFY=SUCCESS", "ORCPT=rfc822;PT-BOB@example.test"],
        "sales@virt.test": ["NOTIFY=SUCCESS,FAILURE"],
    })
    assert [code for code, _ in replies] == [250, 250, 250, 250], replies
    qid = queue_id(replies[-1])
    wait_until(lambda: f"{qid}: removed" in oc.log_since(offset), 20, what="the message to be finished")
    assert oc.mbox("pt-bob").count(f"token={token}") == 1
    found = []
    wait_until(lambda: found.extend(reports_about(oc, "pt-alice", token, "Successful")) or found, 20,
               what="the success report\n" + oc.diagnostics())
    groups = [g for report in found for g in delivery_status(report)[1:]]
    finals = sorted(g["final-recipient"] for g in groups)
    assert finals == ["rfc822; PT-BOB@example.test", "rfc822; sales@virt.test"], groups
    assert all(g["action"] == "delivered" for g in groups), groups
    assert "rfc822; PT-BOB@example.test" in [g.get("original-recipient") for g in groups]


def test_a_remote_duplicate_waits_with_its_primary_and_the_queue_says_so(oc):
    token = unique_token("show")
    offset = len(oc.log())
    replies = transaction(oc, ["someone@remote.test", "SOMEONE@remote.test"], token, source=RELAY_CLIENT)
    assert [code for code, _ in replies] == [250, 250, 250], replies
    qid = queue_id(replies[-1])
    wait_until(lambda: f"to=<someone@remote.test>, relay=relay, status=deferred" in oc.log_since(offset), 20,
               what="the deferral")
    shown = subprocess.run([str(oc.bin), "queue", "show", qid, "-c", str(oc.jail.config)],
                           capture_output=True, text=True, timeout=30)
    assert shown.returncode == 0, shown.stderr
    assert "recipient: <someone@remote.test> pending" in shown.stdout, shown.stdout
    assert "recipient: <SOMEONE@remote.test> pending [same delivery as <someone@remote.test>]" in shown.stdout
    # Only one address went to the relay.
    assert "to=<SOMEONE@remote.test>, relay=relay" not in oc.log_since(offset)
