#!/usr/bin/env python3
"""Writes the seed corpora in Fuzz/corpus/<target>/ (committed; rerun after
changing a seed here). Seeds are small, valid or nearly valid inputs, so the
fuzzer starts from the shapes each parser really sees.

    python3 Fuzz/make-corpus.py
"""
import hashlib
import os
import shutil
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
CRLF = b"\r\n"
MARK = b"\xff\xfe"  # fuzz_session: the end of one read


def write(target, seeds):
    directory = os.path.join(ROOT, target)
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    for name, data in seeds.items():
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)


# ---------------------------------------------------------------- SMTP

def lines(*items):
    return b"".join(item + CRLF for item in items)


command = {
    "ehlo": b"EHLO client.example.test",
    "helo-literal": b"HELO [192.0.2.1]",
    "helo-ipv6": b"EHLO [IPv6:2001:db8::1]",
    "mail-params": b"MAIL FROM:<alice@example.test> SIZE=1000 BODY=8BITMIME RET=HDRS ENVID=q+2Bid SMTPUTF8",
    "mail-null": b"MAIL FROM:<>",
    "mail-route": b"MAIL FROM:<@relay.example,@b.example:\"a b\"@example.test>",
    "rcpt-dsn": b"RCPT TO:<bob@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob+40example.test",
    "rcpt-postmaster": b"rcpt to: <Postmaster>",
    "rcpt-utf8": "RCPT TO:<пользователь@пример.испытание>".encode(),
    "bdat": b"BDAT 100 LAST",
    "misc": lines(b"DATA", b"RSET", b"NOOP x", b"QUIT", b"VRFY u", b"EXPN l", b"HELP", b"ETRN example.test", b"VERB"),
    "framing": b"NOOP\r\nNO\nOP\r\nNOOP\rx\r\nNO\x00OP\r\n" + b"A" * 40 + b"\r\npartial",
}

address = {
    "simple": b"<alice@example.test>",
    "route": b"<@a.example,@b.example:user@c.example>",
    "quoted": b"<\"quoted \\\" local\"@example.test>",
    "literal4": b"<user@[192.0.2.1]>",
    "literal6": b"<user@[IPv6:2001:db8::192.0.2.1]>",
    "postmaster": b"<postmaster>",
    "null": b"<>",
    "utf8": "<用户@例子.测试>".encode(),
    "bare": b"alice@example.test",
    "percent": b"<u%other.example@local.example>",
    "bang": b"<other.example!u@local.example>",
    "trailing-dot": b"<u@example.test.>",
}

# fuzz_data: one option byte, then the data.
def content(data, normalize=False, bdat=False, small=False, step=1):
    return bytes([(normalize and 1) | (bdat and 2) | (small and 4) | (step - 1) << 3]) + data


data = {
    "plain": content(lines(b"Subject: hi", b"", b"body", b"..dotted", b".") + b"MAIL FROM:<x@y>\r\n", step=7),
    "empty": content(b".\r\n"),
    "normalize": content(b"line\nbare\rcr\r\n.\r\n", normalize=True, step=3),
    "smuggle-lf": content(b"a\r\n\n.\nMAIL FROM:<x@y>\r\n\r\n.\r\n"),
    "smuggle-cr": content(b"a\r\n.\rMAIL FROM:<x@y>\r\n\r.\r\n\r\n.\r\n", normalize=True),
    "nul": content(b"a\x00b\r\n.\r\n", step=3),
    "eightbit": content("Subject: héllo\r\n\r\nüñí\r\n.\r\n".encode(), step=32),
    "headers": content(lines(b"Received: from a", b"Received : from b", b"Date: x", b"Message-ID: <y>",
                             b"Subject: folded", b"\tline", b"", b"body", b"."), step=5),
    "no-header": content(lines(b"just a body line", b"Subject: not a header", b".")),
    "loop": content(lines(b"Received: 1", b"Received: 2", b"Received: 3", b"", b"x", b"."), small=True),
    "bad-header": content(lines(b"Subject: x", b" ", b"", b"."), step=2),
    "bdat-lf": content(b"Subject: x\nX-A: b\n\nbody\nmore", bdat=True, step=4),
    "bdat-header-only": content(b"Subject: x\r\nX-A: b", bdat=True),
    "bdat-continuation": content(b" folded first\r\nSubject: x\r\n\r\n", bdat=True),
    "bdat-big": content(b"Subject: x\r\n\r\n" + b"y" * 310, bdat=True, small=True, step=32),
}


def session(flags=0, privacy=0, choices=b"\x00" * 8, stream=b""):
    assert len(choices) == 8
    return bytes([flags, privacy & 0xFF, privacy >> 8]) + choices + stream


ehlo = b"EHLO client.example.test\r\n"
mail = b"MAIL FROM:<alice@example.test>\r\n"
rcpt = b"RCPT TO:<bob@example.test>\r\n"
message = lines(b"Subject: hello", b"Date: Mon, 1 Jan 2024 00:00:00 +0000", b"", b"body", b"..x", b".")
chunk = b"Subject: x\r\n\r\nabcdef"

sessions = {
    "data": session(stream=ehlo + mail + rcpt + b"DATA\r\n" + MARK + message + b"QUIT\r\n"),
    "bdat": session(stream=ehlo + b"MAIL FROM:<alice@example.test> BODY=8BITMIME\r\n" + rcpt
                    + b"BDAT %d\r\n" % len(chunk) + chunk + b"BDAT 5 LAST\r\nhello" + b"QUIT\r\n"),
    "pipelined-dsn": session(
        choices=b"\x00\x02\x01\x03\x00\x01\x00\x00",
        stream=ehlo + b"MAIL FROM:<> RET=FULL ENVID=x+2By SMTPUTF8\r\n"
        + "RCPT TO:<ü@example.test> NOTIFY=SUCCESS ORCPT=rfc822;u+40x\r\n".encode()
        + rcpt + b"RCPT TO:<postmaster>\r\nDATA\r\n" + MARK + b"no header line\r\n.\r\n" + mail + b"RSET\r\n"),
    "small-limits": session(
        flags=0x08, stream=b"HELO c.test\r\n" + mail + rcpt + rcpt + rcpt + b"DATA\r\n" + MARK
        + lines(b"Received: a", b"Received: b", b"Received: c", b"", b"x" * 300, b".")
        + b"MAIL FROM:<a@b.test> SIZE=999999\r\n"),
    "smuggling": session(
        flags=0x01, stream=ehlo + mail + rcpt + b"DATA\r\n" + MARK
        + b"a\r\n\n.\nMAIL FROM:<evil@x>\r\n\r.\r\nb\r\n.\r\n" + mail),
    "refused-greeting": session(flags=0x04, stream=ehlo + mail + b"BDAT 3\r\nabc" + b"QUIT\r\n"),
    "privacy": session(privacy=0x3FFF, stream=b"VRFY root\r\nEXPN staff\r\nMAIL FROM:<a@b.test>\r\nHELO c\r\n"
                       b"VRFY root\r\nEXPN staff\r\nETRN x.test\r\nVERB\r\nHELP\r\n"),
    "errors": session(stream=b"FOO\r\nMAIL\r\n" + b"NOOP " + b"x" * 600 + b"\r\nNO\x00OP\r\nNOOP\nQUIT\r\n"
                      b"RCPT TO:<a@b.test>\r\nDATA\r\nBDAT x\r\n"),
    "timeout-waiting": session(flags=0x40, choices=b"\x00\x00\x10" + b"\x00" * 5, stream=ehlo + mail + rcpt + b"DATA\r\n"),
    "delayed-answers": session(choices=b"\x10\x11\x12\x00\x30\x31\x33\x10",
                               stream=ehlo + mail + MARK + rcpt + rcpt + MARK + b"NOOP\r\n" + MARK + b"DATA\r\n"
                               + MARK + message),
    "smuggling-refused": session(
        stream=ehlo + mail + rcpt + b"DATA\r\n" + MARK + b"a\r\n\n.\r\nMAIL FROM:<evil@x>\r\n.\r\n" + mail),
    "queue-failures": session(choices=b"\x00\x00\x07\x00\x00\x00\x03\x00",
                              stream=ehlo + mail + rcpt + b"DATA\r\n" + MARK + message
                              + mail + rcpt + b"BDAT 2 LAST\r\nhi"),
}

# ---------------------------------------------------------------- IPC

def u16(v):
    return struct.pack(">H", v)


def u32(v):
    return struct.pack(">I", v)


def string(s):
    b = s.encode()
    return u16(len(b)) + b


def frame(kind, payload, request_id=7, response=False):
    body = u16(kind) + bytes([1, 1 if response else 0]) + u32(request_id) + payload
    return u32(len(body) + 4) + body


client = string("192.0.2.1") + string("mail.example.test") + string("")
frames = {
    "configure": frame(1, u32(25) + b"hostname mx.example.test\n"),
    "ready": frame(10, string("listener")),
    "check-sender": frame(25, string("alice@example.test") + client),
    "check-recipient": frame(20, string("bob@example.test") + client),
    "client-verdict": frame(24, b"\x01" + u16(554) + string("5.7.1") + string("Listed") + b"\x00"
                            + string("host.example"), response=True),
    "rejected": frame(22, u16(550) + string("5.1.1") + string("User unknown"), response=True),
    "commit": frame(32, string("0123456789AB") + string("alice@example.test") + u32(2)
                    + string("bob@example.test") + string("bob") + b"\x06" + string("rfc822;bob@example.test")
                    + string("carol@example.test") + string("") + b"\x00" + string("")
                    + string("192.0.2.1") + string("client.example.test") + string("") + string("full")
                    + string("envid") + string("8bitmime") + b"\x01"),
    "deliver": frame(40, string("0123456789AB") + string("alice@example.test") + struct.pack(">q", 1700000000)
                     + u32(1) + u32(0) + string("bob@example.test") + string("bob")),
    "delivery-result": frame(41, string("0123456789AB") + u32(2) + u32(0) + b"\x00" + string("ok")
                             + u32(1) + b"\x01" + string("mailbox busy"), response=True),
    "assign-worker": frame(42, string("bob") + u32(1000) + u32(1000) + u32(2) + u32(1000) + u32(8)
                           + string("/home/bob") + string("/var/mail")),
    "opened": frame(31, string("0123456789AB"), response=True),
}

def ls(value):
    """A control file's length-prefixed string."""
    return "%d:%s" % (len(value.encode()), value)


def control_file(*records):
    return "".join(r + "\n" for r in records).encode()


control = {
    "minimal": control_file(
        "postern-control 1", "id 0123456789AB", "sender " + ls("alice@example.test"), "arrival 1700000000",
        "client " + ls("192.0.2.1"), "helo " + ls("mail.example.test"), "auth 0:", "size 1234", "attempts 0",
        "next-attempt 0", "rcpt pending 3:bob " + ls("bob@example.test") + " 0:", "end"),
    "full": control_file(
        "postern-control 1", "id 0123456789AB", "sender 0:", "arrival 1700000000", "client " + ls("2001:db8::1"),
        "helo " + ls("[192.0.2.77]"), "auth " + ls("alice"), "size 99", "attempts 3", "next-attempt 1700003600",
        "ret hdrs", "envid " + ls("q+id"), "body 8bitmime", "smtputf8 yes",
        "rcpt delivered 3:bob " + ls("bob@example.test") + " " + ls("ok"),
        "dsn success,failure " + ls("rfc822;bob@example.test"),
        "rcpt failed 0: " + ls("carol@remote.test") + " " + ls("550 no such user"),
        "dsn never 0:", "end"),
    "torn": b"postern-control 1\nid 0123456789AB\nsender 18:alice@exa",
}

access = {
    "sample": b"""# access map
192.168 RELAY
192.168.1 REJECT
Connect:192.0.2 RELAY
Connect:198.51 ERROR:"550 5.7.1 Go away"
IPv6:2001:db8 RELAY
IPv6:2001:db8::1 DISCARD
[192.0.2.9] OK
From:spammer@ REJECT
From:<> OK
From:example.com ERROR:5.7.1:550 No mail from you
To:postmaster@example.com OK
To:.example.org ERROR:4.7.1:451 Try later
alice@example.com REJECT
sub.example.com SKIP
host.example\tRELAY
Spam:abuse@ FRIEND
GreetPause:192.168 5000
""",
    "errors": b"bad key\nConnect:user@x REJECT\n10.1.2.3.4 OK\nhost RELEY\nx ERROR:250 ok\nx ERROR:\"550 oops\n\r\n",
}

# ---------------------------------------------------------------- DNS

def name(text):
    out = b""
    for label in text.split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def dns(qname, qtype, answers, rcode=0, flags=0x8180, qd=1):
    header = u16(0x1234) + u16(flags | rcode) + u16(qd) + u16(len(answers)) + u16(0) + u16(0)
    question = name(qname) + u16(qtype) + u16(1) if qd else b""
    records = b""
    for owner, rtype, rdata in answers:
        records += owner + u16(rtype) + u16(1) + u32(300) + u16(len(rdata)) + rdata
    return header + question + records


POINTER = b"\xc0\x0c"  # the question name
dnsmsgs = {
    "dnsbl-a": dns("2.0.0.127.zen.example", 1, [(POINTER, 1, bytes([127, 0, 0, 2]))]),
    "dnsbl-txt": dns("2.0.0.127.zen.example", 16, [(POINTER, 16, b"\x0bListed: see\x05 http")]),
    "mx": dns("example.test", 15, [(POINTER, 15, u16(10) + name("mx1.example.test")),
                                   (POINTER, 15, u16(20) + b"\x03mx2" + POINTER)]),
    "null-mx": dns("example.test", 15, [(POINTER, 15, u16(0) + b"\x00")]),
    "cname": dns("www.example.test", 1, [(POINTER, 5, name("web.example.test")),
                                         (name("web.example.test"), 1, bytes([192, 0, 2, 1]))]),
    "aaaa": dns("host.example.test", 28, [(POINTER, 28, bytes(range(16)))]),
    "ptr": dns("1.2.0.192.in-addr.arpa", 12, [(POINTER, 12, name("Host-_x.Example.TEST"))]),
    "nxdomain": dns("1.2.0.192.zen.example", 1, [], rcode=3),
    "truncated": dns("example.test", 16, [], flags=0x8380),
}


DROP_HEAD = (b"POSTERN-DROP 1\nname U1000.00000000000000000000000000000000\nuid 1000\ntime 1765000000\n"
             b"error-mode p\ndelivery-mode b\n")
drops = {
    "plain": DROP_HEAD + b"recipient alice\n\nSubject: hi\r\n\r\nbody\r\n",
    "extract": DROP_HEAD + b"extract 1\nsender \nfull-name Cron%20Daemon\n\nTo: a, b@x\nBcc: c\n\n.\nbody\n",
    "requests": b"SUBMIT U1000.0123456789abcdef0123456789abcdef\nVERIFY alice\nCHECK <bob@example.test>\nQUIT\n",
}


def main():
    write("fuzz_drop", drops)
    write("fuzz_command", command)
    write("fuzz_address", address)
    write("fuzz_data", data)
    write("fuzz_session", sessions)
    write("fuzz_frame", frames)
    write("fuzz_control", control)
    write("fuzz_access", access)
    write("fuzz_dns", dnsmsgs)
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(ROOT) for f in fs)
    print(f"corpus: {total} bytes in {ROOT}")


if __name__ == "__main__":
    main()
