"""Lab: Keras intro on synthetic data (S1, S2).

Two classes on the curves x2 = cos(x1) and x2 = 1 + cos(x1). A logistic
regression (no hidden layer) draws a straight boundary; one hidden layer of
two ReLU units starts to bend it, and more units follow the curves.

    python examples/synthetic_cosine.py [--quick]
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from skmlp import MLPKerasClassifier, plotting  # noqa: E402
from skmlp.datasets import make_cosine_classes  # noqa: E402
from skmlp.labs import get_experiment  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true")
parser.add_argument("--output", type=Path, default=Path("example-output"))
args = parser.parse_args()
args.output.mkdir(parents=True, exist_ok=True)

# As in the lab: class 0 rows, then class 1 rows, so validation_split=0.2 (the
# last rows) holds class 1 only; shuffle=True (the default) avoids that trap.
X, y = make_cosine_classes(1000, shuffle=False, random_state=42)
networks = {
    "S1": MLPKerasClassifier(
        hidden_layer_sizes=(), epochs=10, validation_split=0.2, random_state=42
    ),
    "S2": MLPKerasClassifier(
        hidden_layer_sizes=(2,), epochs=10, validation_split=0.2, random_state=42
    ),
    "16 units, shuffled data": MLPKerasClassifier(
        (16,), epochs=100, learning_rate=0.01, random_state=42
    ),
}
fig, axes = plt.subplots(1, 3, figsize=(15, 4))
for (key, clf), ax in zip(networks.items(), axes, strict=True):
    if args.quick:
        clf.set_params(epochs=2)
    data = (
        make_cosine_classes(1000, random_state=42) if key.startswith("16") else (X, y)
    )
    clf.fit(*data)
    published = get_experiment(key).published if key in ("S1", "S2") else "-"
    val = clf.history_.get("val_accuracy", [float("nan")])[-1]
    print(
        f"{key}: validation accuracy {val:.4f}, training accuracy {clf.score(*data):.4f} (labs: {published})"
    )
    plotting.plot_decision_regions(clf, *data, ax=ax)
    ax.set_title(key)
fig.tight_layout()
fig.savefig(args.output / "decision_regions.png")
print(f"pictures in {args.output}/")
