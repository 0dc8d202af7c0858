"""prediris_ops.core.processes: what a process holds, and whether a pid still runs the program we started."""

import subprocess
import sys

import pytest

from prediris_ops.core.errors import OpsError
from prediris_ops.core.processes import process_usage, runs_program

ALLOCATE = "import time; block = bytearray(64 * 1024 * 1024); block[::4096] = b'x' * len(block[::4096]); print(flush=True); time.sleep(60)"


def test_usage_reads_resident_memory_threads_and_cpu_time_of_a_live_process():
    process = subprocess.Popen([sys.executable, "-c", ALLOCATE], stdout=subprocess.PIPE)
    try:
        process.stdout.readline()  # the block is allocated and touched
        usage = process_usage(process.pid)
    finally:
        process.kill()
        process.wait()
        process.stdout.close()
    assert usage.rss_kib > 64 * 1024
    assert usage.threads >= 1
    assert usage.cpu_seconds > 0


def test_usage_of_a_process_that_is_gone_names_it():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    with pytest.raises(OpsError, match=rf"process {process.pid} is gone"):
        process_usage(process.pid)


def test_a_process_runs_its_program_from_the_moment_popen_returns():
    # Checked at once, many times: the command line can still be empty then, the executable cannot.
    for _ in range(20):
        process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        try:
            assert runs_program(process.pid, sys.executable)
            assert not runs_program(process.pid, "/usr/bin/prometheus")
        finally:
            process.kill()
            process.wait()
        assert not runs_program(process.pid, sys.executable)
