"""svg.runtime: freed large CPU tensors are reused without new page faults."""
import json
import subprocess
import sys

import pytest

# Allocates, touches and frees a 256 MB tensor CYCLES times; reports each cycle's minor page
# faults in units of the tensor's pages.
CYCLES = 16
PROBE = f"""
import json, resource, sys, torch
from svg.runtime import keep_freed_memory
kept = keep_freed_memory() if sys.argv[1] == "keep" else False
faults = []
for i in range({CYCLES}):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    torch.empty(64 * 2**20).fill_(2.0)
    faults.append((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 65536)
print(json.dumps({{"kept": kept, "faults": faults}}))
"""


def _faults_per_cycle(mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc on Linux only")
def test_freed_memory_is_reused_without_page_faults():
    default, kept = _faults_per_cycle("default"), _faults_per_cycle("keep")
    if not kept["kept"]:
        pytest.skip("not glibc: keep_freed_memory changes nothing here")
    # glibc maps a tensor this large anew each time: a fault for every page, every cycle
    assert min(default["faults"]) > 0.9
    # kept: the heap grows for the first few cycles (small allocations split freed blocks),
    # then every cycle reuses freed memory
    assert max(kept["faults"][CYCLES // 2:]) < 0.01, kept["faults"]
