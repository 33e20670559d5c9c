#!/usr/bin/env python3
"""Instructions per operation of one Google Benchmark, under callgrind.

    callgrind_per_op.py BINARY FILTER BM_FUNCTION PER_OP_FUNCTION CALLS_PER_OP

Runs BINARY --benchmark_filter=FILTER under callgrind, then prints the
inclusive instruction count of BM_FUNCTION divided by the number of calls
made to PER_OP_FUNCTION (anywhere in the program) over CALLS_PER_OP. Dividing
by call counts instead of Google Benchmark's reported iterations keeps its
calibration runs out of the figure. Instruction counts do not depend on the
machine's load, which is why bench/RESULTS.md uses them to compare trees.
"""
import os
import re
import subprocess
import sys
import tempfile


def main(argv):
    if len(argv) != 6:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    binary, pattern, bm_function, op_function, per_op = argv[1:5] + [float(argv[5])]
    out = os.path.join(tempfile.mkdtemp(prefix="cg-"), "callgrind.out")
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", binary,
                    f"--benchmark_filter={pattern}", "--benchmark_min_time=0.3"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    annotated = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", out],
                               capture_output=True, text=True, check=True).stdout
    inclusive = None
    for line in annotated.splitlines():
        if bm_function + "(" in line:
            m = re.match(r"\s*([\d,]+)", line)
            if m:
                inclusive = int(m.group(1).replace(",", ""))
                break
    # Callgrind compresses names: "cfn=(12) name" the first time, "cfn=(12)" after.
    names, calls, callee = {}, 0, None
    with open(out) as f:
        for line in f:
            m = re.match(r"c?fn=\((\d+)\)(?: (.*))?", line)
            if m:
                if m.group(2):
                    names[m.group(1)] = m.group(2)
                callee = names.get(m.group(1), "") if line.startswith("cfn=") else None
                continue
            if line.startswith("calls=") and callee is not None:
                if callee == op_function or callee.startswith(op_function + "("):
                    calls += int(line.split("=")[1].split()[0])
                callee = None
    if not inclusive or not calls:
        print(f"{pattern}: not found (inclusive={inclusive}, calls={calls})", file=sys.stderr)
        return 1
    print(f"{pattern}: {inclusive / (calls / per_op):.0f} instructions per op "
          f"(inclusive {inclusive}, {calls} calls to {op_function})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
