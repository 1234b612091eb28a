"""Lab: hyper-parameter tuning on raw pixels (C1-C6, E1-E7).

Four hidden layers of 50 units on raw 0-255 pixels, as the labs feed them:
vanishing gradients with sigmoid and SGD, the cures by initialisation
(he_normal), activation (ReLU, ELU), optimiser (Adam), batch normalisation
and dropout; group C on the labs' 33% subset, group E on all 60,000 rows,
and E7's soft vote of three networks. Each configuration comes from
``skmlp.labs``, which also prepares the data as each lab does.

    python examples/subset_tuning.py [--data DIR] [--quick]
"""

from _common import parse_args

args = parse_args(__doc__)
# Keras loads with these imports: after the options, --help answers at once.

from skmlp import plotting  # noqa: E402
from skmlp.datasets import get_mnist  # noqa: E402
from skmlp.labs import get_experiment, make_estimator, prepare_data  # noqa: E402

mnist = get_mnist(args.data)[0]
quick = dict(epochs=1) if args.quick else {}

for key in ("C1", "C2", "C3", "C4", "C5", "C6", "E3", "E7"):
    experiment = get_experiment(key)
    X_train, y_train, X_test, y_test = prepare_data(experiment, mnist, quick=args.quick)
    model = make_estimator(experiment, random_state=1, **quick)  # members too
    model.fit(X_train, y_train)
    print(
        f"{key} ({experiment.description}): test accuracy "
        f"{model.score(X_test, y_test):.4f} (labs: {experiment.published_text})"
    )
    if key in ("C1", "C5"):
        fig, _ = plotting.plot_history(model)
        fig.savefig(args.output / f"history_{key}.png")

display = plotting.plot_confusion_matrix(model, X_test, y_test)
display.figure_.savefig(args.output / "confusion_E7.png")
print(f"pictures in {args.output}/")
