"""Lab: Keras intro on synthetic data (S1, S2).

Two classes on the curves x2 = cos(x1) and x2 = 1 + cos(x1). A logistic
regression (no hidden layer) draws a straight boundary; one hidden layer of
two ReLU units starts to bend it, and more units follow the curves.

    python examples/synthetic_cosine.py [--quick]
"""

import matplotlib.pyplot as plt
from _common import parse_args

args = parse_args(__doc__, mnist=False)
# Keras loads with these imports: after the options, --help answers at once.

from skmlp import MLPKerasClassifier, plotting  # noqa: E402
from skmlp.datasets import make_cosine_classes  # noqa: E402
from skmlp.labs import get_experiment  # noqa: E402

# Rows are shuffled here (make_cosine_classes' default), so that the
# validation rows hold both classes. The lab itself stacks class 0 before
# class 1 without shuffling, so its validation rows are all class 1;
# ``skmlp labs --only S1 S2`` reproduces that.
X, y = make_cosine_classes(2000, random_state=42)
lab = dict(
    epochs=10, batch_size=32, validation_split=0.2, dropout=0.0, random_state=1
)  # Keras' default batch
networks = {
    "S1": MLPKerasClassifier(hidden_layer_sizes=(), **lab),
    "S2": MLPKerasClassifier(hidden_layer_sizes=(2,), **lab),
    "16 units, 100 epochs": MLPKerasClassifier(
        (16,), epochs=100, learning_rate=0.01, random_state=42
    ),
}
fig, axes = plt.subplots(1, 3, figsize=(15, 4))
for (key, clf), ax in zip(networks.items(), axes, strict=True):
    if args.quick:
        clf.set_params(epochs=2)
    clf.fit(X, y)
    published = get_experiment(key).published_text if key in ("S1", "S2") else "-"
    val = clf.history_.get("val_accuracy", [float("nan")])[-1]
    print(
        f"{key}: validation accuracy {val:.4f}, training accuracy {clf.score(X, y):.4f} (labs: {published})"
    )
    plotting.plot_decision_regions(clf, X, y, ax=ax)
    ax.set_title(key)
fig.tight_layout()
fig.savefig(args.output / "decision_regions.png")
print(f"pictures in {args.output}/")
