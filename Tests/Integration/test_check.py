"""`postern check --config FILE` (issue 2, item 8): prints the effective
configuration, or exits non-zero with `FILE:LINE: reason` for each error."""

from __future__ import annotations

import subprocess

OPTIONS = [
    "MyHostname", "LocalDomains", "Listen", "ConfigDirectory", "QueueDirectory", "DropDirectory", "EmptyDirectory",
    "MailDirectory", "SafeFileEnvironment", "SmrshDirectory", "RunDirectory", "LogFile", "LogFacility",
    "MaxMessageSize", "MaxRecipientsPerMessage", "SmtpGreetingMessage", "PrivacyOptions",
    "LocalWorkerLimit", "LocalWorkerIdleTimeout", "ShutdownTimeout", "MailGroup", "MaxHopCount",
    "MaxConnections", "MaxConnectionsPerClient", "MaxConnectionRatePerClient", "MaxErrorsPerSession",
    "Timeout.command", "Timeout.datablock", "BareLineEndings", "DnsBlocklists", "DnsResolvers",
    "Timeout.queuereturn", "Timeout.queuewarn", "QueueRetryMinimum", "QueueRetryMaximum", "QueueMinFree",
    "Timeout.ipc", "Timeout.watchdog", "QueueAdminGroup", "TrustedUsers",
    "HomeMailbox", "DefaultUser", "PipeTimeout", "MasqueradeAs", "MasqueradeDomains", "ExposedUsers",
    "MasqueradeEntireDomain", "MasqueradeEnvelope", "AlwaysAddDomain", "SmartHost", "SmtpPort",
    "TLSClientPolicy", "TLSClientCAFile", "DestinationConcurrency", "DestinationRate", "Timeout.connect",
    "ConnectionCacheTime",
    "TLSCertificateFile", "TLSKeyFile", "TLSCAFile", "TLSCipherList", "TLSCipherSuites", "TLSMinVersion",
    "TLSRequestClientCertificate", "AuthMechanisms", "AuthAllowCleartext", "AuthMaxFailures", "SaslPasswordCheck",
    "SaslDbFile", "SaslauthdSocket", "SenderLoginMap",
]


def check(postern_bin, config) -> subprocess.CompletedProcess:
    return subprocess.run([str(postern_bin), "check", "--config", str(config)],
                          capture_output=True, text=True, timeout=30)


def option_lines(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, sep, value = line.partition(" = ")
        assert sep, f"not a 'Name = value' line: {line!r}"
        out.setdefault(name, []).append(value)
    return out


def line_of(text: str, prefix: str) -> int:
    """1-based number of the only line starting with `prefix`."""
    numbers = [i for i, line in enumerate(text.split("\n"), 1) if line.startswith(prefix)]
    assert len(numbers) == 1, f"{prefix!r} on lines {numbers}"
    return numbers[0]


def replace_line(config, prefix: str, new: str) -> int:
    text = config.read_text()
    number = line_of(text, prefix)
    lines = text.split("\n")
    lines[number - 1] = new
    config.write_text("\n".join(lines))
    return number


def test_fresh_config_is_valid_and_every_option_is_printed(jail, postern_bin):
    j = jail()
    result = check(postern_bin, j.config)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    printed = option_lines(result.stdout)
    assert list(printed) == OPTIONS, f"printed {list(printed)}"
    for name, values in printed.items():
        assert len(values) == 1, f"{name} printed {values}"
    p = j.prefix
    expected = {
        "MyHostname": "mail.example.test",
        "LocalDomains": "example.test",
        "Listen": j.listen,
        "ConfigDirectory": f"{p}/etc/postern",
        "QueueDirectory": f"{p}/var/spool/postern",
        "DropDirectory": f"{p}/var/spool/postern-drop",
        "EmptyDirectory": f"{p}/var/lib/postern/empty",
        "MailDirectory": f"{p}/var/mail",
        "SafeFileEnvironment": f"{p}/var/mailjail",
        "SmrshDirectory": f"{p}/etc/postern/smrsh",
        "RunDirectory": f"{p}/run/postern",
        "LogFile": f"{p}/var/log/postern/postern.log",
        "MaxRecipientsPerMessage": "100",
        "SmtpGreetingMessage": "$j ESMTP",
        "MailGroup": "mail",
    }
    for name, value in expected.items():
        assert printed[name] == [value], f"{name}: {printed[name]} != {value}"
    privacy = {w.strip() for w in printed["PrivacyOptions"][0].split(",")}
    assert {"goaway", "restrictmailq", "restrictqrun"} <= privacy


def test_printed_configuration_is_itself_a_valid_config(jail, postern_bin, tmp_path):
    j = jail()
    first = check(postern_bin, j.config)
    assert first.returncode == 0, first.stderr
    copy = tmp_path / "postern.conf"
    copy.write_text(first.stdout)
    second = check(postern_bin, copy)
    assert second.returncode == 0, second.stderr
    strip = lambda text: [ln for ln in text.splitlines() if not ln.startswith("#")]  # noqa: E731
    assert strip(second.stdout) == strip(first.stdout)


def test_unknown_option_is_named_with_file_and_line(jail, postern_bin):
    j = jail()
    text = j.config.read_text()
    text += ("" if text.endswith("\n") else "\n") + "Frobnicate = 1\n"
    j.config.write_text(text)
    line = line_of(text, "Frobnicate")
    result = check(postern_bin, j.config)
    assert result.returncode != 0
    assert f"{j.config}:{line}: unknown option" in result.stderr, result.stderr
    assert "Frobnicate" in result.stderr
    assert result.stdout == "", "nothing is printed for a config with errors"


def test_unknown_option_in_the_middle_names_its_line(jail, postern_bin):
    j = jail()
    lines = j.config.read_text().split("\n")
    lines.insert(3, "Frobnicate = 1")
    j.config.write_text("\n".join(lines))
    result = check(postern_bin, j.config)
    assert result.returncode != 0
    assert f"{j.config}:4: unknown option" in result.stderr, result.stderr


def test_missing_queue_directory_is_named_with_file_and_line(jail, postern_bin):
    j = jail()
    line = replace_line(j.config, "QueueDirectory =", "QueueDirectory = /nonexistent/dir")
    result = check(postern_bin, j.config)
    assert result.returncode != 0
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith(f"{j.config}:{line}:")]
    assert len(errors) == 1, result.stderr
    assert "QueueDirectory" in errors[0] and "/nonexistent/dir" in errors[0], errors


def test_relative_path_is_named_with_file_and_line(jail, postern_bin):
    j = jail()
    line = replace_line(j.config, "QueueDirectory =", "QueueDirectory = var/spool/postern")
    result = check(postern_bin, j.config)
    assert result.returncode != 0
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith(f"{j.config}:{line}:")]
    assert len(errors) == 1, result.stderr
    assert "QueueDirectory" in errors[0], errors


def test_every_error_is_reported(jail, postern_bin):
    j = jail()
    queue_line = replace_line(j.config, "QueueDirectory =", "QueueDirectory = /nonexistent/dir")
    empty_line = replace_line(j.config, "EmptyDirectory =", "EmptyDirectory = relative/empty")
    text = j.config.read_text()
    text += ("" if text.endswith("\n") else "\n") + "Frobnicate = 1\n"
    j.config.write_text(text)
    unknown_line = line_of(text, "Frobnicate")
    result = check(postern_bin, j.config)
    assert result.returncode != 0
    for line, word in ((queue_line, "QueueDirectory"), (empty_line, "EmptyDirectory"),
                       (unknown_line, "unknown option")):
        assert any(ln.startswith(f"{j.config}:{line}:") and word in ln
                   for ln in result.stderr.splitlines()), f"line {line} ({word}) not reported:\n{result.stderr}"


def test_daemon_refuses_to_start_on_a_broken_config(jail, postern_bin):
    j = jail()
    text = j.config.read_text()
    text += ("" if text.endswith("\n") else "\n") + "Frobnicate = 1\n"
    j.config.write_text(text)
    line = line_of(text, "Frobnicate")
    result = subprocess.run([str(postern_bin), "daemon", "--config", str(j.config)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert f"{j.config}:{line}: unknown option" in result.stderr, result.stderr
    assert not (j.run_dir / "postern.pid").exists()
