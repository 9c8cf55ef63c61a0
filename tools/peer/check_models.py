"""Checks tools/peer/models.py against the fixtures in Tests/Fixtures: each model's weights load
with load_state_dict(strict=True) and its float64 logits are within 1e-10 (relative Frobenius) of
logits.npy. Exit 1 on any mismatch. Usage: check_models.py [FIXTURES_DIR]"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import models  # noqa: E402


def safetensors(path):
    """The tensors of a .safetensors file (format: u64 header size, JSON header, raw data)."""
    raw = open(path, "rb").read()
    size = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + size])
    dtypes = {"F32": np.float32, "F64": np.float64, "I64": np.int64}
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        start, end = entry["data_offsets"]
        array = np.frombuffer(raw[8 + size + start:8 + size + end], dtype=dtypes[entry["dtype"]])
        out[name] = torch.from_numpy(array.reshape(entry["shape"]).copy())
    return out


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../Tests/Fixtures")
    failures = 0
    for folder in ["lenet-w0", "resnet18-w4", "resnet50-w2", "wrn-28-2-w0"]:
        meta = json.load(open(os.path.join(root, folder, "meta.json")))
        model = models.make(meta["model"], meta.get("width") or 0).double().eval()
        state = {k: v.double() for k, v in safetensors(os.path.join(root, folder, "weights.safetensors")).items()}
        for key, value in model.state_dict().items():
            if key.endswith("num_batches_tracked"):
                state[key] = torch.zeros_like(value)
        model.load_state_dict(state, strict=True)
        inputs = torch.from_numpy(np.load(os.path.join(root, folder, "inputs.npy"))).double()
        reference = np.load(os.path.join(root, folder, "logits.npy"))
        with torch.no_grad():
            logits = model(inputs).numpy()
        error = np.linalg.norm(logits - reference) / np.linalg.norm(reference)
        ok = error <= 1e-10
        failures += not ok
        print(f"{folder}: strict load ok, float64 logits relative error {error:.2e} {'ok' if ok else 'FAIL (> 1e-10)'}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
