#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""`make mutants`: does the test suite catch small bugs in the module?

    scripts/mutants.py [ID...]

Each mutant of tests/mutants.txt is one small edit of one module file (an exact
text, replaced once) and the test groups that must catch it. The mutants are
applied one at a time to a scratch copy of the repository's tracked files
(under the cache, never to the tree itself); for each, the groups run in the
guest as `TESTS=GROUPS make check` does (lint first; a mutated Rust file is
formatted with the kernel's rustfmt first). A mutant is

  killed         the groups report a failure (a failing check, a kernel report;
                 the run is stopped at the first failing check or report),
  survived       they all pass,
  not built      the module does not build or lint rejects it (not a kill),
  not applied    its text is not in the file exactly once (the list is stale),
  no result      the guest gave no summary (a hang, say; GUEST_TIMEOUT=600).

With no ID every mutant runs and the report is written to
results/mutants/report.md (date, commit, each outcome); with IDs only those run,
and their rows of an existing report are replaced (marked "re-run"; the totals
line is not). Logs: $CACHE/mutants/ID.log.

tests/mutants.txt: blocks of

    @@ ID FILE GROUP[,GROUP...]
    what the mutant breaks, in a line
    <<<
    the exact text to replace (one or more lines)
    ===
    its replacement
    >>>
"""

import datetime
import fcntl
import os
import re
import shutil
import signal
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("RUST_PROCMAPS_CACHE", os.path.expanduser("~/.cache/rust_procmaps"))
SCRATCH = os.path.join(CACHE, "mutants")
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed", re.M)
FAILED_CHECK = re.compile(r"^not ok \d+ (\S+)", re.M)
# A kernel report in the guest log (check-guest-log.sh fails the run on it, and more): the
# mutant is killed, and a guest that oopsed may hang until its timeout, so the run stops there.
# Not "Call Trace:" alone: the fault-injection test asks for allocation-failure stack dumps.
KERNEL_REPORT = re.compile(r"(BUG:|Oops|general protection fault|KASAN:|KFENCE:|UBSAN:|"
                           r"WARNING:|DEBUG_LOCKS_WARN_ON|Kernel panic)[^\n]*")


def parse(path):
    """The mutants of @path, in order: dicts of id, file, groups, what, old, new."""
    text = open(path).read()
    mutants = []
    for m in re.finditer(r"^@@ (\S+) (\S+) (\S+)\n([^\n]*)\n<<<\n(.*?)\n===\n(.*?)\n>>>$", text,
                         re.M | re.S):
        mutants.append(dict(id=m[1], file=m[2], groups=m[3], what=m[4], old=m[5], new=m[6]))
    headers = len(re.findall(r"^@@ ", text, re.M))
    if headers != len(mutants):
        sys.exit(f"{path}: {headers} mutants begin, {len(mutants)} parse: check the format")
    ids = [m["id"] for m in mutants]
    if len(set(ids)) != len(ids):
        sys.exit(f"{path}: duplicate mutant IDs")
    return mutants


def scratch_copy():
    """A fresh copy of the repository's tracked files, as they are in the work tree."""
    tree = os.path.join(SCRATCH, "tree")
    shutil.rmtree(tree, ignore_errors=True)
    files = subprocess.run(["git", "-C", REPO, "ls-files", "-z"], check=True,
                           capture_output=True).stdout.decode().split("\0")
    for name in filter(None, files):
        src = os.path.join(REPO, name)
        if os.path.isfile(src):
            os.makedirs(os.path.dirname(os.path.join(tree, name)), exist_ok=True)
            # Fresh times: objects a previous run built from a mutant are older, so rebuilt.
            shutil.copy(src, os.path.join(tree, name))
    return tree


def run(mutant, tree):
    """Apply @mutant to @tree, run its groups, restore the file: (outcome, detail)."""
    target = os.path.join(tree, mutant["file"])
    # The scratch copy's text: the work tree may change while the mutants run.
    original = open(target).read()
    if original.count(mutant["old"]) != 1:
        return "not applied", f"text found {original.count(mutant['old'])} times"
    with open(target, "w") as f:
        f.write(original.replace(mutant["old"], mutant["new"]))
    if target.endswith(".rs"):
        # Formatted as the kernel's rustfmt wants it: a mutant is judged by the tests, not by
        # its layout (the module build checks rustfmt).
        subprocess.run(["bash", "-c", '. scripts/lib.sh && in_root rustfmt --edition 2021 '
                        f'--config-path /build/linux-source-$KSERIES/.rustfmt.toml "$0"', target],
                       cwd=tree, check=True)
    log = os.path.join(SCRATCH, mutant["id"] + ".log")
    # RPM_MUTANT: lint does not ask that the mutants apply to a tree that carries one.
    env = dict(os.environ, TESTS=mutant["groups"], GUEST_TIMEOUT=os.environ.get("GUEST_TIMEOUT", "600"),
               RPM_MUTANT=mutant["id"])
    with open(log, "w") as out:
        # Its own process group, killed whole if we are interrupted: a build or guest left
        # running would write the cache's module and initramfs under the next mutant's run.
        child = subprocess.Popen(["make", "-C", tree, "check"], env=env, stdout=out,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 start_new_session=True)
        try:
            # The first failing check or kernel report decides: the rest of the run is not
            # waited for.
            while child.poll() is None:
                sofar = open(log, errors="replace").read()
                if FAILED_CHECK.search(sofar) or KERNEL_REPORT.search(sofar):
                    os.killpg(child.pid, signal.SIGKILL)
                    child.wait()
                    break
                time.sleep(2)
        except BaseException:
            os.killpg(child.pid, signal.SIGKILL)
            raise
    with open(target, "w") as f:
        f.write(original)
    text = open(log, errors="replace").read()
    summary = SUMMARY.findall(text)
    if not summary and FAILED_CHECK.search(text):
        failing = sorted(set(FAILED_CHECK.findall(text)))
        return "killed", ", ".join(failing) + " (run stopped there)"
    report = KERNEL_REPORT.search(text)
    if not summary and report:
        return "killed", f"kernel report: {report.group(0).strip()} (run stopped there)"
    if summary:
        passed, failed = map(int, summary[-1])
        failing = sorted(set(re.findall(r"^not ok \d+ (\S+)", text, re.M)))
        if failed:
            return "killed", ", ".join(failing) or f"{failed} failed"
        return "survived", f"{passed} passed"
    if re.search(r"module build failed|build has warnings|not rustfmt-clean|checkpatch\.pl --strict found",
                 text):
        return "not built", "build or lint failed"
    return "no result", "no summary line (see the log)"


def update_report(rows):
    """Put the rows of a run of some mutants into the committed report, if there is one: a
    mutant's row replaced (marked "re-run"), a new mutant's row added; the totals recounted."""
    path = os.path.join(REPO, "results", "mutants", "report.md")
    if not os.path.exists(path):
        return
    lines = open(path).read().rstrip("\n").split("\n")
    for m, outcome, detail in rows:
        row = f"| {m['id']} | `{m['file']}` | {m['groups']} | {m['what']} | {outcome} | {detail} (re-run) |"
        at = [i for i, line in enumerate(lines) if line.startswith(f"| {m['id']} |")]
        if at:
            lines[at[0]] = row
        else:
            lines.append(row.replace(" (re-run) |", " |"))
    counts = {}
    for line in lines:
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 6 and re.fullmatch(r"[A-Z]\d+", cells[1]):
            counts[cells[5]] = counts.get(cells[5], 0) + 1
    total = ", ".join(f"{n} {o}" for o, n in sorted(counts.items()))
    lines = [f"Now: {sum(counts.values())} mutants, {total}." if line.startswith("Now: ") else line
             for line in lines]
    if not any(line.startswith("Now: ") for line in lines):
        lines.insert(2, f"Now: {sum(counts.values())} mutants, {total}.\n")
    open(path, "w").write("\n".join(lines) + "\n")


def stale(mutants):
    """The mutants whose text is not in their file (in the work tree) exactly once."""
    return [m["id"] for m in mutants
            if open(os.path.join(REPO, m["file"])).read().count(m["old"]) != 1]


def main():
    mutants = parse(os.path.join(REPO, "tests", "mutants.txt"))
    if sys.argv[1:] == ["--check"]:
        # `make lint`: an edit of the module that leaves a mutant behind fails at once.
        if stale(mutants):
            sys.exit("tests/mutants.txt: not applicable to the module as it is: "
                     + " ".join(stale(mutants)))
        return
    wanted = sys.argv[1:]
    unknown = set(wanted) - {m["id"] for m in mutants}
    if unknown:
        sys.exit("unknown mutants: " + " ".join(sorted(unknown)))
    chosen = [m for m in mutants if not wanted or m["id"] in wanted]
    os.makedirs(SCRATCH, exist_ok=True)
    # One run at a time: the guest's build outputs in the cache are shared.
    lock = open(os.path.join(SCRATCH, "lock"), "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit("another `make mutants` is running")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))
    tree = scratch_copy()
    rows = []
    for m in chosen:
        outcome, detail = run(m, tree)
        rows.append((m, outcome, detail))
        print(f"{m['id']} {outcome}: {m['what']} ({m['file']}; {m['groups']}: {detail})", flush=True)
    counts = {}
    for _, outcome, _ in rows:
        counts[outcome] = counts.get(outcome, 0) + 1
    total = ", ".join(f"{n} {o}" for o, n in sorted(counts.items()))
    print(f"mutants: {len(rows)}: {total}")
    if wanted:
        update_report(rows)
        return
    commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], check=True,
                            capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", REPO, "diff", "--quiet", "HEAD", "--", "module", "tests"]).returncode
    os.makedirs(os.path.join(REPO, "results", "mutants"), exist_ok=True)
    with open(os.path.join(REPO, "results", "mutants", "report.md"), "w") as f:
        f.write(f"# Mutants of the module ({datetime.date.today()}, commit {commit}"
                f"{' with uncommitted changes' if dirty else ''})\n\n")
        f.write(f"`make mutants` (scripts/mutants.py, tests/mutants.txt): {len(rows)} mutants, {total}.\n\n")
        f.write("| id | file | groups | what it breaks | outcome | detail |\n| --- | --- | --- | --- | --- | --- |\n")
        for m, outcome, detail in rows:
            f.write(f"| {m['id']} | `{m['file']}` | {m['groups']} | {m['what']} | {outcome} | {detail} |\n")


if __name__ == "__main__":
    main()
