"""cli.<case>: the built urlprobe under an open-file limit, under signals, with a password in argv.

Each case runs the binary against a loopback server of its own (127.0.0.1, no fixture daemons)
and synchronises on what the binary writes and what the server receives, never on sleeps.

  fd_limit_lowers_concurrency_once   ulimit -n 256 (hard 256) and --concurrency 2000: one line on
                                     stderr, and no probe fails with EMFILE
  fd_limit_raises_soft_limit         soft 256, hard 4096: the soft limit is raised to the hard one
                                     (not only as far as needed), no lowering; --verbose says so
  sigint_mid_sweep, sigterm_mid_sweep  every finished result on disk, the summary, exit 130
  second_sigint_exits_at_once        a sweep stuck after the first ^C (stdout not read) ends at
                                     the second, with exit 130
  sigint_before_sweep_ends_at_once   ^C or SIGTERM while the input is still loading ends urlprobe
                                     at once: one line naming the signal, exit 130
  full_disk_is_exit_2                -o onto /dev/full, or stdout onto it (probe and list): exit
                                     2 naming it
  hostile_text_escaped_on_stderr     a sheet's and a PAC answer's ESC/BEL/CR are shown escaped in
                                     their diagnostics
  pac_full_disk_is_exit_2            `urlprobe pac` with stdout onto /dev/full: exit 2 naming it
  argv_password_hidden_from_ps       --proxy with a password: one warning, and the password
                                     blanked in /proc/PID/cmdline while the sweep runs
  proxy_user_password_in_no_output   --proxy-user USER:PASSWORD: split as curl does, the password
                                     in no output of any format
  sheet_row_errors_are_exit_2        a bad Port, a contradicted port, a stray CSV quote, bad
                                     workbook cells, a URL over 8 KiB: named,
                                     the row skipped, the rest probed, exit 2
  outputs_replaced_when_sweep_ends   every -o file keeps its previous content while the sweep
                                     runs (jsonl lines go to a temporary file beside it as they
                                     come) and has the new content after; no temporary file stays
  output_write_error_keeps_previous  an -o file that cannot be written whole leaves the previous
                                     one in place, exit 2 naming it, no temporary file
  progress_on_a_terminal             --progress auto with stderr on a terminal draws the progress
                                     line, stdout on the same terminal and -o FILE notwithstanding

Usage: reliability_cases.py URLPROBE_BINARY WORK_DIR SCHEMA CASE (or --list). Exit 0 pass, 1 fail.
"""
import json
import os
import re
import resource
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "integration"))
import harness  # noqa: E402
from harness import check, Fail  # noqa: E402

# A hang guard, not a timing assertion.
WAIT_S = 60


class SelectorServer:
    """A server on 127.0.0.1:PORT (0: any) whose _loop runs in a thread of its own over one
    selector: the listener (data None) and a wake-up socket (data "stop"; close() sends "x").
    Subclasses set their own state before calling __init__, which starts the thread."""

    def __init__(self, port=0):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(4096)
        self.listener.setblocking(False)
        self.port = self.listener.getsockname()[1]
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ, None)
        self.wake_r, self.wake_w = socket.socketpair()
        self.selector.register(self.wake_r, selectors.EVENT_READ, "stop")
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self):
        self.wake_w.send(b"x")
        self.thread.join()
        for key in list(self.selector.get_map().values()):
            key.fileobj.close()

    def _accept(self):
        """(connection, peer address) of the next client, non-blocking and watched with data
        "conn"; (None, None) when there was none after all."""
        try:
            conn, peer = self.listener.accept()
        except BlockingIOError:
            return None, None
        conn.setblocking(False)
        self.selector.register(conn, selectors.EVENT_READ, "conn")
        return conn, peer[0]

    def _recv(self, conn):
        """What arrived on CONN; b"" at its end (or an error), when it is also dropped."""
        try:
            data = conn.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._drop(conn)
        return data

    def _drop(self, conn):
        self.selector.unregister(conn)
        conn.close()


class LoopbackServer(SelectorServer):
    """HTTP on 127.0.0.1 in a thread: /ok/... gets 200 at once, anything else is read and not
    answered (the connection stays open until the client goes, or until release()). Counts the
    requests it holds."""

    def __init__(self):
        self.held = 0
        self.cond = threading.Condition()
        super().__init__()

    def wait_held(self, n):
        with self.cond:
            check(self.cond.wait_for(lambda: self.held >= n, timeout=WAIT_S),
                  f"the server holds {self.held} requests, expected {n}")

    def release(self):
        """Answers every request held so far with 200."""
        self.wake_w.send(b"r")

    def _loop(self):
        buffers = {}
        held = []
        while True:
            for key, _ in self.selector.select():
                if key.data == "stop":
                    if self.wake_r.recv(1) != b"r":
                        return
                    for conn in held:
                        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
                                     b"Connection: close\r\n\r\n")
                    held.clear()
                    continue
                if key.fileobj is self.listener:
                    conn, _ = self._accept()
                    if conn:
                        buffers[conn] = b""
                    continue
                conn = key.fileobj
                data = self._recv(conn)
                if not data:
                    buffers.pop(conn, None)
                    continue
                if conn not in buffers:
                    continue  # already answered or held: the rest is ignored
                buffers[conn] += data
                if b"\r\n\r\n" not in buffers[conn]:
                    continue
                request_line = buffers.pop(conn).split(b"\r\n", 1)[0].decode()
                if " /ok/" in request_line:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                else:
                    held.append(conn)
                    with self.cond:
                        self.held += 1
                        self.cond.notify_all()


class Lines:
    """Reads a pipe line by line in a thread; wait_for(predicate) blocks until a line matches."""

    def __init__(self, pipe):
        self.lines = []
        self.cond = threading.Condition()
        self.done = False
        self.thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self.thread.start()

    def _read(self, pipe):
        for line in pipe:
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()
        with self.cond:
            self.done = True
            self.cond.notify_all()

    def wait_for(self, predicate, what):
        with self.cond:
            check(self.cond.wait_for(lambda: predicate(self.lines) or self.done, timeout=WAIT_S)
                  and predicate(self.lines), f"never saw {what}; got:\n{''.join(self.lines)}")

    def text(self):
        self.thread.join(WAIT_S)
        return "".join(self.lines)


def wait_until(predicate, what):
    """Polls what the program writes to a file, which gives nothing to block on."""
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        check(time.monotonic() < deadline, f"never saw {what}")
        time.sleep(0.01)


def start(c, args, **kwargs):
    argv = [c.binary, *args]
    c.argv = argv
    return subprocess.Popen(argv, env=harness.clean_environ(), stdin=subprocess.DEVNULL,
                            text=True, **kwargs)


def finish(proc):
    try:
        return proc.wait(timeout=WAIT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise Fail(f"still running {WAIT_S} s later: {' '.join(proc.args)}")


def records_of(c, text, where):
    """The harness's schema-checked records, with failures naming where the text came from."""
    try:
        return c.parse_records(text)
    except Fail as e:
        raise Fail(f"{where}: {e}") from None


def run_urlprobe(c, args, stdin_bytes=None):
    """Runs `urlprobe ARGS...` to its end (a hang is a failure), with STDIN_BYTES on its stdin
    (none: /dev/null); returns (rc, stdout, stderr) and keeps what it printed for the failure
    message."""
    argv = [c.binary, *args]
    c.argv = argv
    stdin = {"stdin": subprocess.DEVNULL} if stdin_bytes is None else {"input": stdin_bytes}
    try:
        proc = subprocess.run(argv, capture_output=True, env=harness.clean_environ(),
                              timeout=WAIT_S, **stdin)
    except subprocess.TimeoutExpired:
        raise Fail(f"still running {WAIT_S} s later: {' '.join(argv)}") from None
    out, err = proc.stdout.decode(), proc.stderr.decode()
    c.last_output = f"exit {proc.returncode}\n--- stdout ---\n{out[:4000]}\n--- stderr ---\n{err}"
    no_sanitizer_report(err)
    return proc.returncode, out, err


def no_sanitizer_report(err):
    """Under ASan/UBSan a report may exit 1, which looks like "some probe failed"."""
    check(not re.search(r"AddressSanitizer|LeakSanitizer|runtime error:", err),
          f"a sanitizer report on stderr:\n{err[:4000]}")


def with_nofile(soft, hard):
    def apply():
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return apply


def soft_nofile_of(pid):
    """The soft open-file limit of a running process, from /proc/PID/limits."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return int(line.split()[3])
    raise Fail(f"no 'Max open files' in /proc/{pid}/limits")


def run_under_limit(c, soft, hard, targets, extra=(), seen=None):
    """seen: if given, gets the sweep's own soft limit (read once the server holds a request,
    so after urlprobe has set it) as seen["soft"]."""
    server = LoopbackServer()
    try:
        urls = [server.url(f"/hang/{i}") for i in range(targets)]
        proc = start(c, ["--methods", "direct", "--concurrency", "2000", "--threads", "2",
                         "--timeout", "1", "--format", "jsonl", "--progress", "never", *extra,
                         *urls],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                     preexec_fn=with_nofile(soft, hard))
        if seen is not None:
            server.wait_held(1)
            seen["soft"] = soft_nofile_of(proc.pid)
        out, err = proc.communicate(timeout=WAIT_S * 2)
    finally:
        server.close()
    c.last_output = f"exit {proc.returncode}\n--- stderr ---\n{err}"
    no_sanitizer_report(err)
    records = records_of(c, out, "stdout")
    check(len(records) == targets, f"{len(records)} records for {targets} probes")
    bad = [r for r in records if r["outcome"] != "timeout"]
    check(not bad, f"{len(bad)} probes did not end in timeout, e.g. {bad[:1]}")
    check(not re.search(r"too many open files|EMFILE", out + err, re.I),
          "a probe or the program met EMFILE")
    check(proc.returncode == 1, f"exit {proc.returncode}, expected 1 (probes failed)")
    return err


def fd_limit_lowers_concurrency_once(c):
    # 600 probes at once would need 600 sockets: more than 256 allows, hard limit included.
    err = run_under_limit(c, 256, 256, 600)
    lines = [l for l in err.splitlines() if "lowered to" in l]
    check(len(lines) == 1, f"expected one 'lowered to' line on stderr, got {len(lines)}:\n{err}")
    m = re.fullmatch(r"urlprobe: --concurrency 2000 lowered to (\d+): the open-file limit is 256 "
                     r"\(ulimit -n, hard limit 256\).*", lines[0])
    check(m, f"unexpected wording: {lines[0]!r}")
    lowered = int(m.group(1))
    check(100 <= lowered < 256, f"lowered to {lowered}: not what 256 descriptors allow")


def fd_limit_raises_soft_limit(c):
    # The same sweep with room under the hard limit: the soft limit is raised to the hard one
    # (not only as far as 600 probes need), the lowering message is not said, and all 600 probes
    # are in flight together without EMFILE. --verbose says what was used.
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    hard = 4096 if hard == resource.RLIM_INFINITY else min(hard, 4096)
    if hard < 1024:
        raise harness.Skip(f"the hard open-file limit here is {hard}: no room to raise to")
    seen = {}
    err = run_under_limit(c, 256, hard, 600, ["--verbose"], seen)
    check("lowered to" not in err, f"lowered although the hard limit had room:\n{err}")
    check(seen.get("soft") == hard,
          f"soft open-file limit of the running sweep {seen.get('soft')}, expected {hard} "
          f"(the hard limit)")
    m = re.search(r"^urlprobe: open files: soft limit raised from 256 to (\d+) \(the hard limit\); "
                  r"--concurrency 2000 needs about (\d+)$", err, re.M)
    check(m and int(m.group(1)) == hard, f"no line saying the limit was raised to {hard}:\n{err}")
    check(2000 < int(m.group(2)) < hard, f"implausible need: {m.group(0)}")


def interrupted_sweep(c, sig):
    server = LoopbackServer()
    out_file = Path(c.work_dir) / f"{sig.name}.jsonl"
    try:
        ok = [server.url(f"/ok/{i}") for i in range(5)]
        hang = [server.url(f"/hang/{i}") for i in range(20)]
        proc = start(c, ["--methods", "direct", "--timeout", "60", "--format", "jsonl", "-o",
                         str(out_file), "--progress", "never", *ok, *hang],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        stdout, stderr = Lines(proc.stdout), Lines(proc.stderr)
        # Synchronise on the output: the five answered probes have their records, and the
        # server holds the other twenty.
        stdout.wait_for(lambda lines: sum('"outcome":"ok"' in l for l in lines) == 5,
                        "five ok records")
        server.wait_held(20)
        proc.send_signal(sig)
        rc = finish(proc)
    finally:
        server.close()
    out, err = stdout.text(), stderr.text()
    c.last_output = f"exit {rc}\n--- stderr ---\n{err}"
    no_sanitizer_report(err)
    check(rc == 130, f"exit {rc}, expected 130")
    for where, text in (("stdout", out), (str(out_file), out_file.read_text())):
        records = records_of(c, text, where)
        check(len(records) == 25, f"{where}: {len(records)} records, expected 25")
        check(len({r["url"] for r in records}) == 25, f"{where}: a URL twice")
        for r in records:
            if "/ok/" in r["url"]:
                check(r["outcome"] == "ok", f"{where}: {r}")
            else:
                check(r["outcome"] == "timeout" and "interrupted" in r.get("detail", ""),
                      f"{where}: a held probe did not end as interrupted: {r}")
    check(re.search(r"Summary: 25 probes, 5 ok, 20 failed in [0-9.]+ s \(interrupted: 0 of 25 "
                    r"not started\)", err), f"no interrupted summary on stderr:\n{err}")
    check(err.count("urlprobe: interrupted") == 1, f"expected one interrupt notice:\n{err}")


def sigint_mid_sweep(c):
    interrupted_sweep(c, signal.SIGINT)


def sigterm_mid_sweep(c):
    interrupted_sweep(c, signal.SIGTERM)


def second_sigint_exits_at_once(c):
    # 400 records of 600 bytes are more than a pipe holds (64 KiB): with stdout left unread
    # after the first ^C, writing the interrupted results blocks for good, and only the second
    # ^C can end the program.
    server = LoopbackServer()
    targets = 400
    try:
        urls = [server.url(f"/hang/{i}/" + "x" * 400) for i in range(targets)]
        proc = start(c, ["--methods", "direct", "--timeout", "60", "--concurrency", "1000",
                         "--format", "jsonl", "--progress", "never", *urls],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        stderr = Lines(proc.stderr)
        server.wait_held(targets)
        proc.send_signal(signal.SIGINT)
        stderr.wait_for(lambda lines: any("urlprobe: interrupted" in l for l in lines),
                        "the first interrupt's notice")
        proc.send_signal(signal.SIGINT)
        rc = finish(proc)
        out = proc.stdout.read()
    finally:
        server.close()
    err = stderr.text()
    c.last_output = f"exit {rc}\n--- stderr ---\n{err}"
    check(rc == 130, f"exit {rc}, expected 130")
    written = len(out.splitlines())
    check(written < targets, f"all {written} results were written: the first ^C was not stuck, "
          "so the second proved nothing")
    check("Summary:" not in err, "a summary was printed: the program did not exit at once")


def argv_password_hidden_from_ps(c):
    # A password given with --proxy: warned about (without repeating it), and blanked in the
    # process's own command line once parsed, so ps shows it no longer.
    server = LoopbackServer()
    secret = "S3cretPw-in-argv"
    try:
        proc = start(c, ["--methods", "cli", "--proxy", f"http://probe:{secret}@127.0.0.1:{server.port}",
                         "--timeout", "60", "--format", "jsonl", "--progress", "never",
                         server.url("/hang/1")],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        server.wait_held(1)  # the proxy (this server) holds the request: the sweep is running
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode(errors="replace")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=WAIT_S)
    finally:
        server.close()
    c.argv = [a.replace(secret, "***") for a in c.argv]
    c.last_output = f"exit {proc.returncode}"
    no_sanitizer_report(err)
    check(secret not in cmdline, "the password is still in /proc/PID/cmdline")
    check("probe:" in cmdline and "@127.0.0.1" in cmdline, "the rest of the argument was lost")
    check(secret not in out + err, "the password reached the output")
    warnings = [l for l in err.splitlines() if "warning: a password in --proxy" in l]
    check(len(warnings) == 1, f"expected one warning about --proxy, got {len(warnings)}")
    check("URLPROBE_PROXY_PASSWORD" in warnings[0] and "--proxy-password-file" in warnings[0],
          f"the warning does not say what to do instead: {warnings[0]!r}")
    check(proc.returncode == 130, f"exit {proc.returncode}, expected 130")


def proxy_user_password_in_no_output(c):
    # `--proxy-user USER:PASSWORD`, as curl users type it: the password is split off, never part
    # of the printed user name, and absent from every format, stdout and stderr alike.
    secret = "Pw-from-proxy-user"
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: the proxy refuses at once
    port = closed.getsockname()[1]
    outputs = [Path(c.work_dir) / f"proxy-user.{ext}"
               for ext in ("jsonl", "txt", "json", "csv", "xml", "prom", "html")]
    try:
        args = ["--methods", "cli", "--proxy", f"socks5h://127.0.0.1:{port}",
                "--proxy-user", f"probe:{secret}", "--progress", "never", "--format", "text",
                "https://origin.test/"]
        for out in outputs:
            args += ["-o", str(out)]
        proc = start(c, args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = proc.communicate(timeout=WAIT_S)
    finally:
        closed.close()
    c.argv = [a.replace(secret, "***") for a in c.argv]
    c.last_output = f"exit {proc.returncode}"
    no_sanitizer_report(err)
    check(proc.returncode == 1, f"exit {proc.returncode}, expected 1 (the proxy refused)")
    for name, text in [("stdout", out), ("stderr", err)] + [(str(o), o.read_text()) for o in outputs]:
        check(secret not in text, f"the password reached {name}")
        check("%3A" not in text, f"{name} has a percent-encoded ':' in a user name")
    record = records_of(c, outputs[0].read_text(), "jsonl")[0]
    check(record["proxy"] == f"socks5h://probe:***@127.0.0.1:{port}",
          f"the proxy is not shown as user:***@: {record['proxy']!r}")
    check(record["outcome"] == "proxy_unreachable", f"outcome {record['outcome']}")


def sigint_before_sweep_ends_at_once(c):
    # Input that never arrives (a FIFO held open but never written): urlprobe is still loading
    # it, nothing is finished that could be saved, and ^C must end it there and then, for a
    # probe's sheet as for the other commands' files.
    # SIGTERM (cron, Kubernetes) is treated as ^C: one line on stderr naming it, exit 130.
    for name, args, sig in (("probe", ["--methods", "direct", "--format", "jsonl"], signal.SIGINT),
                            ("probe", ["--methods", "direct", "--format", "jsonl"], signal.SIGTERM),
                            ("report", ["report"], signal.SIGINT),
                            ("report", ["report"], signal.SIGTERM)):
        fifo = Path(c.work_dir) / f"{name}-input.txt"
        fifo.unlink(missing_ok=True)
        os.mkfifo(fifo)
        opened = threading.Event()
        writer = {}

        def open_for_writing():
            writer["fd"] = os.open(fifo, os.O_WRONLY)  # returns once urlprobe opens it to read
            opened.set()

        threading.Thread(target=open_for_writing, daemon=True).start()
        proc = start(c, [*args, str(fifo)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if not opened.wait(WAIT_S):
            proc.kill()
            os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))  # releases the writer thread
            out, err = proc.communicate()
            raise Fail(f"{name}: urlprobe never opened its input (exit {proc.returncode}): {err}")
        proc.send_signal(sig)
        rc = finish(proc)
        out, err = proc.communicate()
        os.close(writer["fd"])
        c.last_output = f"exit {rc}\n--- stderr ---\n{err}"
        no_sanitizer_report(err)
        check(rc == 130, f"{name}: exit {rc} after {sig.name} while reading its input")
        check(f"interrupted ({sig.name}) before any probe finished" in err,
              f"{name}: {sig.name} is not named on stderr:\n{err}")


def full_disk_is_exit_2(c):
    # Results that cannot be written are lost: exit 2 naming where, never a silent 0 or 1; for an
    # -o file and for stdout alike.
    server = LoopbackServer()
    full = Path(c.work_dir) / "full.jsonl"
    full.unlink(missing_ok=True)
    full.symlink_to("/dev/full")
    try:
        common = ["--methods", "direct", "--progress", "never", server.url("/ok/1")]
        proc = start(c, ["-o", str(full), *common], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _, err = proc.communicate(timeout=WAIT_S)
        c.last_output = f"exit {proc.returncode}\n--- stderr ---\n{err}"
        no_sanitizer_report(err)
        check(proc.returncode == 2, f"-o onto /dev/full: exit {proc.returncode}, expected 2")
        check(f"-o {full}: write failed" in err, f"the failed output is not named:\n{err}")
        with open("/dev/full", "w") as devfull:
            proc = start(c, ["--format", "jsonl", *common], stdout=devfull, stderr=subprocess.PIPE)
            _, err = proc.communicate(timeout=WAIT_S)
        c.last_output = f"exit {proc.returncode}\n--- stderr ---\n{err}"
        no_sanitizer_report(err)
        check(proc.returncode == 2, f"stdout onto /dev/full: exit {proc.returncode}, expected 2")
        check("stdout: write failed" in err, f"stdout is not named:\n{err}")
        # `list` has no sweep, but its targets are its output all the same.
        sheet = Path(c.work_dir) / "list.txt"
        sheet.write_text("https://a.example/\n")
        with open("/dev/full", "w") as devfull:
            proc = start(c, ["list", str(sheet)], stdout=devfull, stderr=subprocess.PIPE)
            _, err = proc.communicate(timeout=WAIT_S)
        c.last_output = f"exit {proc.returncode}\n--- stderr ---\n{err}"
        no_sanitizer_report(err)
        check(proc.returncode == 2, f"list onto /dev/full: exit {proc.returncode}, expected 2")
        check("stdout: write failed" in err, f"list: stdout is not named:\n{err}")
    finally:
        server.close()


def hostile_text_escaped_on_stderr(c):
    # A sheet's cells are quoted in its diagnostics: their control characters (ESC, BEL, CR) must
    # be shown, not sent raw to the user's terminal, where they could retitle or clear it.
    sheet = Path(c.work_dir) / "hostile.csv"
    sheet.write_bytes(b'URL,Port\n"https://a\x1b]0;pwned\x07.example/",443\nfoo\x1b[2Jbar\r,443\n'
                      b"https://ok.example/,443\n")
    proc = start(c, ["list", str(sheet)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=WAIT_S)
    c.last_output = f"exit {proc.returncode}\n--- stderr ---\n{err!r}"
    no_sanitizer_report(err)
    check(proc.returncode == 2, f"exit {proc.returncode}, expected 2 (bad rows)")
    raw = [ch for ch in err + out if ord(ch) < 0x20 and ch not in "\n\t" or ord(ch) == 0x7f]
    check(not raw, f"control characters reached the terminal: {sorted(set(raw))!r}")
    check("\\x1b" in err, f"the escape is not shown as \\x1b:\n{err!r}")
    check(out.strip() == "https://ok.example/", f"the good row was lost: {out!r}")
    # A PAC script's unusable answer is quoted in its error: the same escaping applies.
    script = Path(c.work_dir) / "hostile.pac"
    script.write_text("function FindProxyForURL(url, host) { return '\\x1b]0;pwned\\x07'; }\n")
    proc = start(c, ["pac", str(script), "http://a.test/"], stdout=subprocess.PIPE,
                 stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=WAIT_S)
    c.last_output = f"exit {proc.returncode}\n--- stderr ---\n{err!r}"
    no_sanitizer_report(err)
    raw = [ch for ch in err if ord(ch) < 0x20 and ch not in "\n\t" or ord(ch) == 0x7f]
    check(not raw, f"pac: control characters reached the terminal: {sorted(set(raw))!r}")
    check("\\x1b" in err, f"pac: the answer's escape is not shown as \\x1b:\n{err!r}")


def pac_full_disk_is_exit_2(c):
    # `urlprobe pac`'s answers are its output: lost to a full disk, they are exit 2 naming stdout.
    script = Path(c.work_dir) / "direct.pac"
    script.write_text("function FindProxyForURL(url, host) { return 'DIRECT'; }\n")
    with open("/dev/full", "w") as devfull:
        proc = start(c, ["pac", str(script), "http://a.test/"], stdout=devfull,
                     stderr=subprocess.PIPE)
        _, err = proc.communicate(timeout=WAIT_S)
    c.last_output = f"exit {proc.returncode}\n--- stderr ---\n{err}"
    no_sanitizer_report(err)
    check(proc.returncode == 2, f"pac, stdout onto /dev/full: exit {proc.returncode}, expected 2")
    check("stdout: write failed" in err, f"stdout is not named:\n{err}")


def sheet_row_errors_are_exit_2(c):
    # Issue 16: a bad Port, a port the URL contradicts, a stray quote, unreadable workbook cells
    # and a URL over 8 KiB each cost their row, named FILE:LINE:FIELD or FILE:Sheet!CELL; the
    # good rows are still probed, and the exit status is 2 (bad input) for every one of them.
    server = LoopbackServer()
    work = Path(c.work_dir)
    port = server.port
    good = [server.url(f"/ok/{i}") for i in range(3)]
    csv_cases = {
        "port_range.csv": (f"URL,Port\n{good[0]},{port}\nhttp://127.0.0.1/ok/x,99999\n"
                           f"{good[1]},{port}\n", ":3:2: warning: Port '99999'"),
        "port_zero.csv": (f"URL,Port\n{good[0]},{port}\nhttp://127.0.0.1/ok/x,0\n"
                          f"{good[1]},{port}\n", ":3:2: warning: Port '0'"),
        "port_conflict.csv": (f"URL,Port\n{good[0]},{port}\n{server.url('/ok/x')},{port + 1}\n"
                              f"{good[1]},{port}\n", ":3:1: warning: "),
        "stray_quote.csv": (f"URL,Port\n{good[0]},{port}\n\"{server.url('/ok/x')},{port}\n"
                            f"{good[1]},{port}\n", ":3:1: warning: quoted field is never closed"),
        "long_url.txt": (f"{good[0]}\n{server.url('/ok/' + 'x' * 10000)}\n{good[1]}\n",
                         ":2:1: error: line longer than 8192 bytes"),
    }
    try:
        for name, (text, message) in csv_cases.items():
            path = work / name
            path.write_text(text)
            for command in (["list"], ["--methods", "direct", "--format", "jsonl",
                                       "--progress", "never"]):
                proc = start(c, [*command, str(path)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
                out, err = proc.communicate(timeout=WAIT_S)
                c.last_output = f"exit {proc.returncode}\n--- stderr ---\n{err}"
                no_sanitizer_report(err)
                check(proc.returncode == 2, f"{name} ({command[0]}): exit {proc.returncode}, "
                      "expected 2")
                check(f"{path}{message}" in err, f"{name}: stderr does not say {message!r}:\n{err}")
                if command == ["list"]:
                    listed = out.split()
                else:
                    records = records_of(c, out, name)
                    check(all(r["outcome"] == "ok" for r in records), f"{name}: {records}")
                    listed = [r["url"] for r in records]
                check(sorted(listed) == sorted(good[:2]),
                      f"{name} ({command[0]}): {listed}, expected the good rows {good[:2]}")
    finally:
        server.close()

    # The workbook: built here from the fixture script's parts (the hand-written bad sheet).
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sheet"))
    import make_xlsx_fixtures as fx  # noqa: E402
    book = work / "bad_cells.xlsx"
    book.write_bytes(fx.zip_parts(fx.minimal_parts([("Bad", fx.BAD_CELLS_SHEET, None)],
                                                   fx.BAD_CELLS_SHARED)))
    proc = start(c, ["list", str(book)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=WAIT_S)
    c.last_output = f"exit {proc.returncode}\n--- stderr ---\n{err}"
    no_sanitizer_report(err)
    check(proc.returncode == 2, f"bad_cells.xlsx: exit {proc.returncode}, expected 2")
    check(out.split() == ["https://first.example/", "https://last.example:8443/"],
          f"bad_cells.xlsx: listed {out.split()}")
    for cell in ("A3", "A4", "B5", "A6", "A7", "A8", "9:9", "B10", "A11"):
        check(f"{book}:Bad!{cell}: warning: " in err, f"bad_cells.xlsx: {cell} not named:\n{err}")


def outputs_replaced_when_sweep_ends(c):
    # Issue 18: node_exporter's textfile collector read an empty .prom file for the whole sweep,
    # since -o truncated it at the start. One probe answers, the next is held by the server until
    # the files have been looked at (--concurrency 1: it starts after the first one's record).
    server = LoopbackServer()
    work = Path(c.work_dir) / "replaced"
    shutil.rmtree(work, ignore_errors=True)
    (work / "sweeps").mkdir(parents=True)
    outs = [work / "run.jsonl", work / "run.prom", work / "run.json", work / "link.txt"]
    (work / "sweeps" / "real.txt").write_text("previous link.txt\n")
    (work / "link.txt").symlink_to("sweeps/real.txt")
    for out in outs[:3]:
        out.write_text(f"previous {out.name}\n")
    (work / "run.prom").chmod(0o640)
    args = ["--methods", "direct", "--concurrency", "1", "--threads", "1", "--timeout", "60",
            "--progress", "never"]
    for out in outs:
        args += ["-o", str(out)]
    try:
        proc = start(c, [*args, server.url("/ok/1"), server.url("/held/2")],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            server.wait_held(1)
            for out in outs:
                check(out.read_text() == f"previous {out.name}\n",
                      f"{out.name} changed while the sweep runs: {out.read_text()[:300]!r}")
            temp = work / f".run.jsonl.tmp.{proc.pid}"
            check(temp.exists(), f"no {temp.name}: {sorted(p.name for p in work.iterdir())}")
            # Records reach the writers on the sweep's delivery thread, a moment after the probe
            # that made them has let the next one start: wait for the line, not for a time.
            wait_until(lambda: temp.read_text().endswith("\n"), f"a record in {temp.name}")
            early = records_of(c, temp.read_text(), temp.name)
            check([r["url"] for r in early] == [server.url("/ok/1")],
                  f"{temp.name} does not hold the finished probe's record: {early}")
            check((work / "sweeps" / f".real.txt.tmp.{proc.pid}").exists(),
                  "the temporary file of -o link.txt is not beside the file the link names")
        finally:
            server.release()
        rc = finish(proc)
        err = proc.stderr.read()
    finally:
        server.close()
    c.last_output = f"exit {rc}\n--- stderr ---\n{err}"
    no_sanitizer_report(err)
    check(rc == 0, f"exit {rc}, expected 0")
    records = records_of(c, (work / "run.jsonl").read_text(), "run.jsonl")
    check(sorted(r["url"] for r in records) == [server.url("/held/2"), server.url("/ok/1")],
          f"run.jsonl: {records}")
    prom = (work / "run.prom").read_text()
    check(f'urlprobe_probe_success{{url="{server.url("/held/2")}",route="direct",proxy=""}} 1'
          in prom, f"run.prom:\n{prom}")
    check((work / "run.prom").stat().st_mode & 0o777 == 0o640,
          f"run.prom lost its mode: {oct((work / 'run.prom').stat().st_mode)}")
    check(len(json.loads((work / "run.json").read_text())["results"]) == 2, "run.json")
    check((work / "link.txt").is_symlink(), "the symbolic link -o link.txt was replaced")
    check(server.url("/held/2") in (work / "sweeps" / "real.txt").read_text(),
          "the file link.txt names has not the new results")
    left = [p.name for d in (work, work / "sweeps") for p in d.iterdir() if ".tmp." in p.name]
    check(not left, f"temporary files left: {left}")


def output_write_error_keeps_previous(c):
    # A file limit of 200 bytes (RLIMIT_FSIZE, with SIGXFSZ ignored: EFBIG) stops the record:
    # the previous file stays whole, and nothing half-written takes its place.
    server = LoopbackServer()
    work = Path(c.work_dir) / "write-error"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    out = work / "run.jsonl"
    out.write_text("previous\n")

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    try:
        proc = start(c, ["--methods", "direct", "--progress", "never", "-o", str(out),
                         server.url("/ok/" + "x" * 300)],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=small_files)
        _, err = proc.communicate(timeout=WAIT_S)
    finally:
        server.close()
    c.last_output = f"exit {proc.returncode}\n--- stderr ---\n{err}"
    no_sanitizer_report(err)
    check(proc.returncode == 2, f"exit {proc.returncode}, expected 2")
    check(f"-o {out}: write failed" in err, f"the failed output is not named:\n{err}")
    check(out.read_text() == "previous\n", f"run.jsonl: {out.read_text()[:300]!r}")
    left = [p.name for p in work.iterdir() if p.name != "run.jsonl"]
    check(not left, f"files left: {left}")


def progress_on_a_terminal(c):
    # Issue 18: `urlprobe -o run.jsonl` in a terminal showed no progress, since `auto` also
    # wanted stdout not to be a terminal; --help says "when stderr is a terminal". Both on one
    # pseudo-terminal here; one probe is held until the progress line has been seen.
    server = LoopbackServer()
    out = Path(c.work_dir) / "progress.jsonl"
    master, slave = os.openpty()
    seen = []
    cond = threading.Condition()

    def read_terminal():
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: the last writer closed the terminal
                data = b""
            with cond:
                seen.append(data.decode(errors="replace"))
                cond.notify_all()
            if not data:
                return

    reader = threading.Thread(target=read_terminal, daemon=True)
    try:
        proc = start(c, ["--methods", "direct", "--timeout", "60", "-o", str(out),
                         server.url("/ok/1"), server.url("/held/2")],
                     stdout=slave, stderr=slave)
        os.close(slave)
        reader.start()
        try:
            with cond:
                drawn = cond.wait_for(lambda: "1/2 probes" in "".join(seen) or seen[-1:] == [""],
                                      timeout=WAIT_S)
        finally:
            server.release()
        rc = finish(proc)
        reader.join(WAIT_S)
    finally:
        server.close()
        os.close(master)
    text = "".join(seen)
    c.last_output = f"exit {rc}\n--- terminal ---\n{text!r}"
    no_sanitizer_report(text)
    check(drawn and "1/2 probes" in text, "no progress line on the terminal")
    check(rc == 0, f"exit {rc}, expected 0")
    for line in re.findall(r"1/2 probes[^\r\x1b]*", text):
        check("ETA 0:00" not in line, f"ETA 0:00 with a probe in flight: {line!r}")
    check("Summary: 2 probes" in text, f"no summary on the terminal:\n{text!r}")


CASES = {f.__name__: f for f in (fd_limit_lowers_concurrency_once, fd_limit_raises_soft_limit,
                                 sigint_mid_sweep, sigterm_mid_sweep, second_sigint_exits_at_once,
                                 argv_password_hidden_from_ps, proxy_user_password_in_no_output,
                                 sigint_before_sweep_ends_at_once,
                                 full_disk_is_exit_2, hostile_text_escaped_on_stderr,
                                 pac_full_disk_is_exit_2, sheet_row_errors_are_exit_2,
                                 outputs_replaced_when_sweep_ends,
                                 output_write_error_keeps_previous, progress_on_a_terminal)}


class ReliabilityCase(harness.Case):
    def __init__(self, binary, work_dir, schema):
        super().__init__(binary, work_dir, schema)
        self.work_dir = work_dir
        os.makedirs(work_dir, exist_ok=True)
        self.argv = []
        self.last_output = ""


def main(argv, cases=None):
    """Runs one case of CASES (or of another script's CASES, which shares this runner)."""
    cases = CASES if cases is None else cases
    if argv[1:] == ["--list"]:
        print("\n".join(cases))
        return 0
    if len(argv) != 5 or argv[4] not in cases:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    binary, work_dir, schema, name = argv[1:]
    c = ReliabilityCase(binary, work_dir, schema)
    try:
        cases[name](c)
    except harness.Skip as e:
        print(f"SKIP {name}: {e}")
        return 77
    except Fail as e:
        print(f"FAIL {name}: {e}\ncommand: {' '.join(c.argv)[:2000]}\n{c.last_output}")
        return 1
    print(f"PASS {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
