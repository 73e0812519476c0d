"""A DNS server on loopback for the DNS block list and remote delivery
tests: dnsmasq, started with only the records a test gives it and never
forwarding anywhere.

    with DnsServer(a={"2.0.0.127.bl.test": "127.0.0.2"},
                   txt={"2.0.0.127.bl.test": "listed for testing"},
                   local_zones=("bl.test",)) as dns:
        dns.port                     # UDP and TCP on 127.0.0.1
        dns.query("2.0.0.127.bl.test", "A")   # -> (rcode, [answers]) via our own tiny client

    with DnsServer(mx={"example.test": [(10, "mx1.example.test"), (20, "mx2.example.test")],
                       "nullmx.test": [(0, ".")]},          # RFC 7505 null MX
                   a={"mx1.example.test": "127.0.0.2", "mx2.example.test": "127.0.0.3"},
                   aaaa={"mx1.example.test": "::1"}) as dns:
        dns.mx("example.test")       # -> ("NOERROR", [(10, "mx1.example.test"), (20, "mx2.example.test")])
        dns.mx("nullmx.test")        # -> ("NOERROR", [(0, ".")])

Every name given a record of any kind is also made a `--local` zone, so
dnsmasq answers like an authoritative server for it: the record types it
has no record of get NOERROR with no answers (NODATA: an MX query on a name
with only an A record, an AAAA query on a name with only an A record), and
names below it that have no records get NXDOMAIN. A and AAAA records are
dnsmasq `--host-record`s, for exactly the name given (`--address` would
answer NXDOMAIN to the AAAA query of a name with only an A record, which a
resolver takes as "no such host"). Names outside all of these and outside
`local_zones` get REFUSED, which a resolver treats as a server failure: the
way to make a lookup fail temporarily.

dnsmasq is run with --no-resolv, --no-hosts, --conf-file=/dev/null and no
--server, so it reads no resolver configuration and has no upstream: every
name it is not told about gets an answer from dnsmasq itself, nothing leaves
the machine. The command line is checked for that before the process is
started.

Also here: `dns_query`, a minimal stub query (A, AAAA, MX or TXT) over UDP,
used to wait for the server and by tests that want to see what the server
says; `silent_port`, a UDP port on 127.0.0.1 where nothing listens, and
`BlackHole`, a socket that takes queries and never answers.
"""

from __future__ import annotations

import ipaddress
import pathlib
import random
import shutil
import socket
import struct
import subprocess
import time

DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"

QTYPES = {"A": 1, "MX": 15, "TXT": 16, "AAAA": 28}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def free_udp_tcp_port(host: str = "127.0.0.1", tries: int = 50) -> int:
    """A port free for both UDP and TCP on `host` (dnsmasq binds both)."""
    for _ in range(tries):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind((host, 0))
            port = u.getsockname()[1]
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                    t.bind((host, port))
            except OSError:
                continue
            return port
    raise AssertionError("no port free for both UDP and TCP")


def silent_port(host: str = "127.0.0.1") -> int:
    """A UDP (and TCP) port where nothing listens: a DNS server that does
    not answer."""
    return free_udp_tcp_port(host)


class BlackHole:
    """A UDP socket on 127.0.0.1 that receives queries and never answers
    (and a TCP socket that listens and never accepts): a DNS server that
    has hung, as opposed to `silent_port`'s nothing-listening port, which
    the kernel answers with ICMP port unreachable."""

    def __init__(self, host: str = "127.0.0.1"):
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        for _ in range(50):
            self.udp.bind((host, 0))
            self.port = self.udp.getsockname()[1]
            try:
                self.tcp.bind((host, self.port))
                break
            except OSError:
                self.udp.close()
                self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.tcp.listen(1)

    def received(self) -> int:
        """How many datagrams arrived (drains them)."""
        count = 0
        self.udp.setblocking(False)
        while True:
            try:
                self.udp.recv(4096)
                count += 1
            except BlockingIOError:
                return count

    def close(self) -> None:
        self.udp.close()
        self.tcp.close()

    def __enter__(self) -> "BlackHole":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _encode_name(name: str) -> bytes:
    out = b""
    for label in name.rstrip(".").split("."):
        raw = label.encode("ascii")
        assert 0 < len(raw) < 64, f"bad label in {name!r}"
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def _skip_name(packet: bytes, offset: int) -> int:
    while True:
        length = packet[offset]
        if length == 0:
            return offset + 1
        if length & 0xC0 == 0xC0:
            return offset + 2
        offset += 1 + length


def _read_name(packet: bytes, offset: int) -> str:
    """The (possibly compressed) name at `offset`, as dotted text; the root
    is "." (a null MX's exchange)."""
    labels = []
    for _ in range(128):  # more jumps than a packet can hold labels: a pointer loop
        length = packet[offset]
        if length == 0:
            return ".".join(labels) or "."
        if length & 0xC0 == 0xC0:
            offset = ((length & 0x3F) << 8) | packet[offset + 1]
            continue
        labels.append(packet[offset + 1:offset + 1 + length].decode("ascii", errors="replace"))
        offset += 1 + length
    raise ValueError("compression pointer loop in DNS answer")


def dns_query(name: str, qtype: str = "A", host: str = "127.0.0.1", port: int = 53,
              timeout: float = 1.0) -> tuple[str, list[str]]:
    """One UDP query; returns (rcode name, answers as text: dotted IPv4 for
    A, compressed IPv6 for AAAA, "PREFERENCE EXCHANGE" for MX ("0 ." for a
    null MX), the joined strings for TXT). Only answers of the asked type
    are returned (dnsmasq adds the MX hosts' addresses to the additional
    section, not to the answers). Raises OSError/socket.timeout when the
    server does not answer."""
    qid = random.randrange(0, 1 << 16)
    question = _encode_name(name) + struct.pack("!HH", QTYPES[qtype], 1)
    packet = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + question
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(packet, (host, port))
        deadline = time.monotonic() + timeout
        while True:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            data, _ = s.recvfrom(4096)
            if len(data) >= 12 and struct.unpack("!H", data[:2])[0] == qid:
                break
    _, flags, qdcount, ancount, _, _ = struct.unpack("!HHHHHH", data[:12])
    rcode = RCODES.get(flags & 0xF, str(flags & 0xF))
    offset = 12
    for _ in range(qdcount):
        offset = _skip_name(data, offset) + 4
    answers = []
    for _ in range(ancount):
        offset = _skip_name(data, offset)
        rtype, _, _, rdlength = struct.unpack("!HHIH", data[offset:offset + 10])
        offset += 10
        rdata_offset = offset
        rdata = data[offset:offset + rdlength]
        offset += rdlength
        if rtype != QTYPES[qtype]:
            continue
        if rtype == 1 and rdlength == 4:
            answers.append(".".join(str(b) for b in rdata))
        elif rtype == 28 and rdlength == 16:
            answers.append(str(ipaddress.IPv6Address(rdata)))
        elif rtype == 15 and rdlength >= 3:
            preference = struct.unpack("!H", rdata[:2])[0]
            answers.append(f"{preference} {_read_name(data, rdata_offset + 2)}")
        elif rtype == 16:
            parts, i = [], 0
            while i < len(rdata):
                n = rdata[i]
                parts.append(rdata[i + 1:i + 1 + n].decode(errors="replace"))
                i += 1 + n
            answers.append("".join(parts))
    return rcode, answers


def _addresses(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


class DnsServer:
    """dnsmasq on 127.0.0.1:PORT serving only the given records.

    a:            {name: address or [addresses]} A records, for exactly
                  that name
    aaaa:         {name: address or [addresses]} AAAA records, likewise
    mx:           {domain: [(preference, exchange), ...]} MX records; the
                  exchange "." with preference 0 is a null MX (RFC 7505)
    txt:          {name: text} TXT records
    local_zones:  further zones dnsmasq is authoritative-ish for (`--local`):
                  names in them it has no record for get NXDOMAIN (every
                  name given a record above is one already)
    """

    def __init__(self, a=None, txt=None, local_zones=(), log_dir: pathlib.Path | str | None = None,
                 aaaa=None, mx=None):
        self.a = {name: _addresses(value) for name, value in (a or {}).items()}
        self.aaaa = {name: _addresses(value) for name, value in (aaaa or {}).items()}
        self.mx_hosts = {name: list(hosts) for name, hosts in (mx or {}).items()}
        self.txt = dict(txt or {})
        self.local_zones = tuple(local_zones)
        for name, addresses in self.a.items():
            for address in addresses:
                assert ipaddress.ip_address(address).version == 4, f"A record for {name}: {address!r} is not IPv4"
        for name, addresses in self.aaaa.items():
            for address in addresses:
                assert ipaddress.ip_address(address).version == 6, f"AAAA record for {name}: {address!r} is not IPv6"
        for name, hosts in self.mx_hosts.items():
            for preference, exchange in hosts:
                assert 0 <= preference < 1 << 16, f"MX preference {preference} for {name}"
                assert exchange and "," not in exchange and "/" not in exchange, f"MX exchange {exchange!r}"
        self.host = "127.0.0.1"
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None
        self.log_path = pathlib.Path(log_dir or "/tmp") / f"dnsmasq-{random.randrange(1 << 32):08x}.log"

    def command(self) -> list[str]:
        assert self.port is not None
        cmd = [
            DNSMASQ, "--no-daemon", f"--port={self.port}", f"--listen-address={self.host}",
            "--bind-interfaces", "--no-resolv", "--no-hosts", "--no-poll", "--conf-file=/dev/null",
            "--pid-file=", "--cache-size=0", "--log-queries", "--log-facility=-",
            # No DHCP, no TFTP: nothing but the records below.
        ]
        # Every name with a record is a local zone too: NODATA for the
        # types it lacks, NXDOMAIN below it (see the module comment).
        zones = dict.fromkeys([*self.local_zones, *self.a, *self.aaaa, *self.mx_hosts, *self.txt])
        for zone in zones:
            cmd.append(f"--local=/{zone}/")
        # A name's addresses come back in an order dnsmasq rotates from one
        # answer to the next (round robin): tests must not rely on it.
        for name, addresses in self.a.items():
            for address in addresses:
                cmd.append(f"--host-record={name},{address}")
        for name, addresses in self.aaaa.items():
            for address in addresses:
                cmd.append(f"--host-record={name},{address}")
        for name, hosts in self.mx_hosts.items():
            # dnsmasq answers with a name's MX records in the reverse of
            # their order on the command line; reversed here, they come
            # back in the order the test gave, which is the order a client
            # keeps among equal preferences. dnsmasq writes the exchange
            # "." as the root name: a null MX's rdata is preference 0 and a
            # single zero octet.
            for preference, exchange in reversed(hosts):
                cmd.append(f"--mx-host={name},{exchange},{preference}")
        for name, text in self.txt.items():
            # No shell: the text goes in as is (a comma would start a
            # second string, quotes would become part of the text).
            assert '"' not in text and "," not in text, "no quotes or commas in TXT test texts"
            cmd.append(f"--txt-record={name},{text}")
        # Never forward: no upstream server may appear on the command line.
        assert not any(arg.startswith(("--server", "-S", "--resolv-file", "-r")) for arg in cmd), cmd
        assert "--no-resolv" in cmd
        return cmd

    def start(self, timeout: float = 10) -> "DnsServer":
        last_error = None
        for _ in range(5):  # the port may be taken between choosing and binding it
            self.port = free_udp_tcp_port(self.host)
            log = open(self.log_path, "ab")
            try:
                self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                             start_new_session=True)
            finally:
                log.close()
            try:
                self._wait_ready(timeout)
                return self
            except AssertionError as e:
                last_error = e
                self.stop()
        raise AssertionError(f"dnsmasq did not start: {last_error}\n{self.log()}")

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"dnsmasq exited with status {self.proc.returncode}")
            try:
                dns_query("ready.check.invalid", "A", self.host, self.port, timeout=0.3)
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"dnsmasq on port {self.port} did not answer within {timeout}s")

    def query(self, name: str, qtype: str = "A", timeout: float = 1.0) -> tuple[str, list[str]]:
        return dns_query(name, qtype, self.host, self.port, timeout=timeout)

    def mx(self, name: str, timeout: float = 1.0) -> tuple[str, list[tuple[int, str]]]:
        """(rcode, [(preference, exchange), ...]) in preference order (the
        server's order among equals); a null MX is [(0, ".")]."""
        rcode, answers = self.query(name, "MX", timeout=timeout)
        hosts = []
        for answer in answers:
            preference, exchange = answer.split(" ", 1)
            hosts.append((int(preference), exchange))
        return rcode, sorted(hosts, key=lambda host: host[0])

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None

    def __enter__(self) -> "DnsServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
