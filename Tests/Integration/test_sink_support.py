"""Tests of the remote delivery test infrastructure itself: the SMTP sink
(smtp_sink.py), talked to with smtplib and with raw sockets, and the MX,
null MX and AAAA records of the test DNS server (dns_server.py). No
daemon here: these must hold before the relay tests can mean anything.
"""

from __future__ import annotations

import errno
import smtplib
import socket
import ssl
import subprocess
import time

import pytest

from dns_server import DnsServer
from smtp_client import ConnectionClosed, SMTPConn
from smtp_sink import (
    ALL_CAPABILITIES,
    GARBAGE_BYTES,
    OVERSIZED_LINE_LENGTH,
    Hostile,
    Reply,
    SmtpSink,
    refusing,
)

MESSAGE = b"From: a@client.test\r\nTo: b@sink.test\r\nSubject: test\r\n\r\nbody\r\n"


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    """A self-signed certificate for sink.test and 127.0.0.1, and its key."""
    directory = tmp_path_factory.mktemp("sink-tls")
    result = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", "key.pem", "-out", "cert.pem", "-days", "2", "-subj", "/CN=sink.test",
         "-addext", "subjectAltName=DNS:sink.test,IP:127.0.0.1"],
        cwd=directory, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return directory / "cert.pem", directory / "key.pem"


def client(sink: SmtpSink, **kwargs) -> SMTPConn:
    return SMTPConn(sink.host, sink.port, timeout=5, **kwargs)


def raw_connect(sink: SmtpSink) -> socket.socket:
    return socket.create_connection(sink.address, timeout=5)


def read_until_closed(sock: socket.socket, limit: int = 1 << 20) -> bytes:
    data = b""
    while len(data) < limit:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


# ------------------------------------------------------------------ plain SMTP


def test_smtplib_delivery_is_recorded_with_envelope_data_and_connection():
    with SmtpSink(capabilities=ALL_CAPABILITIES) as sink:
        with smtplib.SMTP(sink.host, sink.port, local_hostname="client.test", timeout=5) as smtp:
            code, text = smtp.ehlo()
            assert code == 250
            assert text.decode().split("\n")[1:] == list(ALL_CAPABILITIES)
            refused = smtp.sendmail("a@client.test", ["b@sink.test", "c@sink.test"],
                                    MESSAGE + b".leading dot\r\n..two\r\n",
                                    mail_options=["BODY=8BITMIME", "RET=HDRS", "ENVID=xyz"],
                                    rcpt_options=["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;b@sink.test"])
            assert refused == {}
        [message] = sink.wait_for_messages(1)
        assert message.mail_from == "a@client.test"
        assert message.mail_params["BODY"] == "8BITMIME"
        assert message.mail_params["RET"] == "HDRS" and message.mail_params["ENVID"] == "xyz"
        assert message.accepted_recipients == ["b@sink.test", "c@sink.test"]
        assert message.recipients[0].params == {"NOTIFY": "SUCCESS,FAILURE", "ORCPT": "rfc822;b@sink.test"}
        assert message.data == MESSAGE + b".leading dot\r\n..two\r\n"
        assert message.raw_data == MESSAGE + b"..leading dot\r\n...two\r\n"
        assert message.method == "DATA" and message.accepted and message.reply.startswith("250 2.0.0")
        assert (message.helo, message.esmtp, message.tls, message.connection, message.index) == (
            "client.test", True, False, 1, 1)
        [connection] = sink.wait_for_closed()
        assert connection.peer[0] == "127.0.0.1" and connection.local == sink.address
        assert connection.messages == 1 and connection.closed_by == "server"
        assert [c.split()[0].upper() for c in connection.commands] == ["EHLO", "MAIL", "RCPT", "RCPT", "DATA", "QUIT"]
        assert sink.connection_count == 1 and sink.errors == []


def test_reject_ehlo_forces_helo_and_plain_replies():
    with SmtpSink(reject_ehlo=True) as sink:
        with smtplib.SMTP(sink.host, sink.port, local_hostname="client.test", timeout=5) as smtp:
            assert smtp.ehlo()[0] == 500
            assert smtp.helo()[0] == 250
            assert smtp.mail("a@client.test") == (250, b"sender ok")  # no enhanced codes without EHLO
            assert smtp.mail("a@client.test")[0] == 503
        with client(sink) as c:
            c.cmd("HELO client.test")
            assert c.cmd("MAIL FROM:<a@client.test> BODY=8BITMIME").code == 555  # no parameters after HELO
        assert sink.transactions[0].esmtp is False


def test_default_capabilities_do_not_include_the_optional_extensions():
    with SmtpSink() as sink, client(sink) as c:
        assert c.ehlo().lines[1:] == ["PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES"]
        assert c.cmd("MAIL FROM:<a@client.test> SIZE=10").code == 555
        assert c.cmd("MAIL FROM:<a@client.test> SMTPUTF8").code == 555
        assert c.cmd("MAIL FROM:<a@client.test> RET=FULL").code == 555
        assert c.cmd("MAIL FROM:<ü@client.test>").code == 553
        assert c.cmd("MAIL FROM:<a@client.test> BODY=BINARYMIME").code == 501
        assert c.cmd("MAIL FROM:a@client.test").code == 501
        assert c.cmd("MAIL FROM:<a@client.test>").code == 250
        assert c.cmd("RCPT TO:<b@sink.test> NOTIFY=NEVER").code == 555
        assert c.cmd("RCPT TO:<>").code == 501
        assert c.cmd("BDAT 0 LAST").code == 500  # CHUNKING not advertised: an unknown command
        assert c.cmd("STARTTLS").code == 500
        assert c.cmd("DATA").code == 554  # no recipient accepted


def test_size_limit_smtputf8_and_dsn_parameter_checks():
    capabilities = ("SIZE 1000", "SMTPUTF8", "DSN", "8BITMIME", "ENHANCEDSTATUSCODES")
    with SmtpSink(capabilities=capabilities) as sink, client(sink) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@client.test> SIZE=1001").full.startswith("552 5.3.4")
        assert c.cmd("MAIL FROM:<a@client.test> SIZE=ten").code == 501
        assert c.cmd("MAIL FROM:<ü@client.test> SMTPUTF8 SIZE=900").code == 250
        assert c.cmd("RCPT TO:<b@sink.test> NOTIFY=NEVER,FAILURE").code == 501
        assert c.cmd("RCPT TO:<b@sink.test> NOTIFY=DELAY ORCPT=rfc822;b@sink.test").code == 250
        assert c.cmd("RCPT TO:<ä@sink.test>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(b"x" * 998 + b"\r\n" + b"y" * 10 + b"\r\n.\r\n")
        assert c.read_reply().full.startswith("552 5.3.4")  # 1012 bytes, over the advertised 1000
        assert c.cmd("MAIL FROM:<a@client.test>").code == 250
        assert c.cmd("RCPT TO:<ü@sink.test>").code == 553  # no SMTPUTF8 in this MAIL
    [too_big, _] = sink.transactions
    assert too_big.mail_from == "ü@client.test" and not too_big.accepted and len(too_big.data) == 1012
    assert [r.address for r in too_big.recipients] == ["b@sink.test", "b@sink.test", "ä@sink.test"]
    assert [r.accepted for r in too_big.recipients] == [False, True, True]
    assert sink.messages == []


def test_sequence_errors_and_rset_end_transactions():
    with SmtpSink() as sink, client(sink) as c:
        assert c.cmd("MAIL FROM:<a@client.test>").code == 503  # before EHLO
        c.ehlo()
        assert c.cmd("RCPT TO:<b@sink.test>").code == 503
        assert c.cmd("MAIL FROM:<>").code == 250  # the null sender
        assert c.cmd("MAIL FROM:<a@client.test>").code == 503  # nested
        assert c.cmd("RCPT TO:<b@sink.test>").code == 250
        assert c.cmd("RSET").code == 250
        assert c.cmd("DATA").code == 503
        assert c.cmd("NOOP").code == 250
        assert c.cmd("FROB").full == "500 5.5.2 command unrecognized"
        assert c.cmd("QUIT").code == 221
        assert c.wait_closed()
    [aborted] = sink.transactions
    assert (aborted.mail_from, aborted.method, aborted.data, aborted.reply) == ("", None, None, None)
    assert aborted.accepted_recipients == ["b@sink.test"]


def test_only_crlf_dot_crlf_ends_data_and_bare_lf_is_kept():
    with SmtpSink() as sink, client(sink) as c:
        c.ehlo()
        c.cmd("MAIL FROM:<a@client.test>")
        c.cmd("RCPT TO:<b@sink.test>")
        assert c.cmd("DATA").code == 354
        c.send(b"one\n.\r\ntwo\r\n.\nthree\r\n.\r\n")
        assert c.read_reply().code == 250
    [message] = sink.messages
    # ".\nthree" is a line that starts with a dot (LF alone ends no line):
    # the dot goes, as in any dot-stuffed line.
    assert message.data == b"one\n.\r\ntwo\r\n\nthree\r\n"
    assert message.raw_data == b"one\n.\r\ntwo\r\n.\nthree\r\n"


def test_bare_lf_commands_are_flagged_and_overlong_lines_refused():
    with SmtpSink() as sink, client(sink) as c:
        c.send(b"EHLO client.test\n")
        assert c.read_reply().code == 250
        assert c.cmd("MAIL FROM:<a@client.test> " + "x" * 5000).full == "500 5.5.2 line too long"
        assert c.wait_closed()
    [connection] = sink.wait_for_closed()
    assert connection.bare_lf_commands and connection.commands == ("EHLO client.test",)


def test_bdat_chunks_are_joined_and_pipelined_chunks_detected():
    with SmtpSink(capabilities=("CHUNKING", "PIPELINING")) as sink, client(sink) as c:
        c.ehlo()
        c.cmd("MAIL FROM:<a@client.test>")
        c.cmd("RCPT TO:<b@sink.test>")
        c.send(b"BDAT 6\r\nhello\n")
        assert c.read_reply().full == "250 6 octets received"
        c.send(b"BDAT 3\r\n.\r\nBDAT 0 LAST\r\n")
        assert [r.code for r in c.read_replies(2)] == [250, 250]
        c.send(b"BDAT 2 LAST\r\nxx")
        assert c.read_reply().code == 503  # the transaction is over
        assert c.cmd("MAIL FROM:<a@client.test>").code == 250
        c.send(b"BDAT 1\r\nx")
        assert c.read_reply().code == 554  # no recipients: the chunk is read and refused
        assert c.cmd("NOOP").code == 250
    [message] = sink.messages
    assert (message.method, message.data, message.chunks) == ("BDAT", b"hello\n.\r\n", (6, 3, 0))
    assert sink.connections[0].pipelined


def test_pipelining_is_detected_only_when_the_client_does_it():
    with SmtpSink() as sink:
        with client(sink) as c:
            c.ehlo()
            c.cmd("MAIL FROM:<a@client.test>")
            c.cmd("RSET")
        with client(sink) as c:
            c.ehlo()
            c.send(b"MAIL FROM:<a@client.test>\r\nRCPT TO:<b@sink.test>\r\nDATA\r\n")
            assert [r.code for r in c.read_replies(3)] == [250, 250, 354]
            c.send(b"x\r\n.\r\n")
            assert c.read_reply().code == 250
        first, second = sink.wait_for_closed()
        assert (first.pipelined, second.pipelined) == (False, True)


def test_messages_are_counted_per_connection():
    with SmtpSink() as sink:
        for count in (70, 30):
            with smtplib.SMTP(sink.host, sink.port, timeout=5) as smtp:
                for i in range(count):
                    smtp.sendmail("a@client.test", [f"r{i}@sink.test"], MESSAGE)
        assert len(sink.wait_for_messages(100)) == 100
        assert sink.messages_per_connection == [70, 30]
        assert [t.index for t in sink.messages] == [*range(1, 71), *range(1, 31)]
        assert [t.connection for t in sink.messages] == [1] * 70 + [2] * 30


def test_wait_for_messages_times_out_with_a_description():
    with SmtpSink() as sink:
        with client(sink) as c:
            c.ehlo("describe.test")
        started = time.monotonic()
        with pytest.raises(AssertionError, match="0 of 1 messages") as failure:
            sink.wait_for_messages(1, timeout=0.2)
        assert time.monotonic() - started < 2
        assert "C: EHLO describe.test" in str(failure.value)


# ------------------------------------------------------------------ scripted replies


def test_scripted_recipient_and_data_replies():
    replies = {"rcpt": {"Bad@Sink.test": "550 5.1.1 no such user", "later@sink.test": "450 4.2.1 try later"},
               "data": "451 4.3.0 busy"}
    with SmtpSink(replies=replies) as sink:
        with smtplib.SMTP(sink.host, sink.port, timeout=5) as smtp:
            with pytest.raises(smtplib.SMTPDataError) as failure:
                smtp.sendmail("a@client.test", ["bad@sink.test", "later@sink.test", "ok@sink.test"], MESSAGE)
            assert failure.value.smtp_code == 451
            smtp.rset()
            sink.set_replies(None)
            assert smtp.sendmail("a@client.test", ["bad@sink.test"], MESSAGE) == {}
        first, second = sink.transactions
        assert [(r.address, r.reply, r.accepted) for r in first.recipients] == [
            ("bad@sink.test", "550 5.1.1 no such user", False),
            ("later@sink.test", "450 4.2.1 try later", False),
            ("ok@sink.test", "250 2.1.5 recipient ok", True),
        ]
        assert (first.reply, first.accepted, first.data) == ("451 4.3.0 busy", False, MESSAGE)
        assert second.accepted and sink.messages == [second]


def test_scripted_greeting_refusals():
    with SmtpSink(greeting="554 5.7.1 go away") as sink:
        with pytest.raises(smtplib.SMTPConnectError) as failure:
            smtplib.SMTP(sink.host, sink.port, timeout=5)
        assert failure.value.smtp_code == 554
    with SmtpSink(replies={"greeting": "421 4.3.2 busy"}) as sink, client(sink, read_greeting=False) as c:
        assert c.read_reply().full == "421 4.3.2 busy"
        assert c.wait_closed()  # 421 always closes


def test_multiline_script_reply_and_mail_by_sender():
    replies = {"mail": {"spam@client.test": "550-5.7.1 first line\n550 5.7.1 second line"}}
    with SmtpSink(replies=replies) as sink, client(sink) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<spam@client.test>").lines == ["5.7.1 first line", "5.7.1 second line"]
        assert c.cmd("MAIL FROM:<ham@client.test>").code == 250


def test_callable_script_sees_requests_and_can_close_after_two_messages():
    seen = []

    def script(request):
        seen.append((request.stage, request.argument))
        if request.stage == "mail" and request.connection.messages >= 2:
            return "421 4.7.0 enough for one connection"
        if request.stage == "data":
            assert request.transaction.data == MESSAGE
            return "250 2.0.0 taken " + request.transaction.accepted_recipients[0]
        return None

    with SmtpSink(replies=script) as sink:
        with smtplib.SMTP(sink.host, sink.port, timeout=5) as smtp:
            smtp.sendmail("a@client.test", ["b@sink.test"], MESSAGE)
            smtp.sendmail("a@client.test", ["c@sink.test"], MESSAGE)
            with pytest.raises(smtplib.SMTPSenderRefused):
                smtp.sendmail("a@client.test", ["d@sink.test"], MESSAGE)
        assert [m.reply for m in sink.messages] == ["250 2.0.0 taken b@sink.test", "250 2.0.0 taken c@sink.test"]
        [connection] = sink.wait_for_closed()
        assert connection.closed_by == "server"
    assert ("rcpt", "b@sink.test") in seen and ("greeting", "") in seen


def test_a_failing_script_is_reported_when_the_sink_exits():
    def script(request):
        raise ValueError("broken script")

    sink = SmtpSink(replies=script)
    with pytest.raises(AssertionError, match="broken script"):
        with sink:
            with client(sink, read_greeting=False) as c:
                assert c.wait_closed()


def test_reply_delay_close_and_data_stage_disconnect():
    with SmtpSink(replies={"ehlo": Reply("250 sink.test", delay=0.3), "data": Hostile.CLOSE}) as sink:
        with client(sink) as c:
            started = time.monotonic()
            c.ehlo()
            assert time.monotonic() - started >= 0.3
            c.cmd("MAIL FROM:<a@client.test>")
            c.cmd("RCPT TO:<b@sink.test>")
            c.cmd("DATA")
            c.send(MESSAGE + b".\r\n")
            with pytest.raises(ConnectionClosed):
                c.read_reply()
        [unanswered] = sink.transactions
        assert unanswered.data == MESSAGE and unanswered.reply is None and sink.messages == []
    with SmtpSink(replies={"mail": Reply("250 ok but goodbye", close=True)}) as sink, client(sink) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@client.test>").code == 250
        assert c.wait_closed()


def test_max_recipients_and_idle_timeout():
    with SmtpSink(max_recipients=2, idle_timeout=0.3) as sink, client(sink) as c:
        c.ehlo()
        c.cmd("MAIL FROM:<a@client.test>")
        assert [c.cmd(f"RCPT TO:<r{i}@sink.test>").code for i in range(3)] == [250, 250, 452]
        assert c.read_reply(timeout=3).full.startswith("421 4.4.2")
        assert c.wait_closed()


def test_unknown_stage_names_are_refused():
    with pytest.raises(AssertionError, match="unknown stage"):
        SmtpSink(replies={"rcpts": {"a@b": "550 no"}})


# ------------------------------------------------------------------ STARTTLS


def test_starttls_with_smtplib(cert):
    cert_file, key_file = cert
    capabilities = ("STARTTLS", "PIPELINING", "ENHANCEDSTATUSCODES")
    with SmtpSink(capabilities=capabilities, tls_cert=cert_file, tls_key=key_file) as sink:
        context = ssl.create_default_context(cafile=str(cert_file))
        with smtplib.SMTP(sink.host, sink.port, local_hostname="client.test", timeout=5) as smtp:
            smtp.ehlo()
            assert smtp.has_extn("starttls")
            smtp.starttls(context=context)
            smtp.ehlo("tls.client.test")
            assert not smtp.has_extn("starttls")
            smtp.sendmail("a@client.test", ["b@sink.test"], MESSAGE)
            assert smtp.docmd("STARTTLS")[0] == 503
        [message] = sink.wait_for_messages(1)
        assert message.tls and message.tls_version == "TLSv1.3" and message.helo == "tls.client.test"
        [connection] = sink.connections
        assert connection.tls and connection.plaintext_after_starttls == b""


def test_starttls_requires_a_new_ehlo_and_discards_pipelined_plaintext(cert):
    cert_file, key_file = cert
    with SmtpSink(capabilities=("STARTTLS",), tls_cert=cert_file, tls_key=key_file) as sink:
        with client(sink) as c:
            c.ehlo()
            c.send(b"STARTTLS\r\nMAIL FROM:<injected@client.test>\r\n")
            assert c.read_reply().code == 220
            context = ssl.create_default_context(cafile=str(cert_file))
            tls = context.wrap_socket(c.sock, server_hostname="sink.test")
            tls.sendall(b"MAIL FROM:<a@client.test>\r\n")
            assert tls.recv(1024).startswith(b"503 ")  # EHLO again first
            tls.close()
        [connection] = sink.wait_for_closed()
        assert connection.plaintext_after_starttls == b"MAIL FROM:<injected@client.test>\r\n"
        assert "MAIL FROM:<injected@client.test>" not in connection.commands
        assert connection.helo is None and connection.tls


def test_failed_tls_handshake_is_recorded(cert):
    cert_file, key_file = cert
    with SmtpSink(capabilities=("STARTTLS",), tls_cert=cert_file, tls_key=key_file) as sink:
        with client(sink) as c:
            c.ehlo()
            assert c.cmd("STARTTLS").code == 220
            untrusting = ssl.create_default_context()  # the system CAs: the self-signed cert fails
            with pytest.raises(ssl.SSLCertVerificationError):
                untrusting.wrap_socket(c.sock, server_hostname="sink.test")
        [connection] = sink.wait_for_closed()
        assert not connection.tls and "unknown ca" in connection.tls_error.lower()


def test_starttls_needs_a_certificate():
    with pytest.raises(AssertionError, match="STARTTLS needs"):
        SmtpSink(capabilities=("STARTTLS",))


# ------------------------------------------------------------------ hostile servers


def test_silent_server_accepts_and_never_speaks():
    with SmtpSink(greeting=Hostile.SILENT) as sink, raw_connect(sink) as sock:
        sink.wait_for_connections(1)
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            sock.recv(100)
        sock.sendall(b"EHLO client.test\r\n")
        with pytest.raises(TimeoutError):
            sock.recv(100)
        sock.close()
        [connection] = sink.wait_for_closed()
        assert connection.closed_by == "client" and connection.commands == ()


def test_server_closing_right_after_the_greeting():
    with SmtpSink(greeting=Reply("220 sink.test ESMTP", close=True)) as sink, raw_connect(sink) as sock:
        assert read_until_closed(sock) == b"220 sink.test ESMTP\r\n"


def test_oversized_reply_line():
    with SmtpSink(greeting=Hostile.OVERSIZED_LINE) as sink, raw_connect(sink) as sock:
        data = b""
        while b"\r\n" not in data:
            data += sock.recv(65536)
        line = data.split(b"\r\n")[0]
        assert line.startswith(b"220 sink.test ESMTP") and len(line) > OVERSIZED_LINE_LENGTH
        sock.sendall(b"QUIT\r\n")  # the session goes on behind the long line
        assert read_until_closed(sock).endswith(b"221 bye\r\n")


def test_endless_multiline_reply():
    with SmtpSink(replies={"ehlo": Hostile.ENDLESS_MULTILINE}) as sink, raw_connect(sink) as sock:
        f = sock.makefile("rb")
        assert f.readline().startswith(b"220 ")
        sock.sendall(b"EHLO client.test\r\n")
        lines = [f.readline() for _ in range(500)]
        assert all(line.startswith(b"250-") and line.endswith(b"\r\n") for line in lines)
        f.close()
        sock.close()
        [connection] = sink.wait_for_closed()
        assert connection.closed_by == "client"


def test_garbage_instead_of_a_greeting():
    with SmtpSink(greeting=Hostile.GARBAGE) as sink, raw_connect(sink) as sock:
        data = b""
        while len(data) < len(GARBAGE_BYTES):
            data += sock.recv(65536)
        assert data == GARBAGE_BYTES
        assert not any(line[:3].isdigit() for line in data.split(b"\n"))


def test_bare_lf_greeting():
    with SmtpSink(greeting=Hostile.BARE_LF) as sink, raw_connect(sink) as sock:
        data = b""
        while not data.endswith(b"\n"):
            data += sock.recv(65536)
        assert data == b"220 sink.test ESMTP postern test sink\n"


def test_close_without_any_greeting():
    with SmtpSink(greeting=Hostile.CLOSE) as sink, raw_connect(sink) as sock:
        assert read_until_closed(sock) == b""


def test_stop_ends_silent_and_endless_connections_quickly():
    sink = SmtpSink(greeting=Hostile.SILENT).start()
    sock = raw_connect(sink)
    sink.wait_for_connections(1)
    started = time.monotonic()
    sink.stop()
    assert time.monotonic() - started < 2
    assert read_until_closed(sock) == b""
    sock.close()


# ------------------------------------------------------------------ addresses


def test_refusing_address_refuses_connections():
    with refusing() as target:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(target.address, timeout=2)
    for last_octet in range(61, 71):  # port 25 on some 127.x address nobody else uses right now
        try:
            target = refusing(f"127.0.25.{last_octet}", 25)
            break
        except OSError as e:
            assert e.errno == errno.EADDRINUSE
    with target:
        assert target.port == 25
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(target.address, timeout=2)


def test_sink_on_port_25_of_another_loopback_address():
    for last_octet in range(71, 81):  # some 127.x address whose port 25 nobody else uses right now
        sink = SmtpSink(host=f"127.0.25.{last_octet}", port=25)
        try:
            sink.start()
            break
        except OSError as e:
            assert e.errno == errno.EADDRINUSE
    try:
        with smtplib.SMTP(sink.host, 25, timeout=5) as smtp:
            smtp.sendmail("a@client.test", ["b@sink.test"], MESSAGE)
        sink.wait_for_messages(1)
        assert sink.connections[0].local == (sink.host, 25)
    finally:
        sink.stop()
    # The port is free again at once, TIME_WAIT or not: the next sink and a
    # refusing address can both take it.
    with SmtpSink(host=sink.host, port=25):
        pass
    with refusing(sink.host, 25) as target:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(target.address, timeout=2)


def test_ipv6_loopback_sink():
    with SmtpSink(host="::1") as sink:
        with smtplib.SMTP("::1", sink.port, timeout=5) as smtp:
            smtp.sendmail("a@client.test", ["b@sink.test"], MESSAGE)
        assert sink.wait_for_messages(1)[0].data == MESSAGE
        assert sink.connections[0].peer[0] == "::1"


def test_only_loopback_addresses():
    with pytest.raises(AssertionError, match="not a loopback"):
        SmtpSink(host="192.0.2.1")
    with pytest.raises(AssertionError, match="not a loopback"):
        refusing("192.0.2.1", 25)


# ------------------------------------------------------------------ DNS: MX, null MX, AAAA


@pytest.fixture(scope="module")
def dns(tmp_path_factory):
    with DnsServer(
        mx={
            "example.test": [(20, "mx2.example.test"), (10, "mx1.example.test"), (10, "mx3.example.test")],
            "nullmx.test": [(0, ".")],
        },
        a={"mx1.example.test": "127.0.0.2", "mx2.example.test": ["127.0.0.3", "127.0.0.4"],
           "implicit.test": "127.0.0.5"},
        aaaa={"mx2.example.test": "::1", "v6only.test": "::1"},
        txt={"example.test": "v=spf1 -all"},
        log_dir=tmp_path_factory.mktemp("dnsmasq"),
    ) as server:
        yield server


def test_mx_records_in_preference_order_keeping_the_given_order_among_equals(dns):
    assert dns.mx("example.test") == ("NOERROR", [(10, "mx1.example.test"), (10, "mx3.example.test"),
                                                  (20, "mx2.example.test")])
    assert dns.query("example.test", "MX") == (
        "NOERROR", ["20 mx2.example.test", "10 mx1.example.test", "10 mx3.example.test"])
    assert dns.query("example.test", "TXT") == ("NOERROR", ["v=spf1 -all"])


def test_null_mx(dns):
    assert dns.mx("nullmx.test") == ("NOERROR", [(0, ".")])
    assert dns.query("nullmx.test", "A") == ("NOERROR", [])


def test_a_and_aaaa_records_with_nodata_for_missing_types(dns):
    assert dns.query("mx1.example.test", "A") == ("NOERROR", ["127.0.0.2"])
    assert dns.query("mx1.example.test", "AAAA") == ("NOERROR", [])  # NODATA, not NXDOMAIN
    assert dns.query("mx1.example.test", "MX") == ("NOERROR", [])
    rcode, addresses = dns.query("mx2.example.test", "A")
    assert rcode == "NOERROR" and sorted(addresses) == ["127.0.0.3", "127.0.0.4"]
    assert dns.query("mx2.example.test", "AAAA") == ("NOERROR", ["::1"])
    assert dns.query("v6only.test", "AAAA") == ("NOERROR", ["::1"])
    assert dns.query("v6only.test", "A") == ("NOERROR", [])
    # A domain with an address and no MX: the implicit MX of RFC 5321.
    assert dns.mx("implicit.test") == ("NOERROR", [])
    assert dns.query("implicit.test", "A") == ("NOERROR", ["127.0.0.5"])


def test_unknown_names_nxdomain_inside_and_refused_outside(dns):
    assert dns.query("nothere.example.test", "MX")[0] == "NXDOMAIN"
    assert dns.query("below.mx1.example.test", "A")[0] == "NXDOMAIN"  # records are for exactly the name
    assert dns.query("elsewhere.test", "MX")[0] == "REFUSED"


def test_dns_server_never_forwards_and_checks_its_records(dns):
    command = dns.command()
    assert "--no-resolv" in command and "--no-hosts" in command
    assert not any(arg.startswith(("--server", "--resolv-file")) for arg in command)
    assert "--mx-host=nullmx.test,.,0" in command
    with pytest.raises(AssertionError, match="not IPv4"):
        DnsServer(a={"x.test": "::1"})
    with pytest.raises(AssertionError, match="not IPv6"):
        DnsServer(aaaa={"x.test": "127.0.0.1"})
