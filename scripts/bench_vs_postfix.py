"""scripts/bench --vs postfix: Postern and Postfix side by side (issue 16).

Both MTAs run on loopback only, each as a child of this script, with local
delivery of example.test to a test user's mbox, each at its default
durability (fsync before 250). Postfix's own load generator, smtp-source,
drives both identically: one SMTP session per message (no -d), one recipient,
HELO, SESSIONS sessions in parallel. The runs alternate between the MTAs, a
fresh start of the MTA for each run; figures are medians over repetitions.

Per run:
  accept msg/s   N / wall time of smtp-source (it exits once its last
                 message got its 250)
  e2e msg/s      N / time from smtp-source's start until the mbox holds N
                 messages ("From " lines, read incrementally every 10 ms)
  peak PSS       the largest sum, over the MTA's processes (its master and
                 every descendant, found through /proc/PID/task/*/children),
                 of Pss from /proc/PID/smaps_rollup, sampled every 100 ms
                 from smtp-source's start until the last delivery
  cpu ms/msg     utime+stime over the same window, per message: the sum over
                 the MTA's live processes of utime+stime+cutime+cstime from
                 /proc/PID/stat, after minus before (a process that exits in
                 between, once reaped by its parent, lands in that parent's
                 cutime/cstime; Postfix's master reaps all its children,
                 Postern's processes reap theirs). In the JSON also:
                 "cpu_to_stop_s", the same sum from the MTA's start until
                 just before it is stopped (start-up, settling, the run and
                 the latency probe), and "cpu_life_wait4_s", the rusage
                 wait4() returns for the MTA's process after it exited (for
                 Postern its whole life, every process; not for Postfix,
                 whose master exits on "postfix stop" without reaping its
                 children).
  SYN drops      TcpExtListenOverflows (what nstat -az shows; read from
                 /proc/net/netstat) after minus before, over the same window;
                 it counts the whole network namespace
  250 latency    after the smtp-source pass, a Python client (TCP_NODELAY)
                 sends PROBE more messages over the same number of parallel
                 sessions, one message per session, and times the final
                 ".\\r\\n" to the 250; p50/p99 over the probes of every
                 repetition (both MTAs; Postern's is the one issue 16 asks for)
"""
import json
import os
import pathlib
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
PT_PREFIX = "/tmp/pt-bench"
PT_USER = "pt-bench"
PF_DIR = "/tmp/pf-bench"
PF_USER = "pt-bench-pf"
DOMAIN = "example.test"
SENDER = "sender@bench.test"
HELO = "bench.test"

# (label, payload bytes, parallel sessions, messages); issue 16's table.
WORKLOADS = [
    ("1 KB, 1 session", 1024, 1, 2000),
    ("1 KB, 10 sessions", 1024, 10, 2000),
    ("1 KB, 50 sessions", 1024, 50, 2000),
    ("100 KB, 10 sessions", 102400, 10, 500),
]
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ install

def listeners():
    """Listening TCP sockets: set of (local address, process text)."""
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    found = set()
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 4:
            found.add((fields[3], fields[5] if len(fields) > 5 else ""))
    return found


def is_loopback(local: str) -> bool:
    host = local.rsplit(":", 1)[0].strip("[]")
    return host.startswith("127.") or host == "::1"


def check_no_public_listener(before: set, what: str):
    """Nothing new on port 25 or off loopback (the project's network rule)."""
    bad = [(addr, proc) for addr, proc in listeners() - before
           if addr.rsplit(":", 1)[1] == "25" or not is_loopback(addr)]
    if bad:
        log(f"{what}: a listener off loopback or on port 25: {bad}; stopping Postfix's default instance")
        subprocess.run(["postfix", "stop"], capture_output=True)
        sys.exit(2)


def install_postfix():
    """Debian's postfix (which brings smtp-source), with no daemon started."""
    if shutil.which("smtp-source") and shutil.which("postfix"):
        return
    if not shutil.which("ss"):
        subprocess.run(["apt-get", "install", "-y", "iproute2"], check=True,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    log("installing postfix from Debian's packages (no configuration, no daemon)")
    before = listeners()
    subprocess.run(["debconf-set-selections"], check=True,
                   input="postfix postfix/main_mailer_type select No configuration\n", text=True)
    policy = pathlib.Path("/usr/sbin/policy-rc.d")
    saved = policy.with_name("policy-rc.d.bench-saved")
    had = policy.exists()
    if had:
        policy.rename(saved)
    try:
        # invoke-rc.d asks this script whether it may start a service: 101 = no.
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
        subprocess.run(["apt-get", "install", "-y", "postfix"], check=True,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    finally:
        policy.unlink(missing_ok=True)
        if had:
            saved.rename(policy)
    check_no_public_listener(before, "after installing postfix")
    if not shutil.which("smtp-source"):
        sys.exit("bench: smtp-source is missing after installing postfix (dpkg -L postfix | grep smtp-source)")


def ensure_user(name, home):
    if subprocess.run(["id", name], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "-m" if home else "-M", "-s", "/usr/sbin/nologin", name], check=True)


# ------------------------------------------------------------------ /proc

def children(pid):
    kids = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                kids += [int(k) for k in open(f"/proc/{pid}/task/{task}/children").read().split()]
            except OSError:
                pass
    except OSError:
        pass
    return kids


def family(root):
    seen, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.append(pid)
        todo += children(pid)
    return seen


def cpu_ticks(pids):
    """utime+stime+cutime+cstime of each live process."""
    total = 0
    for pid in pids:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            total += sum(int(v) for v in fields[11:15])
        except (OSError, IndexError, ValueError):
            pass
    return total


def pss_kib(pids):
    total = 0
    for pid in pids:
        try:
            for line in open(f"/proc/{pid}/smaps_rollup"):
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
        except (OSError, ValueError):
            pass
    return total


def listen_overflows():
    lines = open("/proc/net/netstat").read().splitlines()
    for names, values in zip(lines[::2], lines[1::2]):
        if names.startswith("TcpExt:"):
            table = dict(zip(names.split()[1:], values.split()[1:]))
            return int(table["ListenOverflows"]), int(table["ListenDrops"])
    return 0, 0


class MboxCounter:
    """Messages in an mbox ("From " at the start of a line), read incrementally."""

    def __init__(self, path):
        self.path, self.offset, self.count, self.tail = pathlib.Path(path), 0, 0, b"\n"

    def poll(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return self.count
        if data:
            self.offset += len(data)
            chunk = self.tail + data
            self.count += chunk.count(b"\nFrom ")
            self.tail = chunk[-5:]
        return self.count


class Sampler(threading.Thread):
    """Peak of the summed PSS of root's family, every 100 ms."""

    def __init__(self, root):
        super().__init__(daemon=True)
        self.root, self.peak, self.processes, self.stopped = root, 0, 0, threading.Event()

    def run(self):
        while not self.stopped.is_set():
            pids = family(self.root)
            self.processes = max(self.processes, len(pids))
            self.peak = max(self.peak, pss_kib(pids))
            self.stopped.wait(0.1)

    def stop(self):
        self.stopped.set()
        self.join()


# ------------------------------------------------------------------ the MTAs

def wait_for_smtp(port, proc, deadline=30):
    """A greeting from the MTA (for Postfix: an smtpd was spawned and answered)."""
    end = time.time() + deadline
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"MTA exited during start-up: {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                f = s.makefile("rb")
                if f.readline().startswith(b"220"):
                    s.sendall(b"QUIT\r\n")
                    f.readline()
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("MTA did not answer on its port")


class Postern:
    name = "postern"

    def __init__(self, binary):
        self.binary = binary
        self.port = free_port()
        ensure_user(PT_USER, home=True)
        shutil.rmtree(PT_PREFIX, ignore_errors=True)
        subprocess.run([str(ROOT / "scripts/setup-jail"), "--prefix", PT_PREFIX, "--listen", f"127.0.0.1:{self.port}",
                        "--domain", DOMAIN], check=True, capture_output=True)
        self.config = f"{PT_PREFIX}/etc/postern/postern.conf"
        # Loopback only: a resolver nobody answers on (local delivery needs none).
        with open(self.config, "a") as f:
            f.write(f"DnsResolvers = 127.0.0.1:{free_port()}\n")
        self.mbox = f"{PT_PREFIX}/var/mail/{PT_USER}"
        self.recipient = f"{PT_USER}@{DOMAIN}"
        self.proc = None

    def start(self):
        pathlib.Path(self.mbox).unlink(missing_ok=True)
        self.proc = subprocess.Popen([self.binary, "daemon", "--config", self.config])
        wait_for_smtp(self.port, self.proc)
        self.root = self.proc.pid

    def stop(self):
        ids = identities(family(self.root))
        self.proc.send_signal(signal.SIGTERM)
        return reap(self.proc, ids)

    def cleanup(self):
        shutil.rmtree(PT_PREFIX, ignore_errors=True)


class Postfix:
    name = "postfix"

    def __init__(self):
        install_postfix()
        ensure_user(PF_USER, home=False)
        self.port = free_port()
        self.etc = f"{PF_DIR}/etc"
        shutil.rmtree(PF_DIR, ignore_errors=True)
        for d in ("etc", "spool", "data", "mail"):
            os.makedirs(f"{PF_DIR}/{d}")
        shutil.chown(f"{PF_DIR}/data", "postfix", "postfix")
        os.chmod(f"{PF_DIR}/mail", 0o1777)
        # Debian's master.cf, but Postfix's own default for the chroot column
        # (n: a private queue directory has no copy of /etc to chroot into)
        # and the smtp service on 127.0.0.1:PORT only.
        source = "/etc/postfix/master.cf" if os.path.exists("/etc/postfix/master.cf") else "/usr/share/postfix/master.cf.dist"
        lines = []
        for line in open(source):
            fields = line.split()
            if line[:1] not in ("#", " ", "\t", "\n") and len(fields) >= 8:
                fields[4] = "n"
                if fields[0] == "smtp" and fields[1] == "inet":
                    fields[0] = f"127.0.0.1:{self.port}"
                line = " ".join(fields) + "\n"
            lines.append(line)
        pathlib.Path(f"{self.etc}/master.cf").write_text("".join(lines))
        # Everything else is Postfix's default (durability included); only
        # where it lives, what it is, loopback, no DNS and no mail leaving
        # (a bounce to sender@bench.test would look its host up), its log
        # file, and no mailbox size limit (the default, 51,200,000 bytes,
        # bounces the end of the 500 x 100 KB workload).
        pathlib.Path(f"{self.etc}/main.cf").write_text(f"""\
compatibility_level = 3.6
queue_directory = {PF_DIR}/spool
data_directory = {PF_DIR}/data
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mail.{DOMAIN}
mydestination = {DOMAIN}
mail_spool_directory = {PF_DIR}/mail
alias_maps = hash:{self.etc}/aliases
alias_database = hash:{self.etc}/aliases
smtp_dns_support_level = disabled
smtp_host_lookup = native
default_transport = error:nothing leaves this bench
relay_transport = error:nothing leaves this bench
mailbox_size_limit = 0
maillog_file_prefixes = {PF_DIR}
maillog_file = {PF_DIR}/maillog
""")
        pathlib.Path(f"{self.etc}/aliases").write_text("postmaster: root\n")
        subprocess.run(["postalias", "-c", self.etc, f"{self.etc}/aliases"], check=True)
        # Creates the queue directories and checks permissions, once, so
        # that each start below can skip it (quick-start).
        subprocess.run(["postfix", "-c", self.etc, "check"], check=True)
        self.mbox = f"{PF_DIR}/mail/{PF_USER}"
        self.recipient = f"{PF_USER}@{DOMAIN}"
        self.version = subprocess.run(["postconf", "-c", self.etc, "-h", "mail_version"],
                                      capture_output=True, text=True).stdout.strip()
        self.proc = None

    def start(self):
        pathlib.Path(self.mbox).unlink(missing_ok=True)
        pathlib.Path(f"{PF_DIR}/spool/quick-start").touch()
        before = listeners()
        # start-fg: postfix execs postfix-script, which runs "master -s" in
        # the foreground as its child: the whole instance is our descendant.
        with open(f"{PF_DIR}/start-fg.out", "ab") as out:
            self.proc = subprocess.Popen(["postfix", "-c", self.etc, "start-fg"], stdout=out, stderr=out)
        wait_for_smtp(self.port, self.proc)
        kids = children(self.proc.pid)
        if len(kids) != 1:
            raise RuntimeError(f"postfix-script's children: {kids}")
        self.root = kids[0]
        check_no_public_listener(before, "private Postfix instance")

    def stop(self):
        ids = identities(family(self.root))
        subprocess.run(["postfix", "-c", self.etc, "stop"], capture_output=True)
        return reap(self.proc, ids)

    def cleanup(self):
        shutil.rmtree(PF_DIR, ignore_errors=True)


def identities(pids):
    """pid -> start time, to tell one of our processes from a later one that
    reuses its pid."""
    found = {}
    for pid in pids:
        try:
            found[pid] = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[19]
        except (OSError, IndexError):
            pass
    return found


def still_running(ids):
    alive = []
    for pid, start in ids.items():
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            if fields[19] == start and fields[0] != "Z":
                alive.append(pid)
        except (OSError, IndexError):
            pass
    return alive


def reap(proc, ids):
    """wait4() the MTA's process; its rusage covers every descendant it
    reaped (Postern reaps all of its processes; Postfix's master exits
    without waiting for its children, so for Postfix this misses them).
    Then wait for the rest of the family we started to go, and SIGKILL
    whatever of it is still there after 20 s."""
    end = time.time() + 60
    while time.time() < end:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(0.05)
    else:
        proc.kill()
        pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    end = time.time() + 20
    while still_running(ids) and time.time() < end:
        time.sleep(0.1)
    for pid in still_running(ids):
        log(f"killing a leftover process of the MTA: {pid}")
        os.kill(pid, signal.SIGKILL)
    return usage.ru_utime + usage.ru_stime, proc.returncode


# ------------------------------------------------------------------ clients

def probe_body(size):
    head = (f"From: <{SENDER}>\r\nTo: <x@{DOMAIN}>\r\nSubject: probe\r\n\r\n").encode()
    line = b"X" * 78 + b"\r\n"
    return head + line * max(1, size // len(line))


def probe(port, recipient, sessions, count, size, timeout=120):
    """Time the final "." to the 250 for `count` messages, one per session,
    `sessions` at a time; returns seconds per message."""
    body = probe_body(size)
    times, errors, lock = [], [], threading.Lock()
    left = [count]

    def reply(f):
        while True:
            line = f.readline()
            if not line:
                raise ConnectionError("connection closed")
            if line[3:4] != b"-":
                return line

    def expect(f, code):
        line = reply(f)
        if not line.startswith(code):
            raise RuntimeError(f"expected {code!r}, got {line!r}")

    def worker():
        while True:
            with lock:
                if left[0] == 0:
                    return
                left[0] -= 1
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
                    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    f = s.makefile("rb")
                    expect(f, b"220")
                    for command, code in ((f"HELO {HELO}", b"250"), (f"MAIL FROM:<{SENDER}>", b"250"),
                                          (f"RCPT TO:<{recipient}>", b"250"), ("DATA", b"354")):
                        s.sendall(command.encode() + b"\r\n")
                        expect(f, code)
                    s.sendall(body)
                    t = time.perf_counter()
                    s.sendall(b".\r\n")
                    expect(f, b"250")
                    elapsed = time.perf_counter() - t
                    s.sendall(b"QUIT\r\n")
                    reply(f)
                with lock:
                    times.append(elapsed)
            except Exception as e:  # noqa: BLE001 - counted and reported
                with lock:
                    errors.append(repr(e))

    threads = [threading.Thread(target=worker) for _ in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times, errors


def wait_delivered(counter, total, limit):
    end = time.time() + limit
    while time.time() < end:
        if counter.poll() >= total:
            return time.time()
        time.sleep(0.01)
    return None


def one_run(mta, workload, messages, probes):
    label, size, sessions, _ = workload
    mta.start()
    time.sleep(1.0)  # let start-up settle: both MTAs start idle
    counter = MboxCounter(mta.mbox)
    load = os.getloadavg()[0]
    pids = family(mta.root)
    cpu0 = cpu_ticks(pids)
    syn0 = listen_overflows()
    sampler = Sampler(mta.root)
    sampler.start()
    t0 = time.time()
    source = subprocess.run(["smtp-source", "-M", HELO, "-l", str(size), "-m", str(messages), "-s", str(sessions),
                             "-f", SENDER, "-t", mta.recipient, f"127.0.0.1:{mta.port}"],
                            capture_output=True, text=True)
    t_accept = time.time()
    t_done = wait_delivered(counter, messages, 120)
    cpu1 = cpu_ticks(family(mta.root))
    syn1 = listen_overflows()
    sampler.stop()
    latencies, probe_errors = probe(mta.port, mta.recipient, sessions, probes, size) if probes else ([], [])
    complete = wait_delivered(counter, messages + len(latencies), 120) is not None
    cpu_to_stop = cpu_ticks(family(mta.root))
    cpu_life, status = mta.stop()
    run = {
        "mta": mta.name, "workload": label, "loadavg_1min_before": load, "size": size, "sessions": sessions, "messages": messages,
        "smtp_source_status": source.returncode, "smtp_source_stderr": source.stderr[-2000:],
        "accept_s": t_accept - t0, "accept_msg_s": messages / (t_accept - t0),
        "e2e_s": (t_done - t0) if t_done else None, "e2e_msg_s": messages / (t_done - t0) if t_done else None,
        "delivered": counter.count, "all_delivered": complete,
        "peak_pss_kib": sampler.peak, "max_processes": sampler.processes,
        "cpu_window_s": (cpu1 - cpu0) / TICK, "cpu_ms_per_msg": (cpu1 - cpu0) / TICK * 1000 / messages,
        "cpu_to_stop_s": cpu_to_stop / TICK, "cpu_life_wait4_s": cpu_life, "exit_status": status,
        "listen_overflows": syn1[0] - syn0[0], "listen_drops": syn1[1] - syn0[1],
        "latencies_ms": [round(x * 1000, 3) for x in latencies], "probe_errors": probe_errors,
    }
    ok = source.returncode == 0 and t_done is not None and not probe_errors and complete
    run["ok"] = ok
    log(f"{mta.name:8} {label:20} accept {run['accept_msg_s']:7.1f}/s  e2e "
        f"{(run['e2e_msg_s'] or 0):7.1f}/s  pss {sampler.peak / 1024:6.1f} MiB  cpu {run['cpu_ms_per_msg']:5.2f} ms/msg  "
        f"syn drops {run['listen_overflows']}" + ("" if ok else f"  FAILED: {source.stderr.strip()[-300:]} {probe_errors[:3]}"))
    return run


# ------------------------------------------------------------------ report

def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def percentile(values, q):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def summarize(runs, workloads):
    summary = []
    for label, size, sessions, _ in workloads:
        row = {"workload": label}
        for name in ("postern", "postfix"):
            mine = [r for r in runs if r["mta"] == name and r["workload"] == label and r["ok"]]
            lat = [x for r in mine for x in r["latencies_ms"]]
            row[name] = {
                "runs": len(mine),
                "accept_msg_s": median([r["accept_msg_s"] for r in mine]),
                "e2e_msg_s": median([r["e2e_msg_s"] for r in mine]),
                "peak_pss_mib": median([r["peak_pss_kib"] / 1024 for r in mine]),
                "cpu_ms_per_msg": median([r["cpu_ms_per_msg"] for r in mine]),
                "syn_drops": sum(r["listen_overflows"] for r in mine),
                "p50_ms": percentile(lat, 0.50), "p99_ms": percentile(lat, 0.99), "probes": len(lat),
            }
        row["ratio_of_medians"] = {k: (row["postern"][k] / row["postfix"][k]
                                       if row["postern"][k] is not None and row["postfix"][k] else None)
                                   for k in ("accept_msg_s", "e2e_msg_s", "peak_pss_mib", "cpu_ms_per_msg", "p50_ms", "p99_ms")}
        # The machine's load drifts between repetitions: the ratio of the two
        # back-to-back runs of a repetition, median over repetitions.
        paired = {}
        for k in ("accept_msg_s", "e2e_msg_s", "peak_pss_kib", "cpu_ms_per_msg"):
            ratios = []
            for rep in sorted({r["repetition"] for r in runs}):
                pair = {r["mta"]: r for r in runs if r["workload"] == label and r["repetition"] == rep and r["ok"]}
                if len(pair) == 2 and pair["postern"][k] and pair["postfix"][k]:
                    ratios.append(pair["postern"][k] / pair["postfix"][k])
            paired[k.replace("_kib", "_mib")] = median(ratios)
        paired["p50_ms"] = row["ratio_of_medians"]["p50_ms"]
        paired["p99_ms"] = row["ratio_of_medians"]["p99_ms"]
        row["ratio"] = paired
        summary.append(row)
    return summary


def fmt(v, digits=0):
    return "–" if v is None else f"{v:.{digits}f}"


def table(summary):
    out = ["| workload | accept msg/s: Postern / Postfix (ratio) | end-to-end msg/s | peak PSS MiB | "
           "CPU ms/msg | SYN drops | DATA→250 p50 / p99 ms: Postern; Postfix |",
           "|---|---|---|---|---|---|---|"]
    for row in summary:
        a, b, r = row["postern"], row["postfix"], row["ratio"]

        def cell(key, digits):
            return f"{fmt(a[key], digits)} / {fmt(b[key], digits)} ({fmt(r[key], 2)})"

        out.append(f"| {row['workload']} | {cell('accept_msg_s', 0)} | {cell('e2e_msg_s', 0)} | "
                   f"{cell('peak_pss_mib', 1)} | {cell('cpu_ms_per_msg', 2)} | {a['syn_drops']} / {b['syn_drops']} | "
                   f"{fmt(a['p50_ms'], 1)} / {fmt(a['p99_ms'], 1)}; {fmt(b['p50_ms'], 1)} / {fmt(b['p99_ms'], 1)} |")
    return "\n".join(out)


def run(binary, quick=False, repetitions=None, json_path=None, only=None):
    reps = repetitions or (1 if quick else 3)
    scale = 10 if quick else 1
    workloads = [(label, size, sessions, count // scale) for label, size, sessions, count in WORKLOADS
                 if only is None or label in only]
    postfix = Postfix()
    postern = Postern(binary)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    log(f"Postern {commit} ({binary}) vs Postfix {postfix.version}; {reps} repetition(s); {os.cpu_count()} CPUs")
    runs = []
    started = time.time()
    try:
        for rep in range(reps):
            for i, workload in enumerate(workloads):
                # Alternate which MTA goes first.
                order = (postern, postfix) if (rep + i) % 2 == 0 else (postfix, postern)
                probes = max(10, workload[3] // 10)
                for mta in order:
                    r = one_run(mta, workload, workload[3], probes)
                    r["repetition"] = rep
                    runs.append(r)
    finally:
        for mta in (postern, postfix):
            if mta.proc is not None and mta.proc.poll() is None and mta.proc.returncode is None:
                try:
                    mta.stop()
                except Exception as e:  # noqa: BLE001
                    log(f"stopping {mta.name}: {e!r}")
        postern.cleanup()
        postfix.cleanup()
    summary = summarize(runs, workloads)
    text = table(summary)
    print(f"Postern {commit} vs Postfix {postfix.version}, {os.cpu_count()} CPUs, {reps} repetition(s), "
          f"medians; {time.time() - started:.0f} s")
    print(text)
    failed = [r for r in runs if not r["ok"]]
    if failed:
        print(f"{len(failed)} run(s) failed and are left out of the medians: "
              + ", ".join(f"{r['mta']} {r['workload']} #{r['repetition']}" for r in failed))
    if json_path:
        pathlib.Path(json_path).write_text(json.dumps({
            "postern_commit": commit, "postern_binary": binary, "postfix_version": postfix.version,
            "cpus": os.cpu_count(), "repetitions": reps, "quick": quick,
            "summary": summary, "runs": runs, "table": text}, indent=1))
    return 1 if failed else 0
