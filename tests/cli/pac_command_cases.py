"""cli.<case>: `urlprobe pac FILE URL...` answers as pactester does (issue 21).

  pac_prints_the_answer_verbatim      one URL: the answer alone; several: URL<TAB>answer per
                                      line, in argument order; spaces, case and a trailing ';'
                                      kept as the script wrote them
  pac_unusable_answer_warns_exit_0    "", garbage, "PROXY", an unknown keyword, undefined, null,
                                      a number: printed as JavaScript's String() shows them, a
                                      warning naming the script on stderr, exit 0
  pac_alert_goes_to_stderr            alert() at load and in a call: on stderr, naming the
                                      script, in order; stdout holds only the answer
  pac_broken_script_exit_2            syntax error, no FindProxyForURL, unreadable file: exit 2
                                      naming FILE(:LINE); a throw for one URL names FILE:LINE and
                                      the URL while the other URLs are still answered
  pac_helpers_see_pinned_names        dnsResolve of a --resolve'd name, myIpAddress with
                                      --client-ip, the Ex helpers from FindProxyForURLEx
  pac_silent_dns_is_a_warning         a --dns-server on loopback that never answers: dnsResolve
                                      is null, dnsResolveEx "", the answer printed, a warning
                                      naming the name, exit 0

DNS queries go only to a socket of the test's own on 127.0.0.1; other names are pinned with
--resolve or are IP literals.
Usage: pac_command_cases.py URLPROBE_BINARY WORK_DIR SCHEMA CASE (or --list). Exit 0 pass, 1 fail.
"""
import socket
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "integration"))
sys.dont_write_bytecode = True  # no __pycache__ beside the sources
from harness import check  # noqa: E402
from reliability_cases import main as reliability_main, run_urlprobe  # noqa: E402


def pac(c, script_text, *args, name="answer.pac"):
    """Writes SCRIPT_TEXT to a file and runs `urlprobe pac FILE ARGS...`; returns (rc, out, err,
    path of the script)."""
    with tempfile.TemporaryDirectory(dir=c.work_dir) as tmp:
        path = Path(tmp) / name
        if script_text is not None:
            path.write_text(script_text)
        rc, out, err = run_urlprobe(c, ["pac", str(path), *args])
    return rc, out, err, str(path)


def returning(expression):
    return f"function FindProxyForURL(url, host) {{\n  return {expression};\n}}\n"


def pac_prints_the_answer_verbatim(c):
    for answer in ["DIRECT", "PROXY proxy.corp:3128", "PROXY a.corp:8080; PROXY b.corp:8080; DIRECT",
                   "  proxy a.corp:80 ;SOCKS5 s.corp:1080;  direct ;", "HTTPS secure.corp:443;",
                   "SOCKS4 s4.corp:1080; SOCKS s.corp; HTTP h.corp:8000"]:
        rc, out, err, _ = pac(c, returning(repr(answer)), "http://a.test/")
        check(rc == 0, f"{answer!r}: exit {rc}, expected 0")
        check(out == answer + "\n", f"{answer!r}: stdout {out!r}")
        check(err == "", f"{answer!r}: a usable answer drew a message: {err!r}")
    # Several URLs: each line names its URL; the script sees each URL and host.
    script = returning("url.indexOf('/via-proxy') >= 0 ? 'PROXY p.corp:8080' : 'DIRECT; ' + host")
    urls = ["http://a.test/", "https://b.test:8443/via-proxy?q=1", "http://a.test/"]
    rc, out, err, _ = pac(c, script, *urls)
    check(rc == 0, f"exit {rc}, expected 0")
    want = ("http://a.test/\tDIRECT; a.test\n"
            "https://b.test:8443/via-proxy?q=1\tPROXY p.corp:8080\n"
            "http://a.test/\tDIRECT; a.test\n")
    check(out == want, f"stdout {out!r}, expected {want!r}")
    # A line feed in an answer would split its line: it is shown as \x0a.
    rc, out, _, _ = pac(c, returning("'PROXY a.corp:1\\nDIRECT'"), "http://a.test/")
    check(rc == 0 and out == "PROXY a.corp:1\\x0aDIRECT\n", f"exit {rc}, stdout {out!r}")


def pac_unusable_answer_warns_exit_0(c):
    cases = [("''", ""), ("'garbage here'", "garbage here"), ("'PROXY'", "PROXY"),
             ("'PROXY ;'", "PROXY ;"), ("'FTP f.corp:21'", "FTP f.corp:21"),
             ("undefined", "undefined"), ("null", "null"), ("42", "42"), ("true", "true"),
             ("{toString: function () { return 'an object'; }}", "an object")]
    for expression, printed in cases:
        rc, out, err, path = pac(c, returning(expression), "http://a.test/")
        check(rc == 0, f"return {expression}: exit {rc}, expected 0 (a warning only)")
        check(out == printed + "\n", f"return {expression}: stdout {out!r}, expected {printed!r}")
        check(f"{path}: http://a.test/: warning: FindProxyForURL returned" in err,
              f"return {expression}: no warning naming the script and URL: {err!r}")


def pac_alert_goes_to_stderr(c):
    script = ("alert('loading');\n"
              "function FindProxyForURL(url, host) {\n"
              "  alert('asked for ' + host);\n"
              "  alert();\n"
              "  return 'PROXY p.corp:3128';\n"
              "}\n")
    rc, out, err, path = pac(c, script, "http://a.test/")
    check(rc == 0, f"exit {rc}, expected 0")
    check(out == "PROXY p.corp:3128\n", f"stdout {out!r}: alerts must not reach it")
    want = (f"urlprobe: {path}: alert: loading\n"
            f"urlprobe: {path}: alert: asked for a.test\n"
            f"urlprobe: {path}: alert: undefined\n")
    check(err == want, f"stderr {err!r}, expected {want!r}")


def pac_broken_script_exit_2(c):
    rc, out, err, path = pac(c, "function FindProxyForURL(url, host) {\n  var a = 1;\n  return 1 +* 2;\n}\n",
                             "http://a.test/")
    check(rc == 2, f"syntax error: exit {rc}, expected 2")
    check(f"{path}:3: SyntaxError" in err, f"syntax error: no {path}:3: on stderr: {err!r}")
    check(out == "", f"syntax error: stdout {out!r}")

    rc, out, err, path = pac(c, "var FindProxyForUrl = 1;\n", "http://a.test/")
    check(rc == 2, f"no FindProxyForURL: exit {rc}, expected 2")
    check(f"{path}: the script defines no FindProxyForURL function" in err, f"stderr {err!r}")

    rc, out, err, path = pac(c, None, "http://a.test/", name="missing.pac")
    check(rc == 2, f"missing file: exit {rc}, expected 2")
    check(path in err and "cannot open" in err, f"missing file: stderr {err!r}")

    script = ("function FindProxyForURL(url, host) {\n"
              "  if (host == 'bad.test')\n"
              "    throw new Error('no rule for ' + host);\n"
              "  return 'DIRECT';\n"
              "}\n")
    rc, out, err, path = pac(c, script, "http://bad.test/", "http://good.test/")
    check(rc == 2, f"a throw: exit {rc}, expected 2")
    check(f"{path}:3: http://bad.test/: FindProxyForURL: Error: no rule for bad.test" in err,
          f"a throw: stderr {err!r}")
    check(out == "http://good.test/\tDIRECT\n", f"the other URL was not answered: {out!r}")

    rc, out, err, path = pac(c, "function FindProxyForURL(url, host) {\n  while (true) {}\n}\n",
                             "http://a.test/")
    check(rc == 2 and "exceeded" in err and path in err, f"a loop: exit {rc}, stderr {err!r}")


def pac_helpers_see_pinned_names(c):
    script = ("function FindProxyForURLEx(url, host) {\n"
              "  return [dnsResolve(host), dnsResolveEx(host), myIpAddress(), myIpAddressEx(),\n"
              "          isInNetEx(host, '3ffe:8311:ffff/48'), isInNetEx(host, '198.95.0.0/16'),\n"
              "          isResolvableEx('127.0.0.9'), getClientVersion()].join(' ');\n"
              "}\n")
    rc, out, err, _ = pac(c, script, "--resolve", "pinned.test:80:198.95.7.7,3ffe:8311:ffff::5",
                          "--client-ip", "10.9.8.7", "http://pinned.test/")
    check(rc == 0, f"exit {rc}, expected 0")
    words = out.split()
    check(len(words) == 8, f"stdout {out!r}")
    check(words[0] == "198.95.7.7", f"dnsResolve: {words[0]!r}")
    check(sorted(words[1].split(";")) == ["198.95.7.7", "3ffe:8311:ffff::5"], f"dnsResolveEx: {words[1]!r}")
    check(words[2:] == ["10.9.8.7", "10.9.8.7", "true", "true", "true", "1.0"], f"helpers: {words[2:]!r}")
    check("warning" in err, f"the list is no proxy answer, yet no warning: {err!r}")


def pac_silent_dns_is_a_warning(c):
    # Bound and never read: every query is swallowed, so each lookup ends with the call's share
    # of its deadline (the run's hang guard is the only clock here).
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        script = returning("[String(dnsResolve('quiet.test')), '[' + dnsResolveEx('quiet.test') + ']',"
                           " isResolvable('quiet.test') ? 'PROXY p:1' : 'DIRECT'].join(' ')")
        rc, out, err, path = pac(c, script, "--dns-server", f"127.0.0.1:{silent.getsockname()[1]}",
                                 "http://a.test/")
    check(rc == 0, f"exit {rc}, expected 0")
    check(out == "null [] DIRECT\n", f"stdout {out!r}")
    check(f"{path}: http://a.test/: warning: no DNS answer" in err and "quiet.test" in err,
          f"no warning naming quiet.test: {err!r}")


CASES = {f.__name__: f for f in (pac_prints_the_answer_verbatim, pac_unusable_answer_warns_exit_0,
                                 pac_alert_goes_to_stderr, pac_broken_script_exit_2,
                                 pac_helpers_see_pinned_names, pac_silent_dns_is_a_warning)}


if __name__ == "__main__":
    sys.exit(reliability_main(sys.argv, CASES))
