"""The original tool's eNTK method, as the peer column of `tools/bench --peer`.

For n images (float32 raw file of [n, 3, 32, 32], the same inputs ntkbatch-bench uses): the
Jacobian of every block of b samples with torch.func `vmap(jacrev(f))` (per parameter
[b, 10, *shape]), all block Jacobians cached, then for every block pair (I, J ≥ I) of the upper
triangle the tile Σ_p J_I,p J_J,pᵀ (per-parameter products summed). Runs b = 8 and b = 16 and
prints the best: one line `key=value` with seconds, pairs/s (n(n+1)/2 over seconds), the
Jacobian and contraction seconds, the CPU seconds of all threads (`time.process_time`) and the
peak resident memory (VmHWM). Threads: 2 (torch).
Usage: bench.py MODEL WIDTH N INPUTS_FILE"""
import resource
import sys
import time
import os

import numpy as np
import torch
from torch.func import functional_call, jacrev, vmap

sys.path.insert(0, os.path.dirname(__file__))
import models  # noqa: E402


def run(model, x, block):
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def f(p, sample):
        return functional_call(model, (p, buffers), (sample.unsqueeze(0),)).squeeze(0)

    jac = vmap(jacrev(f), in_dims=(None, 0))
    n = x.shape[0]
    start = time.perf_counter()
    cpu_start = time.process_time()
    blocks = []
    for s in range(0, n, block):
        j = jac(params, x[s:s + block])
        blocks.append([v.reshape(v.shape[0] * v.shape[1], -1) for v in j.values()])
    jacobian_s = time.perf_counter() - start
    checksum = 0.0
    for i in range(len(blocks)):
        for k in range(i, len(blocks)):
            tile = None
            for a, b in zip(blocks[i], blocks[k]):
                product = a @ b.T
                tile = product if tile is None else tile + product
            checksum += float(tile[0, 0])
    seconds = time.perf_counter() - start
    return seconds, jacobian_s, checksum, time.process_time() - cpu_start


def main():
    name, width, n, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    torch.set_num_threads(2)
    torch.manual_seed(0)
    model = models.make(name, width).float().eval()
    x = torch.from_numpy(np.fromfile(path, dtype=np.float32, count=n * 3072).reshape(n, 3, 32, 32))
    best = None
    for block in (8, 16):
        if block > n and best is not None:
            continue
        with torch.no_grad():
            seconds, jacobian_s, checksum, cpu = run(model, x, block)
        if best is None or seconds < best[0]:
            best = (seconds, jacobian_s, block, cpu)
    seconds, jacobian_s, block, cpu = best
    pairs = n * (n + 1) / 2
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10
    print(f"peer_seconds={seconds:.3f} peer_pairs_per_s={pairs / seconds:.2f} peer_jacobian_s={jacobian_s:.3f} "
          f"peer_contraction_s={seconds - jacobian_s:.3f} peer_cpu_s={cpu:.3f} peer_block={block} peer_peak_rss_mib={peak} torch={torch.__version__}")


if __name__ == "__main__":
    main()
