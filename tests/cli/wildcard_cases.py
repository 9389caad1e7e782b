"""cli.<case>: no required row is left unprobed without saying how to probe it (issue 21).

  skipped_rows_name_the_flag          the built-in sheets without options: every skipped row's
                                      reason names --workspace-id, --testcloudconnection or
                                      --wildcard-host PATTERN=HOST
  workspace_and_testcloudconnection   commercial with a workspace ID and a TestCloudConnection
                                      file: the MMA rows are probed, and every skipped Required
                                      row's reason names the flag that would fix it
  several_workspaces_each_named       --workspace-id A,B --workspace-id C: one set of workspace
                                      rows per ID, each naming its workspace
  testcloudconnection_workspaces      a file belongs to the workspace it prints, else to the next
                                      --workspace-id no file claimed; stderr says which
  wildcard_host_and_representatives   --wildcard-host probes the pattern's rows at HOST, replacing
                                      the analyzer's representative *.dm.microsoft.com hosts
  bad_inputs_exit_2                   a bad --wildcard-host, --workspace-id, an unreadable or
                                      wrong --testcloudconnection file: exit 2 naming it
  records_carry_the_fields            a sweep's jsonl records (schema-checked) carry wildcard,
                                      host_from, workspace and representative (DNS: a closed
                                      loopback port, no other traffic)

Usage: wildcard_cases.py URLPROBE_BINARY WORK_DIR SCHEMA CASE (or --list). Exit 0 pass, 1 fail.
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "integration"))
sys.dont_write_bytecode = True  # no __pycache__ beside the sources
from harness import check  # noqa: E402
from reliability_cases import main as reliability_main, records_of, run_urlprobe  # noqa: E402

FIXTURES = Path(__file__).resolve().parent.parent / "sheet" / "testcloudconnection"
ID_A = "3f2a8c1e-5b7d-4e90-a1c2-6d8e9f0a1b2c"  # printed in contoso-prod.txt
ID_B = "9c41d7e2-0a3b-4f6c-8d5e-1b2a3c4d5e6f"  # in the hosts of contoso-dev-powershell.txt
ID_C = "0b7e6d5c-4a39-4281-9f0e-d1c2b3a49586"
FLAGS = ("--workspace-id", "--testcloudconnection", "--wildcard-host")


def run(c, args):
    return run_urlprobe(c, args)


def listed(c, args):
    rc, out, err = run(c, ["list", "--format", "json", *args])
    check(rc == 0, f"list exit {rc}, expected 0")
    return json.loads(out), err


def fixture(name):
    return str(FIXTURES / name)


def names_its_flag(target):
    """The reason names an option, and --wildcard-host with the row's own pattern."""
    why = target["skip"]
    if "--wildcard-host" in why:
        return f"--wildcard-host {target['host']}=HOST" in why
    return any(flag in why for flag in FLAGS)


def skipped_rows_name_the_flag(c):
    for builtin in ("commercial", "gov"):
        targets, _ = listed(c, ["--builtin", builtin])
        skipped = [t for t in targets if "skip" in t]
        check(skipped, f"{builtin}: nothing skipped without options (the sheet has wildcard rows)")
        bad = [t for t in skipped if not names_its_flag(t)]
        check(not bad, f"{builtin}: skipped without naming the flag: {bad[:3]}")
        by_host = {t["host"]: t["skip"] for t in skipped}
        suffix = "azure.com" if builtin == "commercial" else "azure.us"
        check("--workspace-id" in by_host.get(f"*.ods.opinsights.{suffix}", ""),
              f"{builtin}: the workspace row does not name --workspace-id: {by_host}")
    targets, _ = listed(c, [])
    blob = [t for t in targets if t.get("host") == "*.blob.core.windows.net"]
    check(blob and all("--testcloudconnection" in t["skip"] for t in blob),
          f"the storage rows do not name --testcloudconnection: {blob}")


def workspace_and_testcloudconnection(c):
    targets, _ = listed(c, ["--workspace-id", ID_A, "--testcloudconnection", fixture("contoso-prod.txt")])
    required_skipped = [t for t in targets if "skip" in t and t["row"]["required"] == "Required"]
    bad = [t for t in required_skipped if not names_its_flag(t)]
    check(not bad, f"required rows skipped without naming the flag: {bad[:3]}")
    # What the two inputs can fix is fixed: no workspace or storage row is left skipped.
    mma_left = [t for t in targets if "skip" in t and ("opinsights" in t["host"] or "azure-automation" in t["host"]
                                                        or t["host"] == "*.blob.core.windows.net")]
    check(not mma_left, f"MMA rows still skipped: {mma_left}")
    # The down-level devices' view: every row kept is probed but the seven docs wildcards
    # that only --wildcard-host can name.
    targets, _ = listed(c, ["--os", "server-mma", "--workspace-id", ID_A,
                            "--testcloudconnection", fixture("contoso-prod.txt")])
    urls = {t["url"] for t in targets}
    for host in (f"{ID_A}.ods.opinsights.azure.com", f"{ID_A}.oms.opinsights.azure.com",
                 f"{ID_A}.agentsvc.azure-automation.net", "scadvisorcontent.blob.core.windows.net"):
        check(f"https://{host}/" in urls, f"https://{host}/ is not probed")
    agentsvc = [t for t in targets if t["row"].get("wildcard") == "*.agentsvc.azure-automation.net"]
    check(len(agentsvc) == 1 and agentsvc[0]["row"]["workspace"] == ID_A,
          f"the MMA steps' agentsvc row: {agentsvc}")
    left = [t for t in targets if "skip" in t]
    check(all("--wildcard-host" in t["skip"] for t in left), f"left skipped: {left}")


def several_workspaces_each_named(c):
    targets, _ = listed(c, ["--os", "windows-legacy", "--workspace-id", f"{ID_A},{ID_B.upper()}",
                            "--workspace-id", ID_C])
    for wildcard in ("*.ods.opinsights.azure.com", "*.oms.opinsights.azure.com",
                     "*.agentsvc.azure-automation.net"):
        rows = [t for t in targets if t["row"].get("wildcard") == wildcard]
        check([t["row"]["workspace"] for t in rows] == [ID_A, ID_B, ID_C],
              f"{wildcard}: workspaces {[t['row'].get('workspace') for t in rows]}")
        for t in rows:
            check(t["host"] == wildcard.replace("*", t["row"]["workspace"]) and "skip" not in t,
                  f"{wildcard}: {t}")
            check(t["row"]["host_from"] == "workspace-id", f"{t}")
    # Repeating an ID does not repeat its rows.
    targets, _ = listed(c, ["--workspace-id", ID_A, "--workspace-id", ID_A.upper()])
    ods = [t for t in targets if t["row"].get("wildcard") == "*.ods.opinsights.azure.com"]
    check(len(ods) == 1, f"a repeated ID gave {len(ods)} ods rows")


def testcloudconnection_workspaces(c):
    targets, err = listed(c, ["--workspace-id", ID_C,
                              "--testcloudconnection", fixture("no-workspace.txt"),
                              "--testcloudconnection", fixture("contoso-prod.txt"),
                              "--testcloudconnection", fixture("contoso-dev-powershell.txt")])
    by_host = {}
    for t in targets:
        if t["row"].get("wildcard") == "*.blob.core.windows.net" and t["url"].endswith(".net/"):
            by_host.setdefault(t["host"], t["row"])
    check(by_host.get("lab01mmastore.blob.core.windows.net", {}).get("workspace") == ID_C,
          f"the file without an ID is not the --workspace-id's: {by_host}")
    check(by_host.get("omsagentstore7f3e.blob.core.windows.net", {}).get("workspace") == ID_A,
          f"contoso-prod.txt's hosts are not its printed workspace's: {by_host}")
    check(by_host.get("eusmmastorage04.blob.core.windows.net", {}).get("workspace") == ID_B,
          f"the UTF-16 file's hosts are not its workspace's: {by_host}")
    check(all(r["host_from"] == "testcloudconnection" for r in by_host.values()), f"{by_host}")
    # The printed workspaces get their workspace rows too.
    ods = [t["row"]["workspace"] for t in targets if t["row"].get("wildcard") == "*.ods.opinsights.azure.com"]
    check(sorted(ods) == sorted([ID_A, ID_B, ID_C]), f"ods rows for {ods}")
    check(f"contoso-prod.txt: workspace {ID_A} (printed on line 5)" in err, f"stderr:\n{err}")
    check(f"no-workspace.txt: workspace {ID_C} (the file prints none: the next --workspace-id)" in err,
          f"stderr:\n{err}")


def wildcard_host_and_representatives(c):
    targets, _ = listed(c, [])
    dm = [t for t in targets if t["row"].get("wildcard") == "*.dm.microsoft.com"]
    check([t["host"] for t in dm] == ["discovery.dm.microsoft.com", "enrollment.dm.microsoft.com",
                                      "checkin.dm.microsoft.com"], f"dm rows {dm}")
    check(all(t["row"].get("representative") is True and "skip" not in t for t in dm), f"{dm}")
    targets, err = listed(c, ["--wildcard-host", "*.dm.microsoft.com=checkin.dm.microsoft.com",
                              "--wildcard-host", "*.wdcp.microsoft.com=unitedstates.cp.wdcp.microsoft.com",
                              "--wildcard-host", "*.nowhere.example.com=x.nowhere.example.com"])
    dm = [t for t in targets if t["row"].get("wildcard") == "*.dm.microsoft.com"]
    check([(t["host"], t["row"]["host_from"]) for t in dm] == [("checkin.dm.microsoft.com", "wildcard-host")]
          and "representative" not in dm[0]["row"], f"dm rows {dm}")
    wdcp = [t for t in targets if t["row"].get("wildcard") == "*.wdcp.microsoft.com"]
    check(len(wdcp) == 1 and wdcp[0]["url"] == "https://unitedstates.cp.wdcp.microsoft.com/"
          and "skip" not in wdcp[0] and wdcp[0]["row"]["required"] == "Required", f"{wdcp}")
    check("--wildcard-host *.nowhere.example.com=x.nowhere.example.com: no row kept has" in err,
          f"an unused --wildcard-host is not noted:\n{err}")


def bad_inputs_exit_2(c):
    cases = [
        (["--wildcard-host", "*.wd.microsoft.com=evil.example.com"],
         "--wildcard-host *.wd.microsoft.com=evil.example.com: 'evil.example.com' does not match"),
        (["--wildcard-host", "go.microsoft.com=go.microsoft.com"],
         "--wildcard-host go.microsoft.com=go.microsoft.com: 'go.microsoft.com' is not a wildcard"),
        (["--wildcard-host", "*.wd.microsoft.com"], "--wildcard-host *.wd.microsoft.com: expected PATTERN=HOST"),
        (["--workspace-id", f"{ID_A},not-a-guid"], "--workspace-id: 'not-a-guid' is not a workspace ID"),
        (["--testcloudconnection", str(Path(c.work_dir) / "missing.txt")],
         f"--testcloudconnection: {Path(c.work_dir) / 'missing.txt'}"),
        (["--testcloudconnection", fixture("not-testcloudconnection.txt")],
         "not-testcloudconnection.txt: no 'Firewall Rule:' line"),
    ]
    for args, message in cases:
        for command in (["list"], ["--methods", "direct"]):
            rc, out, err = run(c, [*command, *args])
            check(rc == 2, f"{args}: exit {rc}, expected 2")
            check(message in err, f"{args}: stderr does not say {message!r}:\n{err}")
            check(out == "", f"{args}: something was listed or probed:\n{out[:500]}")


def records_carry_the_fields(c):
    sheet = Path(c.work_dir) / "wildcards.csv"
    sheet.write_text("Service,Geography,Category,Port,Endpoint/URL,Required or Optional\n"
                     "MDE,WW,Management,443,*.dm.microsoft.com,Optional\n"
                     "MMA,WW,MMA,443,*.ods.opinsights.azure.com,Optional\n"
                     "MDE,WW,MAPS,443,*.wdcp.microsoft.com,Required\n")
    # Port 9 of 127.0.0.1 has no DNS server: every lookup fails there, and nothing leaves the host.
    rc, out, _ = run(c, [str(sheet), "--format", "jsonl", "--methods", "direct", "--timeout", "2",
                         "--dns-server", "127.0.0.1:9", "--workspace-id", ID_A])
    check(rc == 1, f"exit {rc}, expected 1 (no name resolves)")
    records = records_of(c, out, "the sweep's jsonl")
    rows = {rec["host"]: rec for rec in records}
    check(set(rows) == {"discovery.dm.microsoft.com", "enrollment.dm.microsoft.com",
                        "checkin.dm.microsoft.com", f"{ID_A}.ods.opinsights.azure.com",
                        "*.wdcp.microsoft.com"}, f"hosts {sorted(rows)}")
    dm = rows["checkin.dm.microsoft.com"]["row"]
    check(dm.get("representative") is True and dm.get("host_from") == "representative"
          and dm.get("wildcard") == "*.dm.microsoft.com", f"{dm}")
    ods = rows[f"{ID_A}.ods.opinsights.azure.com"]["row"]
    check(ods.get("workspace") == ID_A and ods.get("host_from") == "workspace-id", f"{ods}")
    wdcp = rows["*.wdcp.microsoft.com"]
    check(wdcp["outcome"] == "skipped" and "--wildcard-host *.wdcp.microsoft.com=HOST" in wdcp["detail"],
          f"{wdcp}")
    # Read back: report sees the same rows (the record reader keeps the fields).
    saved = Path(c.work_dir) / "wildcards.jsonl"
    saved.write_text(out)
    rc, again, _ = run(c, ["report", str(saved), "--format", "jsonl"])
    check(rc in (0, 1), f"report exit {rc}")
    back = {rec["host"]: rec["row"] for rec in records_of(c, again, "report's jsonl")}
    check(back.get("checkin.dm.microsoft.com") == dm and back.get(f"{ID_A}.ods.opinsights.azure.com") == ods,
          f"read back {back}")


CASES = {f.__name__: f for f in (skipped_rows_name_the_flag, workspace_and_testcloudconnection,
                                 several_workspaces_each_named, testcloudconnection_workspaces,
                                 wildcard_host_and_representatives, bad_inputs_exit_2,
                                 records_carry_the_fields)}

if __name__ == "__main__":
    sys.exit(reliability_main(sys.argv, CASES))
