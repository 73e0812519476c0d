"""Retries, expiry, delay warnings and bounces against the running daemon
(issue 5). The relay process answers every remote delivery with 451 until
remote delivery exists, which makes a real, repeatable temporary failure:
a message to a remote address is deferred, retried on schedule, warned
about, and finally expired and bounced. The times are shortened in the
configuration (Timeout.queuewarn, Timeout.queuereturn, QueueRetryMinimum,
QueueRetryMaximum); the code paths are the production ones.

Bounces are RFC 3464 reports; they are read back with Python's email
package, the way a mail client would.
"""

from __future__ import annotations

import email
import email.policy
import re
import smtplib
import time

import pytest

from daemon import make_message, unique_token, wait_until
from smtp_client import fresh_daemon

BOB = "pt-bob@example.test"
RELAY_CLIENT = "127.0.0.9"


@pytest.fixture(scope="module")
def notices(postern_bin):
    with fresh_daemon(postern_bin, {
        "Timeout.queuewarn": "3s",
        "Timeout.queuereturn": "8s",
        "QueueRetryMinimum": "1s",
        "QueueRetryMaximum": "2s",
    }, access=f"Connect:{RELAY_CLIENT} RELAY\n") as d:
        yield d


def send(d, sender: str, recipients: list[str], token: str, rcpt_options: list[str] = (),
         mail_options: list[str] = ()) -> None:
    client = smtplib.SMTP(d.jail.host, d.jail.port, timeout=15, source_address=(RELAY_CLIENT, 0))
    try:
        client.ehlo("client.test")
        client.sendmail(sender, recipients, make_message(token, sender=sender, to=recipients[0]),
                        mail_options=list(mail_options), rcpt_options=list(rcpt_options))
        client.quit()
    finally:
        client.close()


def messages_in(d, user: str) -> list[email.message.EmailMessage]:
    """The mbox, split into parsed messages."""
    text = d.mbox(user)
    parts = re.split(r"(?m)^From [^\n]*\n", text)
    return [email.message_from_string(p.replace("\n>From ", "\nFrom "), policy=email.policy.default)
            for p in parts if p.strip()]


def reports_about(d, user: str, token: str, subject_word: str) -> list[email.message.EmailMessage]:
    found = []
    for m in messages_in(d, user):
        if m.get_content_type() == "multipart/report" and subject_word in str(m["Subject"]) \
                and token in m.as_string():
            found.append(m)
    return found


def delivery_status(report) -> list[dict[str, str]]:
    """The per-recipient field groups of the message/delivery-status part."""
    for part in report.walk():
        if part.get_content_type() == "message/delivery-status":
            groups = []
            for block in part.get_payload():
                groups.append({k.lower(): str(v) for k, v in block.items()})
            return groups
    raise AssertionError("no message/delivery-status part")


def test_a_deferred_message_is_retried_on_schedule(notices):
    d = notices
    token = unique_token("retry")
    offset = len(d.log())
    send(d, BOB, ["someone@remote.test"], token)
    # Deferred at once, then retried after 1 s, 2 s, 2 s...
    wait_until(lambda: d.log_since(offset).count("to=<someone@remote.test>, relay=relay, status=deferred") >= 3,
               10, what="three delivery attempts")
    times = [line.split(" vm ")[0] for line in d.log_since(offset).splitlines()
             if "to=<someone@remote.test>, relay=relay, status=deferred" in line]
    assert len(times) >= 3


def test_the_sender_is_warned_once_then_the_message_expires_and_bounces(notices):
    d = notices
    token = unique_token("expire")
    send(d, BOB, ["someone@remote.test"], token)
    warnings = []
    wait_until(lambda: warnings.extend(reports_about(d, "pt-bob", token, "Delayed")) or warnings, 15,
               what="the delay warning")
    warning = warnings[0]
    status = delivery_status(warning)
    assert status[-1]["action"] == "delayed"
    assert status[-1]["final-recipient"].lower() == "rfc822; someone@remote.test"
    assert status[-1]["status"].startswith("4.")
    assert str(warning["From"]).startswith("Mail Delivery System <MAILER-DAEMON@")
    assert str(warning["Auto-Submitted"]) == "auto-replied"

    bounces = []
    wait_until(lambda: bounces.extend(reports_about(d, "pt-bob", token, "Undelivered")) or bounces, 20,
               what="the bounce after Timeout.queuereturn")
    bounce = bounces[0]
    status = delivery_status(bounce)
    assert status[-1]["action"] == "failed"
    assert status[-1]["status"] == "4.4.7"
    assert "someone@remote.test" in bounce.as_string()
    # The whole original comes back (RET not given).
    kinds = [p.get_content_type() for p in bounce.walk()]
    assert "message/rfc822" in kinds, kinds
    # Warned once only, bounced once only.
    time.sleep(2)
    assert len(reports_about(d, "pt-bob", token, "Delayed")) == 1
    assert len(reports_about(d, "pt-bob", token, "Undelivered")) == 1


def test_notify_never_gets_no_report_and_ret_hdrs_gets_headers_only(notices):
    d = notices
    quiet, headers = unique_token("never"), unique_token("hdrs")
    send(d, BOB, ["quiet@remote.test"], quiet, rcpt_options=["NOTIFY=NEVER"])
    send(d, BOB, ["headers@remote.test"], headers, rcpt_options=["NOTIFY=FAILURE"], mail_options=["RET=HDRS"])
    bounces = []
    wait_until(lambda: bounces.extend(reports_about(d, "pt-bob", headers, "Undelivered")) or bounces, 20,
               what="the RET=HDRS bounce")
    kinds = [p.get_content_type() for p in bounces[0].walk()]
    assert "text/rfc822-headers" in kinds and "message/rfc822" not in kinds, kinds
    # NOTIFY=FAILURE: no delay warning for that one either.
    assert not reports_about(d, "pt-bob", headers, "Delayed")
    time.sleep(1)
    assert not reports_about(d, "pt-bob", quiet, "Undelivered")
    assert not reports_about(d, "pt-bob", quiet, "Delayed")


def test_a_notice_that_cannot_be_delivered_goes_to_the_postmaster_once(notices):
    """A message from a remote sender expires. Both notices to that sender
    (the delay warning and the bounce) are deferred by the relay too and
    expire in turn: each failure goes to the postmaster (root) once, as a
    postmaster copy, and nothing about those copies is ever sent."""
    d = notices
    token = unique_token("double")
    send(d, "far@remote.test", ["someone@remote.test"], token)
    found = []
    wait_until(lambda: len(reports_about(d, "root", token, "Undelivered")) >= 2, 40,
               what="the postmaster's copies of the two undeliverable notices")
    copies = reports_about(d, "root", token, "Undelivered")
    assert all(str(c["Subject"]).startswith("Postmaster Copy") for c in copies), [str(c["Subject"]) for c in copies]
    time.sleep(8)
    assert len(reports_about(d, "root", token, "Undelivered")) == 2, "a notice was answered by another"
    log = d.log()
    to_postmaster = re.findall(r"(\w{12}): queued, from=<>, size=\d+, nrcpt=1, notice=failed about \w{12}, "
                               r"to=<postmaster>", log)
    for qid in to_postmaster:
        assert f"about {qid}" not in log, f"a notice about the postmaster copy {qid}"


def test_a_permanent_failure_bounces_at_once_naming_recipient_and_reason(postern_bin):
    """The user was deleted while the message waited in the queue (the
    lookup accepted it; local delivery finds no such user): 5.1.1, and the
    sender gets the bounce at once, not after Timeout.queuereturn."""
    from spool_support import prepare_msg_dir, write_spool_message

    with fresh_daemon(postern_bin) as d:
        d.kill_all()
        qid = "G0NE00000001"
        write_spool_message(prepare_msg_dir(d.jail.spool), qid, int(time.time()), sender="pt-alice@example.test",
                            recipient=("pt-deleted", "pt-deleted@example.test"), next_attempt=0)
        d.start()
        bounces = []
        wait_until(lambda: bounces.extend(reports_about(d, "pt-alice", qid, "Undelivered")) or bounces, 20,
                   what="the bounce of the permanent failure")
        status = delivery_status(bounces[0])
        assert status[-1]["final-recipient"].lower() == "rfc822; pt-deleted@example.test"
        assert status[-1]["status"] == "5.1.1" and status[-1]["action"] == "failed"
        assert "user unknown" in bounces[0].as_string()
        assert f"{qid}: to=<pt-deleted@example.test>, relay=local, status=bounced (5.1.1 user unknown)" in d.log()


def test_a_temporary_local_failure_is_retried_and_delivered_once_it_clears(notices):
    """pt-alice's mailbox is replaced by a symlink: local delivery refuses
    it (4.2.0 unsafe mailbox) and the message is deferred; once the
    administrator removes the symlink, the next retry delivers it, once."""
    import os

    d = notices
    mbox = d.mbox_path("pt-alice")
    if mbox.exists() or mbox.is_symlink():
        mbox.unlink()
    decoy = d.jail.prefix / "decoy"
    decoy.write_text("")
    os.symlink(decoy, mbox)
    token = unique_token("retry-local")
    offset = len(d.log())
    try:
        send(d, BOB, ["pt-alice@example.test"], token)
        wait_until(lambda: "to=<pt-alice@example.test>, relay=local, status=deferred (4.2.0 unsafe mailbox"
                   in d.log_since(offset), 10, what="the deferral")
    finally:
        mbox.unlink()
    text = d.wait_for_mbox("pt-alice", lambda t: token in t, timeout=15)
    time.sleep(2.5)
    assert d.mbox("pt-alice").count(f"token={token}") == 1
    assert decoy.read_text() == "", "something was written through the symlink"
    assert not reports_about(d, "pt-bob", token, "Undelivered")
