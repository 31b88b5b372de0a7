#!/usr/bin/env python3
"""Generate the Kubernetes provider's system call catalogue.

Usage: generate.py UNISTD_64_H

UNISTD_64_H is the Linux UAPI header listing the x86-64 system calls, as
Debian's `linux-libc-dev` package installs it
(`/usr/include/x86_64-linux-gnu/asm/unistd_64.h`). Every `#define __NR_name
number` line gives one name. Writes syscalls.txt next to this script: a
header comment naming the kernel version the header came from (if passed as
KERNEL=... in the environment), then one name per line, sorted.

These are the names a seccomp profile can allow on x86-64; an unconfined
container may make any of them. Python 3 standard library only; the output
is deterministic.
"""

import os
import re
import sys
from pathlib import Path


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    header = Path(sys.argv[1]).read_text()
    names = sorted(set(re.findall(r"^#define __NR_(\w+)\s+\d+", header, re.M)))
    if len(names) < 300:
        sys.exit(f"only {len(names)} system calls found in {sys.argv[1]}: not unistd_64.h?")
    kernel = os.environ.get("KERNEL", "unknown")
    out = Path(__file__).with_name("syscalls.txt")
    lines = [f"# Linux x86-64 system calls, from unistd_64.h of linux-libc-dev {kernel}"]
    out.write_text("\n".join(lines + names) + "\n")
    print(f"{out.name}: {len(names)} system calls")


if __name__ == "__main__":
    main()
