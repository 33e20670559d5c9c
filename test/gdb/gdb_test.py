"""The gdb extension (tools/gdb/grove_gdb.py) against test/gdb/gdb_target.

gdb runs gdb_target until it aborts with its greenlets parked (a live process),
lists them, prints their backtraces, and writes a core file with `gcore`; a
second gdb then does the same from that core file alone. When the kernel's
core_pattern writes plain files, a core the kernel dumped is checked as well
(a pattern that pipes to a handler, as systemd-coredump's does, is skipped).

Usage: gdb_test.py GDB GROVE_GDB_PY GDB_TARGET [cores|no-cores]
(no-cores: a sanitized build, where only the live process is checked.)
"""
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

GDB, EXTENSION, TARGET = sys.argv[1], sys.argv[2], os.path.abspath(sys.argv[3])
CORES = len(sys.argv) < 5 or sys.argv[4] == "cores"

# name -> (state, what it waits on (a regex), a function its backtrace must show)
EXPECTED = {
    "sleeper": ("waiting", r"sleep, with timeout$", "gdb_target_sleeper"),
    "event-waiter": ("waiting", r"Event 0x[0-9a-f]+$", "gdb_target_event_waiter"),
    "queue-getter": ("waiting", r"Queue\.get 0x[0-9a-f]+$", "gdb_target_queue_getter"),
    "joiner": ("waiting", r"join event-waiter 0x[0-9a-f]+$", "gdb_target_joiner"),
    "second-thread-waiter": ("waiting", r"Event 0x[0-9a-f]+, with timeout$", "gdb_target_second_thread"),
    "woken": ("ready", r"Event 0x[0-9a-f]+, woken$", "gdb_target_woken"),
    "never-begins": ("scheduled", r"-$", None),
}
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)


def run_gdb(label, args, commands):
    cmd = [GDB, "-batch", "-nx", "-ex", "set pagination off", "-x", EXTENSION]
    for c in commands:
        cmd += ["-ex", c]
    env = dict(os.environ)
    env.pop("DEBUGINFOD_URLS", None)  # no network look-ups for libc's debug info
    began = time.monotonic()
    result = subprocess.run(cmd + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=90,
                            env=env)
    print("==== %s: gdb exited %d after %.1f s ====\n%s" % (label, result.returncode, time.monotonic() - began,
                                                          result.stdout))
    # (libstdc++'s pretty printers may print "Python Exception" for an optimized-out argument in a plain bt.)
    check("Error occurred in Python" not in result.stdout and "Traceback" not in result.stdout,
          "%s: the extension raised a Python error" % label)
    return result.stdout


def sections(output):
    """`grove bt` output: greenlet name -> its backtrace text."""
    found = {}
    for block in re.split(r"^(?=greenlet #\d+ )", output, flags=re.M):
        m = re.match(r"greenlet #\d+ (\S+) ", block)
        if m:
            found.setdefault(m.group(1), []).append(block)
    return found


def check_session(label, output):
    listing = {}
    for m in re.finditer(r"^\s+#(\d+)\s+0x[0-9a-f]+ (\S+)\s+(\S+)\s+(.*?)(?:  runs .*)?$", output, flags=re.M):
        listing.setdefault(m.group(2), (m.group(3), m.group(4)))
    check(len(re.findall(r"^hub 0x[0-9a-f]+, thread \d+ \(LWP \d+\)", output, flags=re.M)) == 2,
          "%s: `grove greenlets` should list two hubs, each with its thread" % label)
    backtraces = sections(output)
    for name, (state, waits, function) in EXPECTED.items():
        got = listing.get(name)
        check(got is not None, "%s: %s is not listed" % (label, name))
        if got:
            check(got[0] == state, "%s: %s is %s, expected %s" % (label, name, got[0], state))
            check(re.match(waits, got[1]), "%s: %s waits on %r, expected /%s/" % (label, name, got[1], waits))
        if function:
            text = "".join(backtraces.get(name, []))
            check(re.search(r"^#\d+ +0x[0-9a-f]+ in .*\b%s\b" % function, text, flags=re.M),
                  "%s: the backtrace of %s does not show %s" % (label, name, function))
            check("grove::detail::context_switch" in text,
                  "%s: the backtrace of %s does not start at the switch" % (label, name))
    # The second thread's main greenlet waits in join, on the thread's own stack.
    check(any("second_thread_main" in b and "start_thread" in b for b in backtraces.get("MainGreenlet", [])),
          "%s: the second thread's main greenlet's backtrace is missing" % label)
    # `grove bt NAME` prints that one greenlet only.
    single = output.split("@@single@@", 1)[-1].split("@@select@@", 1)[0]
    check("gdb_target_joiner" in single and "gdb_target_sleeper" not in single,
          "%s: `grove bt joiner` should print the joiner's backtrace only" % label)
    # `grove select` makes plain `bt` walk the greenlet's stack.
    selected, rest = output.split("@@select@@", 1)[-1].split("@@after@@", 1)
    after, none = rest.split("@@none@@", 1)
    check(re.search(r"^#\d+ .*gdb_target_queue_getter", selected, flags=re.M),
          "%s: `grove select queue-getter` then `bt` does not show gdb_target_queue_getter" % label)
    check(re.search(r"^#\d+ .*gdb_target_queue_getter", after, flags=re.M),
          "%s: `grove bt sleeper` ended the selection of queue-getter" % label)
    check("gdb_target_queue_getter" not in none and re.search(r"^#\d+ .*\bmain\b", none, flags=re.M),
          "%s: after `grove select none`, `bt` is not the thread's own" % label)


COMMANDS = ["grove greenlets", "grove bt", "echo @@single@@\\n", "grove bt joiner", "echo @@select@@\\n",
            "grove select queue-getter", "bt", "grove bt sleeper", "echo @@after@@\\n", "bt",
            "grove select none", "echo @@none@@\\n", "bt"]

with tempfile.TemporaryDirectory(prefix="grove-gdb-") as tmp:
    live = run_gdb("live process", ["--args", TARGET], ["run"] + COMMANDS)
    check("every greenlet is parked" in live, "live: gdb_target did not reach its abort")
    check_session("live", live)

    if not CORES:
        print("core files: not checked in a sanitized build")
    else:
        # gdb's gcore reads memory 1 MiB at a time, and a read that touches a
        # guard page installed inside a mapping (MADV_GUARD_INSTALL, grove's stack
        # arenas on Linux 6.13+) fails whole: the core would hold no greenlet
        # stacks. With GROVE_NO_GUARD_INSTALL=1 every guard is a mapping of its own.
        core = os.path.join(tmp, "gcore")
        live = run_gdb("live process, separate guard mappings", ["--args", TARGET],
                       ["set environment GROVE_NO_GUARD_INSTALL=1", "run"] + COMMANDS + ["gcore " + core])
        check_session("live, separate guard mappings", live)
        check(os.path.exists(core), "gcore wrote no core file")
        if os.path.exists(core):
            check_session("gcore core file", run_gdb("gcore core file", [TARGET, core], COMMANDS))

        pattern = open("/proc/sys/kernel/core_pattern").read().strip()
        if pattern.startswith("|") or "/" in pattern:
            print("kernel core: skipped (core_pattern %r pipes to a handler or writes elsewhere)" % pattern)
        else:
            def unlimited_core():  # as `ulimit -c unlimited`, up to the hard limit
                hard = resource.getrlimit(resource.RLIMIT_CORE)[1]
                resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))
            kdir = os.path.join(tmp, "kernel")
            os.mkdir(kdir)
            subprocess.run([TARGET], cwd=kdir, preexec_fn=unlimited_core, stdout=subprocess.DEVNULL, timeout=60)
            cores = [os.path.join(kdir, f) for f in os.listdir(kdir)]
            if not cores:
                print("kernel core: skipped (no core file was written; RLIMIT_CORE hard limit?)")
            else:
                check_session("kernel core file", run_gdb("kernel core file", [TARGET, cores[0]], COMMANDS))

if failures:
    print("FAILED:\n  " + "\n  ".join(failures))
    sys.exit(1)
print("ok")
