#!/usr/bin/python3
"""ctest layers.includes: every #include "stage/..." under engine/<stage>/ follows an allowed arrow.

The stage libraries (engine/CMakeLists.txt) make an include of an unlinked stage fail to compile,
but a stage also sees what the stages it links export (report sees route through probe), and
detail/ folders are visible to anyone who links the stage. This test holds the arrows themselves.

Usage: check_includes.py ENGINE_DIR | --self-test
"""

import pathlib
import re
import sys

# The allowed direct includes between stages (docs/ARCHITECTURE.md). Every stage may include base.
ARROWS = {
    "base": set(),
    "sheet": set(),
    "net": set(),
    "route": {"net"},
    "probe": {"route", "net", "sheet"},
    "report": {"probe", "sheet"},
    "serve": {"probe", "report", "route", "net", "sheet"},
}
for _stage, _allowed in ARROWS.items():
    if _stage != "base":
        _allowed.add("base")

INCLUDE = re.compile(r'^\s*#\s*include\s*["<]([^">]+)[">]')


def check(engine: pathlib.Path) -> list[str]:
    problems = []
    stages = sorted(p.name for p in engine.iterdir() if p.is_dir())
    for stage in stages:
        if stage not in ARROWS:
            problems.append(f"engine/{stage}/: a stage this test does not know; add its arrows")
            continue
        for path in sorted((engine / stage).rglob("*")):
            if not path.is_file() or path.suffix not in (".hpp", ".cpp", ".h", ".inc"):
                continue
            rel = path.relative_to(engine).as_posix()
            for line_no, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                target = m.group(1)
                where = f"engine/{rel}:{line_no}"
                if ".." in pathlib.PurePosixPath(target).parts:
                    problems.append(f'{where}: "{target}": include stages by name, not by "../"')
                    continue
                parts = target.split("/")
                if len(parts) < 2 or parts[0] not in ARROWS:
                    continue  # a system or third-party header, or one beside the file
                to = parts[0]
                if to == stage:
                    continue
                if to not in ARROWS[stage]:
                    allowed = ", ".join(sorted(ARROWS[stage])) or "none"
                    problems.append(f'{where}: "{target}": {stage} may include only {allowed}')
                elif "detail" in parts[1:-1]:
                    problems.append(f'{where}: "{target}": {to}/detail/ is {to}\'s own')
    return problems


def self_test() -> int:
    """The checker on a small engine tree with one of each violation: each must be reported."""
    import tempfile

    files = {
        "sheet/ok.cpp": '#include "sheet/a.hpp"\n#include "base/text.hpp"\n#include <string>\n',
        "sheet/bad.cpp": '#include "net/tls.hpp"\n',
        "net/deep/bad.hpp": '  #  include <probe/result.hpp>\n',
        "probe/bad.cpp": '#include "net/detail/certificate.hpp"\n#include "route/route.hpp"\n',
        "report/bad.cpp": '#include "../route/route.hpp"\n',
        "base/bad.hpp": '#include "sheet/target.hpp"\n',
        "newstage/x.hpp": "",
    }
    want = [
        "engine/base/bad.hpp:1:",
        "engine/net/deep/bad.hpp:1:",
        "engine/newstage/:",
        "engine/probe/bad.cpp:1:",
        "engine/report/bad.cpp:1:",
        "engine/sheet/bad.cpp:1:",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        problems = check(root)
    got = sorted(p.split(" ")[0] for p in problems)
    if got != want:
        print("self-test: expected violations at", want, "got", problems, file=sys.stderr)
        return 1
    print("self-test: every planted violation reported")
    return 0


def main() -> int:
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    engine = pathlib.Path(sys.argv[1])
    problems = check(engine)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} include(s) against the stage arrows", file=sys.stderr)
        return 1
    print("every engine include follows the stage arrows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
