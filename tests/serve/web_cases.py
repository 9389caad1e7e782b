"""serve.web_config_end_to_end: `urlprobe serve --web-config` over real HTTPS with basic auth.

A certificate from `openssl req`, a bcrypt hash from libxcrypt (Debian's python3 crypt module),
and curl as the scraper: the right password gets /metrics with the configured header, no or a
wrong password gets 401 with a Basic challenge, plain HTTP gets no page, and the password is in
no page and no log line. A web config made bad before SIGHUP keeps the old one (the right
password still works) and the log names FILE:LINE:COL; a bad one at start is exit 2.

Usage: web_cases.py URLPROBE_BINARY WORK_DIR. Exit 0 pass, 1 fail.
"""
import crypt  # noqa: deprecated, but it is libxcrypt's bcrypt, which the exporter checks with
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

PASSWORD = "w3b-Pa55-serve"
WAIT_S = 60  # a hang guard, not a timing assertion


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


def curl(*args):
    run = subprocess.run(["curl", "-s", "-S", "--max-time", "20", *args], capture_output=True,
                         text=True)
    return run.returncode, run.stdout, run.stderr


def wait_for_log(log, pattern, what):
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        text = log.read_text() if log.exists() else ""
        found = re.search(pattern, text)
        if found:
            return found
        time.sleep(0.05)
    fail(f"{what}: not seen in the log:\n{log.read_text() if log.exists() else ''}")


def main():
    binary, work = sys.argv[1], Path(sys.argv[2]) / "web_cases"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(work / "key.pem"),
                    "-out", str(work / "cert.pem")], check=True, capture_output=True)
    hashed = crypt.crypt(PASSWORD, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))
    if not hashed or not hashed.startswith("$2"):
        fail(f"no bcrypt from libxcrypt: {hashed!r}")
    good = (f"tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n"
            f"http_server_config:\n  headers:\n    X-Frame-Options: deny\n"
            f"basic_auth_users:\n  prom: '{hashed}'\n")
    config = work / "web.yml"
    config.write_text(good)

    bad = work / "bad.yml"
    bad.write_text("basic_auth_users:\n  prom: " + PASSWORD + "\n")
    run = subprocess.run([binary, "serve", "http://127.0.0.1:9/", "--methods", "direct",
                          "--web-config", str(bad), "--listen", "127.0.0.1:0"],
                         capture_output=True, text=True, timeout=WAIT_S)
    if run.returncode != 2 or f"{bad}:2:" not in run.stderr:
        fail(f"a bad web config at start: exit {run.returncode}, stderr {run.stderr!r}")
    if PASSWORD in run.stderr:
        fail("the pasted password was echoed")

    log = work / "serve.log"
    with open(log, "w") as err:
        server = subprocess.Popen([binary, "serve", "http://127.0.0.1:9/", "--methods", "direct",
                                   "--web-config", str(config), "--listen", "127.0.0.1:0",
                                   "--every", "1h"], stdout=subprocess.DEVNULL, stderr=err)
    try:
        port = wait_for_log(log, r"listening on 127\.0\.0\.1:(\d+) \(https\)", "the port").group(1)
        wait_for_log(log, r"sweep 1 done", "the first sweep")
        base = f"https://127.0.0.1:{port}"
        tls = ["--cacert", str(work / "cert.pem")]

        def status(*args):
            code, out, err = curl(*tls, "-o", "/dev/null", "-w", "%{http_code}", *args)
            return out

        rc, page, _ = curl(*tls, "-D", str(work / "headers"), "-u", f"prom:{PASSWORD}",
                           f"{base}/metrics")
        if rc != 0 or "urlprobe_sweeps_total 1" not in page:
            fail(f"the right password: curl {rc}, page {page[:300]!r}")
        if "x-frame-options: deny" not in (work / "headers").read_text().lower():
            fail("http_server_config.headers not sent")
        if status(f"{base}/metrics") != "401":
            fail("no password was let in")
        if status("-u", "prom:wrong", f"{base}/metrics") != "401":
            fail("a wrong password was let in")
        if status("-u", "nobody:" + PASSWORD, f"{base}/-/healthy") != "401":
            fail("an unknown user was let in")
        _, _, _ = curl("-D", str(work / "challenge"), *tls, f"{base}/")
        if 'www-authenticate: basic realm="urlprobe"' not in (work / "challenge").read_text().lower():
            fail("401 without a Basic challenge")
        rc, _, _ = curl(f"http://127.0.0.1:{port}/metrics")
        if rc == 0:
            fail("plain HTTP was answered on the TLS port")

        # A bad config at SIGHUP: the old one stays.
        config.write_text("basic_auth_users:\n  prom: '" + hashed + "'\n  unknown_key: x\n  : y\n")
        server.send_signal(signal.SIGHUP)
        wait_for_log(log, r"reload failed.*web\.yml:\d+:\d+", "the reload error with FILE:LINE:COL")
        if status("-u", f"prom:{PASSWORD}", f"{base}/-/healthy") != "200":
            fail("after a bad reload the old web config is gone")
        # A good change is taken: no auth any more, still TLS.
        config.write_text("tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n")
        server.send_signal(signal.SIGHUP)
        wait_for_log(log, r"configuration reloaded", "the good reload")
        if status(f"{base}/-/healthy") != "200":
            fail("a good reload was not taken")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            rc = server.wait(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            server.kill()
            fail("serve did not stop on SIGTERM")
    if rc != 0:
        fail(f"exit {rc} after SIGTERM")
    if PASSWORD in log.read_text():
        fail("the password reached the log")
    print("ok")


if __name__ == "__main__":
    main()
