"""Certificates and daemons for the STARTTLS / AUTH tests (issue 4).

`make_pki(dir)` makes a test CA and a server certificate for
mail.example.test (and 127.0.0.1) signed by it, with the `openssl` command
line, so the certificates are as real as any an administrator installs.
`tls_daemon(...)` starts a daemon on its own jail with three listeners:
port 25-style `smtp`, 587-style `submission` and 465-style `submissions`
(implicit TLS), the certificate and key in its configuration directory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import pathlib
import shutil
import socket
import ssl
import subprocess
import tempfile

import conftest
from smtp_client import set_options

HOSTNAME = "mail.example.test"


@dataclasses.dataclass
class PKI:
    ca: pathlib.Path
    cert: pathlib.Path
    key: pathlib.Path


def openssl(*args: str, cwd: pathlib.Path) -> None:
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"openssl {' '.join(args)}: {result.stderr}"


def make_pki(directory: pathlib.Path, name: str = HOSTNAME, days: int = 365, key_type: str = "rsa:2048") -> PKI:
    """A CA and a server certificate for `name`, valid for `days` days from
    now (an expired one: `expired_certificate`)."""
    directory.mkdir(parents=True, exist_ok=True)
    openssl("req", "-x509", "-newkey", key_type, "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "3650",
            "-subj", "/CN=Postern Test CA", cwd=directory)
    openssl("req", "-newkey", key_type, "-nodes", "-keyout", "server.key", "-out", "server.csr",
            "-subj", f"/CN={name}", cwd=directory)
    ext = directory / "ext.cnf"
    ext.write_text(f"subjectAltName = DNS:{name}, IP:127.0.0.1\nextendedKeyUsage = serverAuth\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", str(days), "-extfile", "ext.cnf", cwd=directory)
    return PKI(ca=directory / "ca.pem", cert=directory / "server.pem", key=directory / "server.key")


def expired_certificate(directory: pathlib.Path, name: str = HOSTNAME) -> PKI:
    """A self-signed certificate whose validity ended yesterday (via the
    `openssl ca` command, which takes explicit dates)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "index.txt").write_text("")
    (directory / "serial").write_text("01\n")
    (directory / "ca.cnf").write_text(
        "[ ca ]\ndefault_ca = test\n[ test ]\ndatabase = index.txt\nserial = serial\nnew_certs_dir = .\n"
        "default_md = sha256\npolicy = any\ncopy_extensions = copy\n[ any ]\ncommonName = supplied\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
            "-subj", f"/CN={name}", cwd=directory)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "3650",
            "-subj", "/CN=Postern Expired CA", cwd=directory)
    openssl("ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key", "-in", "server.csr",
            "-out", "server.pem", "-startdate", "20200101000000Z", "-enddate", "20200201000000Z", "-notext",
            cwd=directory)
    return PKI(ca=directory / "ca.pem", cert=directory / "server.pem", key=directory / "server.key")


def install_certificate(jail, pki: PKI) -> tuple[pathlib.Path, pathlib.Path]:
    """Copies the certificate and key into the jail's configuration
    directory, the key root-only (the listener reads it as root, before it
    drops privileges)."""
    cert = jail.config_dir / "tls-cert.pem"
    key = jail.config_dir / "tls-key.pem"
    shutil.copy(pki.cert, cert)
    shutil.copy(pki.key, key)
    cert.chmod(0o644)
    key.chmod(0o600)
    return cert, key


@dataclasses.dataclass
class Ports:
    smtp: int
    submission: int
    submissions: int


@contextlib.contextmanager
def tls_daemon(postern_bin, options: dict[str, object] | None = None, before_start=None,
               domain: str = "example.test"):
    """A started daemon with smtp, submission and submissions listeners and
    a certificate from a test CA. Yields (daemon, ports, pki)."""
    from daemon import Daemon

    conftest.require_root()
    prefix = pathlib.Path(tempfile.mkdtemp(prefix="pt-", dir=conftest.PREFIX_PARENT))
    d = None
    try:
        ports = Ports(conftest.free_port(), conftest.free_port(), conftest.free_port())
        result = conftest.run_setup_jail(prefix, "--listen", f"127.0.0.1:{ports.smtp}", "--domain", domain)
        assert result.returncode == 0, result.stdout + result.stderr
        jail = conftest.Jail(prefix=prefix, config=prefix / "etc/postern/postern.conf", host="127.0.0.1",
                             port=ports.smtp, domain=domain, hostname=f"mail.{domain}",
                             setup_output=result.stdout + result.stderr)
        pki = make_pki(prefix / "pki", name=f"mail.{domain}")
        cert, key = install_certificate(jail, pki)
        set_options(jail.config, {"TLSCertificateFile": cert, "TLSKeyFile": key, **(options or {})})
        with open(jail.config, "a") as f:
            f.write(f"Listen = 127.0.0.1:{ports.submission} submission\n")
            f.write(f"Listen = 127.0.0.1:{ports.submissions} submissions\n")
        if before_start is not None:
            before_start(jail)
        d = Daemon(jail, postern_bin)
        d.start()
        yield d, ports, pki
    finally:
        if d is not None:
            d.kill_all()
        shutil.rmtree(prefix, ignore_errors=True)


def client_context(pki: PKI) -> ssl.SSLContext:
    """A client context that verifies the server against the test CA."""
    context = ssl.create_default_context(cafile=str(pki.ca))
    context.check_hostname = True
    return context


def read_reply(f) -> tuple[int, list[str]]:
    """(code, lines) of one SMTP reply from a file-like object."""
    lines = []
    while True:
        raw = f.readline(2048)
        if not raw:
            raise ConnectionError(f"connection closed after {lines!r}")
        line = raw.decode(errors="replace").rstrip("\r\n")
        lines.append(line[4:])
        if len(line) < 4 or line[3] == " ":
            return int(line[:3]), lines


def connect_plain(port: int, source: str = "127.0.0.1", timeout: float = 15) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0))
