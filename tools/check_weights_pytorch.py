#!/usr/bin/env python3
"""Check ntkbatch's exported weights in PyTorch (not run in CI: torch is not installed there).

    ntkbatch export-weights RUN --output w.safetensors
    python3 tools/check_weights_pytorch.py RUN w.safetensors [--models-py path/to/models.py]

Loads w.safetensors with safetensors.torch.load_file into the original tool's PyTorch model
(built by name from RUN/manifest.json, with model.load_state_dict(strict=True): every key and
shape must match, num_batches_tracked included), puts it in eval() mode, runs the run's
preprocessed inputs through it and compares with RUN/logits.npy (ntkbatch's logits of the
trained weights). The inputs are rebuilt the way ntkbatch builds them (mnist family: PIL bilinear
resize 28 -> 32, /255, repeated to 3 channels; cifar10: /255 then the normalisation) from the
dataset named in the manifest, first `subsample` training samples.

Needs: torch, torchvision, safetensors, numpy, and a module defining the models of
../shared/spec/models.md (the original tool's models.py; pass it with --models-py; its
constructors are looked up by the manifest's model name, e.g. `lenet` -> `LeNet`).
Exit status 0 when max |logits difference| <= 1e-4 (float32) / 1e-10 (float64).
"""
import argparse, importlib.util, json, os, sys

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("weights")
    ap.add_argument("--models-py", required=True, help="file defining the original PyTorch models")
    ap.add_argument("--constructor", help="constructor name (default: guessed from the model name)")
    args = ap.parse_args()

    import torch
    from safetensors.torch import load_file

    manifest = json.load(open(os.path.join(args.run, "manifest.json")))
    spec = importlib.util.spec_from_file_location("models", args.models_py)
    models = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(models)
    name = manifest["model"]["name"]
    guesses = [args.constructor] if args.constructor else [
        name, name.upper(), {"lenet": "LeNet", "logistic": "Logistic", "twolayer": "TwoLayer"}.get(name, name)]
    ctor = next((getattr(models, g) for g in guesses if g and hasattr(models, g)), None)
    if ctor is None:
        sys.exit(f"no constructor for {name} in {args.models_py}; pass --constructor")
    model = ctor()
    state = load_file(args.weights)
    model.load_state_dict(state, strict=True)
    model.eval()
    dtype = torch.float64 if manifest["ntk"]["precision"] == "float64" else torch.float32
    model.to(dtype)

    from torchvision import datasets, transforms
    ds_name = manifest["dataset"]["name"]
    root = os.path.join(os.path.dirname(os.path.join(args.run, "manifest.json")), manifest["dataset"]["root"])
    n = manifest["dataset"].get("subsample")
    if ds_name in ("mnist", "kmnist", "fmnist"):
        cls = {"mnist": datasets.MNIST, "kmnist": datasets.KMNIST, "fmnist": datasets.FashionMNIST}[ds_name]
        tf = transforms.Compose([transforms.Resize(32), transforms.ToTensor(), transforms.Lambda(lambda x: x.repeat(3, 1, 1))])
    else:
        cls = datasets.CIFAR10
        tf = transforms.Compose([transforms.ToTensor(),
                                 transforms.Normalize((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010))])
    data = cls(root, train=True, download=False, transform=tf)
    n = n or len(data)
    x = torch.stack([data[i][0] for i in range(n)]).to(dtype)
    with torch.no_grad():
        logits = model(x).double().numpy()
    ours = np.load(os.path.join(args.run, "logits.npy"))
    diff = float(np.max(np.abs(logits - ours)))
    tol = 1e-10 if dtype == torch.float64 else 1e-4
    print(f"{name}: {n} samples, max |PyTorch - ntkbatch| logits = {diff:.3g} (tolerance {tol:g})")
    sys.exit(0 if diff <= tol else 1)


if __name__ == "__main__":
    main()
