"""Shared machinery of the integration case scripts (probe_cases.py, proxy_cases.py).

A case script defines CASES (name -> function taking a Case) and calls main(). Each case is one
ctest: it runs the built binary against the daemons of tests/fixtures/start, validates every
JSON record against the result schema, and asserts what the contract says. Exit: 0 pass,
1 fail, 77 skipped.

Runs under /usr/bin/python3 on purpose: Debian's python3-jsonschema imports only there.
"""
import datetime
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

# A hang guard, not a timing assertion: every probe has a --timeout of a few seconds, so a run
# that takes this long is stuck.
RUN_LIMIT_S = 120


class Fail(Exception):
    pass


class Skip(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def read_env(path):
    """The fixture's env file: KEY=value lines with shell quoting (written by printf %q)."""
    env = {}
    for line in Path(path).read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = shlex.split(value)[0] if value else ""
    return env


def make_validator(schema_path):
    # Imported here, not at the top, so that --list (run by CMake at configure time) works
    # without python3-jsonschema.
    import jsonschema

    schema = json.loads(Path(schema_path).read_text())
    checker = jsonschema.FormatChecker()

    # jsonschema checks "date-time" only with the optional rfc3339-validator installed, which
    # Debian 12 does not ship: without this the schema's formats would pass unchecked.
    @checker.checks("date-time", raises=ValueError)
    def _date_time(value):
        if not isinstance(value, str):
            return True
        if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", value):
            raise ValueError(f"not an RFC 3339 date-time: {value!r}")
        datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return True

    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=checker)


def trust_args(fx):
    """--ca-file and --public-roots for a run that is to trust the fixture's PKI as a user trusts
    the web's: the test root is trusted (it is in no system store) and is the one public root.
    Without --public-roots the Mozilla set would count, and every chain anchored in the test
    root would be reported as tls_intercepted."""
    return ["--ca-file", fx["URLPROBE_ROOT_CA"], "--public-roots", fx["URLPROBE_PUBLIC_ROOTS"]]


def clean_environ(extra=None):
    """The environment a run gets: ours, without any proxy setting (http_proxy, HTTPS_PROXY,
    all_proxy, no_proxy, ...) or proxy password, plus EXTRA. Route `default` reads the proxy
    variables, so a case must never inherit them from whoever runs ctest."""
    env = {k: v for k, v in os.environ.items()
           if not k.lower().endswith("_proxy") and k != "URLPROBE_PROXY_PASSWORD"}
    env.update(extra or {})
    return env


class Run:
    """One finished run of the binary: exit status, parsed records, raw output."""

    def __init__(self, argv, proc, records, env_extra=None):
        self.argv = argv
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.records = records
        self.env_extra = env_extra or {}

    def describe(self):
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env_extra.items())
        return (f"command: {env + ' ' if env else ''}{shlex.join(self.argv)}\nexit status: {self.rc}\n"
                f"--- stdout ---\n{self.stdout}--- stderr ---\n{self.stderr}")

    def only_record(self):
        check(len(self.records) == 1, f"expected exactly 1 record, got {len(self.records)}")
        return self.records[0]


def case_registry():
    """CASES (name -> function) and the @case decorator that fills it: a script's ctests."""
    cases = {}

    def case(fn):
        cases[fn.__name__] = fn
        return fn

    return cases, case


class Case:
    def __init__(self, binary, fixture_dir, schema):
        self.binary = binary
        self.fixture_dir = Path(fixture_dir)
        self.validator = make_validator(schema)
        self.fx = None
        self.last = None  # the last Run, printed when the case fails

    @property
    def tmp(self):
        """A scratch folder for this case, removed when the process ends."""
        if not hasattr(self, "_scratch"):
            self._scratch = tempfile.TemporaryDirectory(prefix="urlprobe-case-")
        return Path(self._scratch.name)

    def fixture(self):
        if self.fx is None:
            env_file = self.fixture_dir / "env"
            check(env_file.is_file(), f"{env_file} missing: did fixtures.start run?")
            self.fx = read_env(env_file)
        return self.fx

    def run(self, args, wrapper=(), jsonl=True, env=None):
        """Runs the binary with ARGS; ENV adds variables to a proxy-free environment."""
        argv = [*wrapper, self.binary, *args]
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, env=clean_environ(env),
                                  timeout=RUN_LIMIT_S, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as e:
            raise Fail(f"still running after {RUN_LIMIT_S} s: {shlex.join(argv)}\n"
                       f"stderr so far:\n{e.stderr}")
        if wrapper and proc.returncode == 77 and "SKIP" in proc.stderr:
            raise Skip(proc.stderr.strip())
        self.last = Run(argv, proc, [], env)
        self.last.records = self.parse_records(proc.stdout) if jsonl else []
        return self.last

    def check_record(self, n, line, rec):
        """A hook for case scripts: more checks on every record (after the schema)."""

    def redact(self, text):
        """A hook for case scripts: masks secrets in what a failing case prints (its command
        line and the binary's output), so that the test log itself never holds them."""
        return text

    def parse_records(self, text):
        """Every non-empty line is one record that must satisfy the schema."""
        records = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise Fail(f"line {n} is not JSON ({e}): {line!r}")
            errors = sorted(self.validator.iter_errors(rec), key=lambda e: list(e.path))
            check(not errors, f"line {n} does not match the schema: "
                  + "; ".join(f"{'/'.join(map(str, e.path)) or '(record)'}: {e.message}"
                              for e in errors) + f"\n  record: {line}")
            self.check_record(n, line, rec)
            records.append(rec)
        return records

    def expect_outcome(self, rec, outcome, detail_re=None):
        check(rec["outcome"] == outcome,
              f"outcome {rec['outcome']!r} (detail {rec.get('detail', '')!r}), expected {outcome!r}"
              f"\n  record: {json.dumps(rec)}")
        if detail_re:
            check(re.search(detail_re, rec.get("detail", ""), re.IGNORECASE),
                  f"detail {rec.get('detail', '')!r} does not match /{detail_re}/i"
                  f"\n  record: {json.dumps(rec)}")


def main(argv, cases, doc, case_class=Case):
    if argv[1:] == ["--list"]:
        print("\n".join(cases))
        return 0
    if len(argv) != 5 or argv[4] not in cases:
        print(doc.strip(), file=sys.stderr)
        print("cases: " + " ".join(cases), file=sys.stderr)
        return 2
    binary, fixture_dir, schema, name = argv[1:]
    if not os.access(binary, os.X_OK):
        print(f"FAIL {name}: {binary} is not an executable (build the urlprobe target first)")
        return 1
    c = case_class(binary, fixture_dir, schema)
    try:
        cases[name](c)
    except Skip as e:
        print(c.redact(f"SKIP {name}: {e}"))
        return 77
    except Fail as e:
        print(c.redact(f"FAIL {name}: {e}"))
        if c.last:
            print(c.redact(c.last.describe()))
        return 1
    print(f"PASS {name}")
    return 0
