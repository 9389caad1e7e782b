"""cli.<case>: '-' reads the input from stdin, as httpx and curl users expect (issue 18).

  list_urls_from_stdin           `urlprobe list -` lists the URLs piped to it, with URL arguments
  stdin_errors_name_stdin        a bad line is named <stdin>:LINE:COL, the rest listed, exit 2
  stdin_sheets_by_sheet_format   --sheet-format csv, tsv and xlsx read a sheet from stdin; a
                                 workbook's bad cells are named <stdin>:Sheet!CELL
  stdin_twice_is_usage_error     '-' given twice: exit 2 naming it (stdin can be read once)
  probe_urls_from_stdin          `urlprobe -` probes the piped URLs (a loopback server)
  stdin_never_read_without_dash  without '-', a stdin pipe that never closes is not waited for:
                                 list, list FILE and a probe finish (the hang guard is the
                                 failure detector; nothing is timed)

Usage: stdin_cases.py URLPROBE_BINARY WORK_DIR SCHEMA CASE (or --list). Exit 0 pass, 1 fail.
"""
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "integration"))
sys.dont_write_bytecode = True  # no __pycache__ beside the sources
import harness  # noqa: E402
from harness import check, Fail  # noqa: E402
from reliability_cases import (LoopbackServer, main as reliability_main,  # noqa: E402
                               WAIT_S, no_sanitizer_report, records_of, run_urlprobe as run)

def list_urls_from_stdin(c):
    rc, out, _ = run(c, ["list", "-"], b"# piped\nhttps://a.example/\n\nhttp://b.example:8080/x\n")
    check(rc == 0, f"exit {rc}, expected 0")
    check(out.split() == ["https://a.example/", "http://b.example:8080/x"], f"listed {out.split()}")
    # Beside URL arguments, in argument order.
    rc, out, _ = run(c, ["list", "https://first.example/", "-", "https://last.example/"],
                     b"https://piped.example/\n")
    check(rc == 0, f"exit {rc}, expected 0")
    check(out.split() == ["https://first.example/", "https://piped.example/",
                          "https://last.example/"], f"listed {out.split()}")


def stdin_errors_name_stdin(c):
    rc, out, err = run(c, ["list", "-"], b"https://ok.example/\n  ftp://bad.example/\n")
    check(rc == 2, f"exit {rc}, expected 2 (a bad line)")
    check("<stdin>:2:3: error: " in err, f"the bad line is not named <stdin>:2:3:\n{err}")
    check(out.split() == ["https://ok.example/"], f"listed {out.split()}")


def stdin_sheets_by_sheet_format(c):
    for fmt, text in [("csv", b"Category,URL,Port\nx,https://a.example/,443\nx,https://b.example/,443\n"),
                      ("tsv", b"Category\tURL\tPort\nx\thttps://a.example/\t443\nx\thttps://b.example/\t443\n")]:
        rc, out, _ = run(c, ["list", "-", "--sheet-format", fmt], text)
        check(rc == 0, f"{fmt}: exit {rc}, expected 0")
        check(out.split() == ["https://a.example/", "https://b.example/"],
              f"{fmt}: listed {out.split()}")
    rc, _, err = run(c, ["list", "-", "--sheet-format", "csv"], b"Name\nnothing here\n")
    check(rc == 2, f"csv without a URL column: exit {rc}, expected 2")
    check("<stdin>: no URL column" in err, f"the sheet is not named <stdin>:\n{err}")
    # The workbook: built from the sheet tests' fixture script (the hand-written bad sheet).
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sheet"))
    import make_xlsx_fixtures as fx  # noqa: E402
    book = fx.zip_parts(fx.minimal_parts([("Bad", fx.BAD_CELLS_SHEET, None)], fx.BAD_CELLS_SHARED))
    rc, out, err = run(c, ["list", "-", "--sheet-format", "xlsx"], book)
    check(rc == 2, f"xlsx: exit {rc}, expected 2 (bad cells)")
    check(out.split() == ["https://first.example/", "https://last.example:8443/"],
          f"xlsx: listed {out.split()}")
    check("<stdin>:Bad!A3: warning: " in err, f"xlsx: the bad cell is not named <stdin>:Bad!A3:\n{err}")


def stdin_twice_is_usage_error(c):
    rc, out, err = run(c, ["list", "-", "-"], b"https://a.example/\n")
    check(rc == 2, f"exit {rc}, expected 2")
    check("'-'" in err and "stdin" in err, f"the error does not name '-' and stdin:\n{err}")
    check(out == "", f"something was listed: {out!r}")


def probe_urls_from_stdin(c):
    server = LoopbackServer()
    try:
        urls = [server.url("/ok/1"), server.url("/ok/2")]
        rc, out, _ = run(c, ["-", "--methods", "direct", "--format", "jsonl", "--progress", "never"],
                         "".join(u + "\n" for u in urls).encode())
    finally:
        server.close()
    check(rc == 0, f"exit {rc}, expected 0")
    records = records_of(c, out, "stdout")
    check(sorted(r["url"] for r in records) == urls, f"probed {[r['url'] for r in records]}")
    check(all(r["outcome"] == "ok" and r["row"]["source"] == "<stdin>" for r in records),
          f"records: {records}")


def stdin_never_read_without_dash(c):
    work = Path(c.work_dir)
    urls = work / "urls.txt"
    urls.write_text("https://file.example/\n")
    server = LoopbackServer()
    read_end, write_end = os.pipe()
    try:
        # Something waits in the pipe, and the pipe is never closed: reading it would hang, and
        # what it holds must not be listed.
        os.write(write_end, b"https://piped.example/\n")
        for args, want in [(["list"], None), (["list", str(urls)], ["https://file.example/"]),
                           (["--methods", "direct", "--format", "jsonl", "--progress", "never",
                             server.url("/ok/x")], None)]:
            argv = [c.binary, *args]
            c.argv = argv
            with open(work / "out", "w+") as out, open(work / "err", "w+") as err:
                proc = subprocess.Popen(argv, stdin=read_end, stdout=out, stderr=err,
                                        env=harness.clean_environ())
                try:
                    rc = proc.wait(timeout=WAIT_S)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                    raise Fail(f"{' '.join(args)}: still running {WAIT_S} s later with an open "
                               "stdin: it is reading stdin") from None
                out.seek(0)
                err.seek(0)
                text, errors = out.read(), err.read()
            c.last_output = f"exit {rc}\n--- stderr ---\n{errors}"
            no_sanitizer_report(errors)
            check(rc == 0, f"{' '.join(args)}: exit {rc}, expected 0")
            check("piped.example" not in text, f"{' '.join(args)}: stdin was read")
            if want is not None:
                check(text.split() == want, f"{' '.join(args)}: listed {text.split()}")
    finally:
        os.close(write_end)
        os.close(read_end)
        server.close()


CASES = {f.__name__: f for f in (list_urls_from_stdin, stdin_errors_name_stdin,
                                 stdin_sheets_by_sheet_format, stdin_twice_is_usage_error,
                                 probe_urls_from_stdin, stdin_never_read_without_dash)}


if __name__ == "__main__":
    sys.exit(reliability_main(sys.argv, CASES))
