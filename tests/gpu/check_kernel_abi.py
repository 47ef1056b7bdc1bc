#!/usr/bin/env python3
"""check_kernel_abi.py PERFTC PROGRAM... — the host side and the GPU side of the CUDA target agree.

For each program, from `perftc --target=cuda --emit=llvm` (the host code) and `--emit=ptx` (the
kernels): every mgpuLaunchKernel call names, through the mgpuModuleGetFunction before it, a kernel
that the PTX defines (`.visible .entry`), passes as many parameters as that entry declares (both
sides use bare pointers for memrefs: gpu-to-llvm and convert-gpu-to-nvvm must agree), and launches
at least one block of 1 to 1024 threads (a grid given by a constant is checked; others are computed
at run time). This is the part of a launch that only a GPU run would otherwise check.
"""
import re
import subprocess
import sys


def run(*args):
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def check(perftc, program):
    ptx = run(perftc, program, "--target=cuda", "--emit=ptx")
    llvm = run(perftc, program, "--target=cuda", "--emit=llvm")
    entries = {}
    for match in re.finditer(r"^\.visible \.entry (\w+)\(([^)]*)\)", ptx, re.M):
        entries[match.group(1)] = len(re.findall(r"\.param ", match.group(2)))
    names = dict(re.findall(r'^@(\w+) = [^"\n]*c"(\w+)\\00"', llvm, re.M))
    functions, problems, launches = {}, [], 0
    for line in llvm.splitlines():
        got = re.search(r"(%\w+) = call ptr @mgpuModuleGetFunction\(ptr %\w+, ptr (?:nonnull )?@(\w+)\)", line)
        if got:
            functions[got.group(1)] = names.get(got.group(2), "?" + got.group(2))
            continue
        launch = re.search(r"call void @mgpuLaunchKernel\(ptr (%\w+), (.*), i64 (\d+)\)$", line)
        if not launch:
            continue
        launches += 1
        kernel = functions.get(launch.group(1), "?")
        count = int(launch.group(3))
        sizes = launch.group(2).split(", ")[:6]
        if kernel not in entries:
            problems.append(f"a launch of {kernel}, which the PTX does not define")
        elif entries[kernel] != count:
            problems.append(f"{kernel}: the host passes {count} parameters, the kernel takes {entries[kernel]}")
        for axis, size in zip("xyzxyz", sizes):
            value = re.fullmatch(r"i64 (-?\d+)", size)
            if value and not 1 <= int(value.group(1)) <= 1024:
                problems.append(f"{kernel}: a grid or block size of {value.group(1)} ({axis})")
    if launches == 0 or not entries:
        problems.append(f"no launches ({launches}) or no kernels ({len(entries)}) found")
    return launches, len(entries), problems


def main():
    perftc, programs = sys.argv[1], sys.argv[2:]
    failed = 0
    for program in programs:
        launches, kernels, problems = check(perftc, program)
        name = program.rsplit("/", 1)[-1]
        if problems:
            failed += 1
            print(f"FAIL {name}: " + "; ".join(problems[:5]))
        else:
            print(f"PASS {name}: {launches} launches of {kernels} kernels, parameters and sizes agree")
    print(f"kernel abi: {len(programs) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
