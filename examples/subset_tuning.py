"""Lab: tuning on a 33% subset (C1-C7).

Four hidden layers of 50 units, trained on the labs' 33% of the training set
(``train_test_split(test_size=0.67, random_state=7)``, here ``SubsetSplitter``)
and tested on all 10,000 test images: vanishing gradients with sigmoid and
SGD, the cure by initialisation (he_normal), by activation (ReLU, ELU), by
optimiser (Adam), batch normalisation, dropout, and a soft-voting ensemble.

    python examples/subset_tuning.py [--data DIR] [--quick]
"""

from _common import mnist_features, parse_args
from imblearn.pipeline import Pipeline  # pip install "skmlp[imblearn]"
from sklearn.ensemble import VotingClassifier

from skmlp import MLPKerasClassifier, SubsetSplitter, plotting
from skmlp.labs import get_experiment

args = parse_args(__doc__)

X_train, y_train, X_test, y_test = mnist_features(
    args, quick_rows=3000
)  # 784 floats in [0, 1]

base = dict(hidden_layer_sizes=(50, 50, 50, 50), epochs=1 if args.quick else 100, validation_split=0.3,
            batch_size=32, dropout=0.0, random_state=1671)  # fmt: skip
sgd = dict(base, optimizer="sgd", learning_rate=0.001)
adam = dict(base, optimizer="adam", learning_rate=0.001)
configurations = {
    "C1": dict(sgd, activation="sigmoid", batch_size=256),
    "C2": dict(sgd, activation="sigmoid", kernel_initializer="he_normal"),
    "C3": dict(sgd, activation="relu"),
    "C4a": dict(adam, activation="elu"),
    "C4b": dict(adam, activation="sigmoid"),
    "C5a": dict(adam, activation="elu", batch_normalization=True),
    "C5b": dict(sgd, activation="sigmoid", batch_normalization=True),
    "C6a": dict(adam, activation="elu", dropout=0.2),
    "C6b": dict(sgd, activation="sigmoid", dropout=0.2),
}


def on_subset(classifier):
    # The splitter acts while fitting only: train on 33%, predict on every row.
    return Pipeline(
        [
            ("subset", SubsetSplitter(0.33, stratify=False, random_state=7)),
            ("mlp", classifier),
        ]
    )


for key, params in configurations.items():
    model = on_subset(MLPKerasClassifier(**params)).fit(X_train, y_train)
    print(
        f"{key}: test accuracy {model.score(X_test, y_test):.4f} (labs: {get_experiment(key).published})"
    )
    if key in ("C1", "C5a"):
        fig, _ = plotting.plot_history(model)
        fig.savefig(args.output / f"history_{key}.png")

members = [
    (f"net{i}", MLPKerasClassifier(**{**configurations["C2"], "random_state": i}))
    for i in (1, 2, 3)
]
ensemble = on_subset(VotingClassifier(members, voting="soft")).fit(X_train, y_train)
print(f"C7: soft vote of three, test accuracy {ensemble.score(X_test, y_test):.4f} "
      f"(labs: {get_experiment('C7').published})")  # fmt: skip
display = plotting.plot_confusion_matrix(ensemble, X_test, y_test)
display.figure_.savefig(args.output / "confusion_C7.png")
print(f"pictures in {args.output}/")
