#!/usr/bin/env python3
"""A first look at an eNTK: spectrum, heat map, class-block mean, kernel regression.

    tools/inspect.py RUN-or-ARRAY [--test RUN2] --output report.png

RUN is an ntkbatch run directory (RUN/manifest.json says the dataset and `ntk.kernel`; labels
come from RUN/labels.npy, the network's outputs from RUN/logits.npy). Its matrix is assembled
with `ntkbatch assemble RUN --output <temporary folder>/G.npy` (the binary: --ntkbatch PATH,
else $NTKBATCH, else .build/release/ntkbatch of this repository, else `ntkbatch` on the PATH),
unless --matrix names an assembled .npy or .zarr of the same run. ARRAY is an assembled
`.npy` (memory-mapped) or Zarr array (read chunk by chunk); --labels FILE.npy gives its labels
and --kernel its kind when it is not `full`.

Kernels (the shapes `ntkbatch assemble` writes):
  full      (n*10, n*10), element [i*10 + a, j*10 + b]
  trace     (n, n), sum over a of the full kernel's [i*10 + a, j*10 + a]
  pseudo    (n, n), the eNTK of sum_a f_a / sqrt(10)
  diagonal  (n, 10, 10), block i = k(x_i, x_i)

The figure (and stdout, with the numbers):
  1. eigenvalue spectrum, largest first, log scale (diagonal: the eigenvalues of all n blocks);
  2. heat map of the kernel over the first 100 samples, sorted by class (diagonal: the
     diagonals of their blocks);
  3. class-block mean kernel: M[c, d] = mean over samples i of class c and j of class d of the
     sample-level kernel, trace_a k(x_i, x_j)[a, a] (full; trace and pseudo: the kernel itself;
     diagonal: the mean 10 x 10 block k(x, x) over all samples);
  4. with --test RUN2 (a cross run: RUN2's `dataset` equals RUN's, its `columns` are the test
     samples, same `ntk.kernel`): kernel-regression test accuracy, predictions
     K(test, train) (K(train, train) + lambda I)^-1 Y with Y = one-hot - 0.1 (flattened to
     [n*10] for full, [n, 10] for trace and pseudo), next to the network's own accuracy from
     RUN2/columns-logits.npy and RUN2/columns-labels.npy.

Refused in one line (exit 2) before any expensive step (arguments and RUN2 are checked first):
an --output that is not a .png or whose folder does not exist; a cross kernel (Zarr attribute
cross, nColumns, samples rows != columns, or rows != columns in the shape) as the array or
--matrix; a class subset (attribute classes other than 0...9); labels whose count is not the
sample count of the shape; a --matrix whose weightsHash/manifestHash/inputDataHash attributes are
not RUN's journal identity (`ntkbatch status RUN --json`) or whose shape is not RUN's; a --test RUN2
whose journal weightsHash is not RUN's, or whose model.name/model.width are not RUN's (its seed,
train and weights path are not compared: a cross run made from the exported weights of a trained
RUN is the same network when the weightsHash is equal).

NumPy and Matplotlib (and zarr for Zarr arrays) come from PyPI into a virtual environment the
script creates on first use: $NTKBATCH_INSPECT_VENV, default .build/inspect-venv in this
repository; the script then runs itself again inside it.
"""
import os
import sys

# This file is named like the standard library's `inspect` (which NumPy imports): take its own
# folder off the module path before anything else is imported.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402

REPO = os.path.dirname(_HERE)
VENV = os.environ.get("NTKBATCH_INSPECT_VENV") or os.path.join(REPO, ".build", "inspect-venv")
PACKAGES = ["numpy", "matplotlib"]
CLASSES = 10


def fail(message, code=2):
    """One line on stderr, then exit (2: bad input, 1: failure)."""
    sys.stderr.write(f"inspect.py: error: {message}\n")
    sys.exit(code)


# --- the virtual environment ------------------------------------------------------------------

def in_venv():
    return os.path.realpath(sys.prefix) == os.path.realpath(VENV)


def venv_python():
    return os.path.join(VENV, "bin", "python")


def venv_has(modules):
    python = venv_python()
    if not os.access(python, os.X_OK):
        return False
    probe = subprocess.run([python, "-c", "import " + ", ".join(modules)], capture_output=True)
    return probe.returncode == 0


def ensure_venv(need_zarr):
    """Creates VENV with numpy + matplotlib (+ zarr) from PyPI unless they already import."""
    modules = ["numpy", "matplotlib"] + (["zarr"] if need_zarr else [])
    if venv_has(modules):
        return
    if not os.access(venv_python(), os.X_OK):
        made = subprocess.run([sys.executable, "-m", "venv", VENV], capture_output=True, text=True)
        if made.returncode != 0:
            fail(f"cannot create a virtual environment at {VENV} with {sys.executable} -m venv "
                 f"(Debian: apt-get install python3-venv): {made.stderr.strip() or made.stdout.strip()}", 1)
    packages = PACKAGES + (["zarr"] if need_zarr else [])
    sys.stderr.write(f"inspect.py: installing {', '.join(packages)} from PyPI into {VENV} (first use)\n")
    pip = subprocess.run([venv_python(), "-m", "pip", "install", "--quiet"] + packages, capture_output=True, text=True)
    if pip.returncode != 0 or not venv_has(modules):
        fail(f"cannot install {', '.join(packages)} from PyPI into {VENV}: {(pip.stderr or pip.stdout).strip()[-2000:]}", 1)


# --- reading ----------------------------------------------------------------------------------

def is_zarr(path):
    return path.rstrip("/").endswith(".zarr") or any(
        os.path.exists(os.path.join(path, name)) for name in ("zarr.json", ".zarray"))


def is_run(path):
    return os.path.isdir(path) and os.path.exists(os.path.join(path, "manifest.json")) and \
        os.path.isdir(os.path.join(path, "journal"))


def open_array(path):
    """The array at path, lazily: a memory-mapped .npy or a Zarr array."""
    import numpy as np
    if is_zarr(path):
        import zarr
        return zarr.open_array(path, mode="r")
    if not os.path.isfile(path):
        fail(f"{path}: no such .npy file or Zarr array")
    try:
        return np.load(path, mmap_mode="r")
    except Exception as error:  # numpy raises ValueError/OSError for a damaged header
        fail(f"{path}: not a readable .npy ({error})")


def read_manifest(run):
    path = os.path.join(run, "manifest.json")
    try:
        with open(path) as handle:
            return json.load(handle)
    except (OSError, ValueError) as error:
        fail(f"{path}: {error}")


def kernel_of(manifest):
    return manifest.get("ntk", {}).get("kernel", "full")


def find_ntkbatch(option):
    for candidate in (option, os.environ.get("NTKBATCH"), os.path.join(REPO, ".build", "release", "ntkbatch")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("ntkbatch")
    if found:
        return found
    fail("no ntkbatch binary: pass --ntkbatch PATH or set $NTKBATCH (or build .build/release/ntkbatch)")


def assemble(run, ntkbatch, folder, name):
    """`ntkbatch assemble RUN --output folder/name.npy`; returns the path."""
    output = os.path.join(folder, name + ".npy")
    done = subprocess.run([ntkbatch, "assemble", run, "--output", output, "--progress", "none"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        fail(f"ntkbatch assemble {run} failed (exit {done.returncode}): {done.stderr.strip()}", 1)
    return output


def read_vector(path, what, dtype_kind, shape0=None):
    """A small .npy in a run directory (labels, logits), with a clear message when missing."""
    import numpy as np
    if not os.path.exists(path):
        fail(f"{path} missing ({what}); `ntkbatch run` on that run directory with this version writes it "
             f"without computing any tile again")
    array = np.load(path)
    if array.dtype.kind != dtype_kind or (shape0 is not None and array.shape[0] != shape0):
        fail(f"{path}: holds {array.dtype} {array.shape}, expected {what}")
    return array


def run_identity(run, ntkbatch):
    """RUN's journal identity (`ntkbatch status RUN --json`): weightsHash, manifestHash, sampleCount, ..."""
    done = subprocess.run([ntkbatch, "status", run, "--json"], capture_output=True, text=True)
    if done.returncode != 0:
        fail(f"ntkbatch status {run} failed (exit {done.returncode}): {done.stderr.strip()}", 1)
    try:
        identity = json.loads(done.stdout).get("identity")
    except ValueError as error:
        fail(f"ntkbatch status {run} --json: not JSON ({error})", 1)
    if not isinstance(identity, dict):
        fail(f"{run}: no tile computed yet (its journal has no identity); run `ntkbatch run` first")
    return identity


def hash_of(value):
    """A ContentHash as JSON: its hex string (or an object holding one)."""
    if isinstance(value, dict):
        value = value.get("hex")
    return value if isinstance(value, str) else None


def attributes_of(path, G):
    """The Zarr attributes `ntkbatch assemble` writes (none for a .npy)."""
    attrs = getattr(G, "attrs", None)
    return dict(attrs) if attrs is not None else {}


def refuse_unusable(path, G, attrs, what):
    """One line, exit 2, for an array that is not a whole symmetric eNTK of 10 classes: a cross
    kernel (attribute cross or nColumns, or rows and columns of different samples) or a
    class subset (`assemble --classes`)."""
    samples = attrs.get("samples") or {}
    rows, columns = samples.get("rows"), samples.get("columns")
    if attrs.get("cross") or "nColumns" in attrs or (rows is not None and columns is not None and rows != columns):
        fail(f"{what} {path}: a cross kernel K(rows, columns) (Zarr attributes cross "
             f"{attrs.get('cross')!r}, samples {samples}), not a symmetric eNTK; give it to --test as a cross run directory")
    classes = attrs.get("classes")
    # trace and pseudo arrays have one value per sample pair and no `classes` attribute.
    if classes is not None and attrs.get("kernel") not in ("trace", "pseudo") and list(classes) != list(range(CLASSES)):
        fail(f"{what} {path}: holds the classes {list(classes)} only (`assemble --classes`); "
             f"inspect needs all {CLASSES} classes: assemble without --classes")
    if len(G.shape) == 2 and G.shape[0] != G.shape[1]:
        fail(f"{what} {path}: shape {tuple(G.shape)} has rows != columns: a cross kernel, not a symmetric eNTK")


def expected_shape(identity):
    """The shape `ntkbatch assemble` writes for a run with this journal identity."""
    n, kernel = identity.get("sampleCount"), identity.get("kernel", "full")
    m = identity.get("outputsPerSample", CLASSES)
    if kernel == "diagonal":
        return (n, m, m)
    return (n * m, n * m) if kernel == "full" else (n, n)


# --- the numbers -------------------------------------------------------------------------------

def sample_count(kernel, shape):
    if kernel == "full":
        if len(shape) != 2 or shape[0] != shape[1] or shape[0] % CLASSES:
            fail(f"a full kernel is (n*10, n*10), found shape {tuple(shape)}")
        return shape[0] // CLASSES
    if kernel in ("trace", "pseudo"):
        if len(shape) != 2 or shape[0] != shape[1]:
            fail(f"a {kernel} kernel is (n, n), found shape {tuple(shape)}")
        return shape[0]
    if kernel == "diagonal":
        if len(shape) != 3 or tuple(shape[1:]) != (CLASSES, CLASSES):
            fail(f"a diagonal kernel is (n, 10, 10), found shape {tuple(shape)}")
        return shape[0]
    fail(f"ntk.kernel: expected full, trace, pseudo or diagonal, found {kernel!r}")


def spectrum(G, kernel, n, max_size):
    """Eigenvalues, largest first (float64 numpy.linalg.eigvalsh), and what they are of."""
    import numpy as np
    if kernel == "diagonal":
        blocks = np.asarray(G[:], dtype=np.float64)
        return np.sort(np.linalg.eigvalsh(blocks).ravel())[::-1], f"the {n} diagonal blocks, pooled"
    side = G.shape[0]
    if side <= max_size:
        return np.linalg.eigvalsh(np.asarray(G[:], dtype=np.float64))[::-1], f"the whole {side} x {side} matrix"
    per = CLASSES if kernel == "full" else 1
    keep = (max_size // per) * per
    block = np.asarray(G[:keep, :keep], dtype=np.float64)
    return np.linalg.eigvalsh(block)[::-1], f"the leading {keep} x {keep} block (first {keep // per} samples; --max-eig-size)"


def heat(G, kernel, labels, samples):
    """The kernel over the first `samples` samples, sorted by class (stable), and their labels."""
    import numpy as np
    order = np.argsort(labels[:samples], kind="stable") if labels is not None else np.arange(samples)
    if kernel == "full":
        block = np.asarray(G[:samples * CLASSES, :samples * CLASSES], dtype=np.float64)
        rows = (order[:, None] * CLASSES + np.arange(CLASSES)[None, :]).ravel()
        return block[np.ix_(rows, rows)], order
    if kernel == "diagonal":
        blocks = np.asarray(G[:samples], dtype=np.float64)
        return np.stack([np.diag(b) for b in blocks])[order], order
    block = np.asarray(G[:samples, :samples], dtype=np.float64)
    return block[np.ix_(order, order)], order


def class_block_mean(G, kernel, labels, n, band=1000):
    """M[c, d]: mean sample-level kernel over class c x class d, read in bands of rows."""
    import numpy as np
    if kernel == "diagonal":
        return np.asarray(G[:], dtype=np.float64).mean(axis=0)
    onehot = np.zeros((n, CLASSES))
    onehot[np.arange(n), labels[:n]] = 1
    total = np.zeros((CLASSES, CLASSES))
    for start in range(0, n, band):
        stop = min(n, start + band)
        if kernel == "full":
            rows = np.asarray(G[start * CLASSES:stop * CLASSES, :], dtype=np.float64)
            rows = rows.reshape(stop - start, CLASSES, n, CLASSES)
            level = np.einsum("iaja->ij", rows)  # trace over the matching classes
        else:
            level = np.asarray(G[start:stop, :], dtype=np.float64)
        total += onehot[start:stop].T @ level @ onehot
    counts = onehot.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / np.outer(counts, counts)


def kernel_regression(G, K, kernel, labels, test_labels, ridge):
    """Test accuracy of K(test, train) (G + lambda I)^-1 (one-hot - 0.1); lambda = ridge * mean diagonal."""
    import numpy as np
    n = labels.shape[0]
    Y = np.eye(CLASSES)[labels] - 0.1
    train = np.array(G[:], dtype=np.float64)  # a copy: the ridge is added in place (a float64 .npy maps read-only)
    lam = ridge * float(np.mean(np.diag(train)))
    train[np.diag_indices_from(train)] += lam
    cross = np.asarray(K[:], dtype=np.float64)  # K(train rows, test columns)
    if kernel == "full":
        alpha = np.linalg.solve(train, Y.reshape(n * CLASSES))
        predictions = (cross.T @ alpha).reshape(-1, CLASSES)
    else:
        alpha = np.linalg.solve(train, Y)
        predictions = cross.T @ alpha
    accuracy = float(np.mean(np.argmax(predictions, axis=1) == test_labels))
    return accuracy, lam


def accuracy_of(logits, labels):
    import numpy as np
    return float(np.mean(np.argmax(logits, axis=1) == labels))


# --- main --------------------------------------------------------------------------------------

def parse():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("target", help="a run directory, or an assembled .npy / Zarr array")
    parser.add_argument("--output", required=True, help="the PNG to write")
    parser.add_argument("--test", metavar="RUN2", help="a cross run (rows: RUN's dataset, columns: test samples)")
    parser.add_argument("--matrix", help="RUN's already assembled .npy or Zarr (instead of assembling it)")
    parser.add_argument("--labels", help="labels [n] of an ARRAY target (.npy of integers)")
    parser.add_argument("--kernel", choices=["full", "trace", "pseudo", "diagonal"],
                        help="kind of an ARRAY target without Zarr attributes (a run says it in its manifest and may "
                             "not be given another); default: the Zarr attribute kernel, else full, or diagonal for 3-D")
    parser.add_argument("--ntkbatch", help="the ntkbatch binary used to assemble run directories")
    parser.add_argument("--samples", type=int, default=100, help="samples in the heat map (default 100)")
    parser.add_argument("--ridge", type=float, default=1e-6,
                        help="lambda of the kernel regression, relative to the mean diagonal (default 1e-6)")
    parser.add_argument("--max-eig-size", type=int, default=20000,
                        help="largest matrix side whose whole spectrum is computed (default 20000)")
    parser.add_argument("--top", type=int, default=10, help="eigenvalues printed (default 10)")
    return parser.parse_args()


def main():
    args = parse()
    validate_arguments(args)
    zarr_inputs = [p for p in (args.target, args.matrix) if p and not is_run(p) and is_zarr(p)]
    if not in_venv():
        ensure_venv(need_zarr=bool(zarr_inputs))
        os.execv(venv_python(), [venv_python(), os.path.abspath(__file__)] + sys.argv[1:])

    import numpy as np
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    temporary = tempfile.mkdtemp(prefix="ntkbatch-inspect-")
    try:
        labels = logits = None
        if is_run(args.target):
            run = args.target
            manifest = read_manifest(run)
            kernel = kernel_of(manifest)
            if args.kernel and args.kernel != kernel:
                fail(f"--kernel {args.kernel}: {run} is a run directory whose manifest says ntk.kernel {kernel!r}; "
                     f"--kernel is for an assembled array (leave it out for a run)")
            if "columns" in manifest:
                fail(f"{run} is a cross run (its manifest has columns); give the square run, and this one as --test")
            ntkbatch = find_ntkbatch(args.ntkbatch)
            identity = run_identity(run, ntkbatch)
            if args.test:  # every check on RUN2 before any expensive step (assembling, the spectrum)
                test_run = validate_test(args, manifest, kernel, identity, ntkbatch)
            if args.matrix:
                G = open_array(args.matrix)
                check_matrix(args.matrix, G, run, identity)
                source = args.matrix
            else:
                source = assemble(run, ntkbatch, temporary, "G")
                G = open_array(source)
            n = sample_count(kernel, G.shape)
            if manifest.get("dataset", {}).get("name") != "npy":
                labels = read_vector(os.path.join(run, "labels.npy"), f"[{n}] int64 labels", "i", n)
            logits = read_vector(os.path.join(run, "logits.npy"), f"[{n}, 10] float64 logits", "f", n)
            title = f"{manifest.get('name', run)}: {manifest.get('model', {}).get('name', '?')} on " \
                    f"{n} {manifest.get('dataset', {}).get('name', '?')} " \
                    f"{manifest.get('dataset', {}).get('split', 'train')} samples, kernel {kernel}"
        else:
            if args.test:
                fail("--test needs a run directory as the first argument (its labels and manifest)")
            source = args.target
            G = open_array(source)
            attrs = attributes_of(source, G)
            refuse_unusable(source, G, attrs, "the array")
            kernel = args.kernel or (attrs.get("kernel") if attrs.get("kernel") in ("full", "trace", "pseudo", "diagonal") else None) \
                or ("diagonal" if len(G.shape) == 3 else "full")
            n = sample_count(kernel, G.shape)
            if "n" in attrs and attrs["n"] != n:
                fail(f"{source}: its attributes say n = {attrs['n']} samples, its shape {tuple(G.shape)} holds {n}")
            if args.labels:
                labels = np.load(args.labels)
                if labels.dtype.kind not in "iu" or labels.ndim != 1 or labels.shape[0] != n:
                    fail(f"{args.labels}: holds {labels.dtype} {labels.shape}, expected [{n}] integer labels "
                         f"(one per sample of the {kernel} kernel's shape {tuple(G.shape)})")
            title = f"{os.path.basename(source.rstrip('/'))}: {n} samples, kernel {kernel}"
        if labels is not None:
            labels = labels[:n].astype(np.int64)
            if labels.min() < 0 or labels.max() >= CLASSES:
                fail(f"labels outside 0...9 (found {labels.min()}...{labels.max()})")

        print(f"kernel: {kernel}, shape {tuple(G.shape)}, {G.dtype}, n = {n} samples, from {source}")
        values, of = spectrum(G, kernel, n, args.max_eig_size)
        top = values[:args.top]
        print(f"top eigenvalue: {float(values[0])!r}")
        print(f"top {len(top)} eigenvalues ({of}): " + " ".join(f"{v:.6g}" for v in top))
        positive = values[values > 0]
        print(f"eigenvalues: {values.size}; > 0: {positive.size}; smallest {values[-1]:.6g}; "
              f"sum (trace) {values.sum():.6g}; top {len(top)} hold {top.sum() / values.sum():.1%} of the trace")

        shown = min(args.samples, n)
        picture, order = heat(G, kernel, labels, shown)
        means = class_block_mean(G, kernel, labels, n) if (labels is not None or kernel == "diagonal") else None
        if means is not None:
            label = "mean block k(x, x) [a, b]" if kernel == "diagonal" else "class-block mean kernel M[c, d]"
            print(f"{label} (rows 0..9):")
            for row in means:
                print("  " + " ".join(f"{v:10.4g}" for v in row))
            if kernel != "diagonal":
                # Classes absent from the samples have no mean (NaN in M): left out of the summary.
                diagonal, off = np.nanmean(np.diag(means)), np.nanmean(means[~np.eye(CLASSES, dtype=bool)])
                absent = [c for c in range(CLASSES) if not np.any(labels[:n] == c)]
                note = f" (classes absent from the samples, left out: {absent})" if absent else ""
                print(f"class-block mean: same class {diagonal:.6g}, different classes {off:.6g}, ratio {diagonal / off:.3g}{note}")
        if logits is not None and labels is not None:
            print(f"network accuracy on the run's {n} samples (logits.npy vs labels.npy): {accuracy_of(logits, labels):.4f}")

        results = None
        if args.test:
            results = regression(args, test_run, kernel, G, labels, temporary)

        panels = 4 if results else 3
        figure, axes = plt.subplots(1, panels, figsize=(4.6 * panels, 4.3), dpi=90)
        figure.suptitle(title, fontsize=11)
        ax = axes[0]
        ax.semilogy(np.arange(1, positive.size + 1), positive, lw=1.2)
        ax.set_xscale("log")
        ax.set_xlabel("index (largest first)")
        ax.set_ylabel("eigenvalue")
        ax.set_title(f"spectrum ({values.size} eigenvalues)", fontsize=10)
        ax.grid(True, which="major", alpha=0.3)
        ax = axes[1]
        scale = np.percentile(np.abs(picture), 99.5) or 1.0
        image = ax.imshow(picture, cmap="RdBu_r", vmin=-scale, vmax=scale, interpolation="nearest",
                          aspect="auto" if kernel == "diagonal" else "equal")
        figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
        sorted_note = "sorted by class" if labels is not None else "in run order (no labels)"
        ax.set_title(f"kernel, first {shown} samples {sorted_note}", fontsize=10)
        if labels is not None:
            per = 1 if kernel in ("trace", "pseudo", "diagonal") else CLASSES
            counts = np.bincount(labels[:shown][order], minlength=CLASSES)
            edges = np.cumsum(counts)[:-1] * per
            for edge in edges:
                ax.axhline(edge - 0.5, color="k", lw=0.4)
                if kernel != "diagonal":
                    ax.axvline(edge - 0.5, color="k", lw=0.4)
            centres = (np.concatenate([[0], np.cumsum(counts)[:-1]]) + counts / 2) * per
            ax.set_yticks(centres[counts > 0])
            ax.set_yticklabels([str(c) for c in range(CLASSES) if counts[c] > 0], fontsize=7)
            if kernel != "diagonal":
                ax.set_xticks(centres[counts > 0])
                ax.set_xticklabels([str(c) for c in range(CLASSES) if counts[c] > 0], fontsize=7)
            else:
                ax.set_xlabel("output a of k(x, x)[a, a]")
        ax = axes[2]
        if means is not None:
            image = ax.imshow(means, cmap="viridis", interpolation="nearest")
            figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
            ax.set_xticks(range(CLASSES))
            ax.set_yticks(range(CLASSES))
            ax.set_title("mean block k(x, x)" if kernel == "diagonal" else "class-block mean kernel", fontsize=10)
            ax.set_xlabel("output b" if kernel == "diagonal" else "class d")
            ax.set_ylabel("output a" if kernel == "diagonal" else "class c")
        else:
            ax.text(0.5, 0.5, "no labels", ha="center", va="center")
            ax.set_axis_off()
        if results:
            ax = axes[3]
            names = ["kernel\nregression", "network"]
            heights = [results["kernel"], results["network"]]
            bars = ax.bar(names, heights, color=["tab:blue", "tab:orange"])
            for bar, value in zip(bars, heights):
                ax.text(bar.get_x() + bar.get_width() / 2, value + 0.01, f"{value:.3f}", ha="center", fontsize=9)
            ax.set_ylim(0, 1.1)
            ax.set_title(f"test accuracy, {results['count']} samples (lambda {results['lambda']:.2g})", fontsize=10)
        figure.tight_layout()
        figure.savefig(args.output)
        print(f"wrote {args.output}")
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def validate_arguments(args):
    """Every option, before the virtual environment, assembling or any spectrum: exit 2 in one line."""
    if args.samples < 1 or args.ridge < 0 or args.max_eig_size < 1 or args.top < 1:
        fail("--samples, --max-eig-size and --top must be positive, --ridge non-negative")
    if not args.output.lower().endswith(".png"):
        fail(f"--output {args.output}: the report is a PNG; give a path ending in .png")
    parent = os.path.dirname(os.path.abspath(args.output))
    if not os.path.isdir(parent):
        fail(f"--output {args.output}: the folder {parent} does not exist")
    if not os.path.exists(args.target):
        fail(f"{args.target}: no such run directory, .npy file or Zarr array")
    if args.matrix and not os.path.exists(args.matrix):
        fail(f"--matrix {args.matrix}: no such .npy file or Zarr array")
    if args.matrix and not is_run(args.target):
        fail("--matrix needs a run directory as the first argument (it is that run's assembled matrix)")
    if args.test and not is_run(args.target):
        fail("--test needs a run directory as the first argument (its labels and manifest)")
    if args.test and not is_run(args.test):
        fail(f"--test {args.test}: not a run directory (no manifest.json and journal/)")


def check_matrix(path, G, run, identity):
    """--matrix must be RUN's own matrix: the same weights and manifest hashes in its Zarr attributes
    as RUN's journal identity, a whole symmetric eNTK, and (also for a plain .npy) RUN's shape."""
    attrs = attributes_of(path, G)
    refuse_unusable(path, G, attrs, "--matrix")
    for key in ("weightsHash", "manifestHash", "inputDataHash"):
        theirs, ours = attrs.get(key), hash_of(identity.get(key))
        if theirs is not None and ours is not None and theirs != ours:
            fail(f"--matrix {path}: its {key} {theirs[:12]}... is not {run}'s {ours[:12]}... "
                 f"(the matrix of another run or network)")
    expected = expected_shape(identity)
    if tuple(G.shape) != expected:
        fail(f"--matrix {path}: shape {tuple(G.shape)}, {run} assembles to {expected}")


def validate_test(args, manifest, kernel, identity, ntkbatch):
    """RUN2 = --test, checked before anything expensive: a cross run of the same dataset, kernel
    and network (manifest model.name/model.width and the journal's weightsHash), with its columns' labels and logits."""
    run2 = args.test
    if kernel == "diagonal":
        fail("--test: kernel regression needs the whole train x train kernel, not the diagonal kernel")
    if manifest.get("dataset", {}).get("name") == "npy":
        fail("--test: the run has no labels (an npy dataset), so there is nothing to regress on")
    other = read_manifest(run2)
    if "columns" not in other:
        fail(f"--test {run2}: not a cross run (its manifest has no columns); compute one with "
             f"\"columns\": {{... \"split\": \"test\"}} and the same dataset as {args.target}")
    strip = lambda d: {k: v for k, v in d.items() if k not in ("download", "mirror")}
    if strip(other.get("dataset", {})) != strip(manifest.get("dataset", {})):
        fail(f"--test {run2}: its dataset {json.dumps(other.get('dataset'))} is not the run's {json.dumps(manifest.get('dataset'))}")
    if kernel_of(other) != kernel:
        fail(f"--test {run2}: its ntk.kernel is {kernel_of(other)}, the run's is {kernel}")
    # The network is its architecture (model.name, model.width) and its weights, which the
    # journals' weightsHash identifies whatever made them: a cross run from the exported weights
    # ("weights") of a "train" run is the same network; seed, train and the weights path are not
    # compared.
    arch = lambda d: (d.get("model", {}).get("name"), d.get("model", {}).get("width", 64))
    if arch(other) != arch(manifest):
        fail(f"--test {run2}: its model {arch(other)[0]} (width {arch(other)[1]}) is not the run's "
             f"{arch(manifest)[0]} (width {arch(manifest)[1]}): the kernels must be of the same network")
    other_identity = run_identity(run2, ntkbatch)
    ours, theirs = hash_of(identity.get("weightsHash")), hash_of(other_identity.get("weightsHash"))
    if ours is None or theirs is None or ours != theirs:
        fail(f"--test {run2}: its network's weights (weightsHash {str(theirs)[:12]}...) are not the run's "
             f"({str(ours)[:12]}...): the kernels must be of the same network")
    if other_identity.get("sampleCount") != identity.get("sampleCount"):
        fail(f"--test {run2}: its rows are {other_identity.get('sampleCount')} samples, the run has {identity.get('sampleCount')}")
    test_labels = read_vector(os.path.join(run2, "columns-labels.npy"), "[n_cols] int64 labels of the columns", "i")
    m = test_labels.shape[0]
    test_logits = read_vector(os.path.join(run2, "columns-logits.npy"), f"[{m}, 10] float64 logits of the columns", "f", m)
    if other_identity.get("columnSampleCount") not in (None, m):
        fail(f"--test {run2}: columns-labels.npy holds {m} labels, the run has {other_identity.get('columnSampleCount')} column samples")
    return {"path": run2, "labels": test_labels, "logits": test_logits, "ntkbatch": ntkbatch}


def regression(args, test_run, kernel, G, labels, temporary):
    """Kernel regression on RUN2 = --test (a cross run, checked by validate_test); returns the accuracies it prints."""
    import numpy as np
    run2, test_labels, test_logits = test_run["path"], test_run["labels"], test_run["logits"]
    n, m = labels.shape[0], test_labels.shape[0]
    K = open_array(assemble(run2, test_run["ntkbatch"], temporary, "K"))
    expected = (n * CLASSES, m * CLASSES) if kernel == "full" else (n, m)
    if tuple(K.shape) != expected:
        fail(f"--test {run2}: assembled shape {tuple(K.shape)}, expected {expected} (rows: the run's {n} samples, columns: {m})")
    accuracy, lam = kernel_regression(G, K, kernel, labels, test_labels.astype(np.int64), args.ridge)
    network = accuracy_of(test_logits, test_labels)
    print(f"kernel regression: lambda = {lam:.6g} ({args.ridge:g} x mean diagonal), {n} training samples, {m} test samples")
    print(f"kernel regression test accuracy: {accuracy:.4f}")
    print(f"network test accuracy (columns-logits.npy): {network:.4f}")
    return {"kernel": accuracy, "network": network, "count": m, "lambda": lam}


if __name__ == "__main__":
    main()
