"""Lab: perceptron vs. multi-layer perceptron vs. MLP with dropout (A1-A3).

A softmax layer alone (a perceptron / logistic regression) against two hidden
layers of 128 ReLU units, then the same with dropout 0.3, all trained with
SGD (learning rate 0.1, batch 128) on MNIST with 20% held out for validation.

    python examples/perceptron_vs_mlp.py [--data DIR] [--quick]
"""

from _common import mnist_features, parse_args

args = parse_args(__doc__)
# Keras loads with these imports: after the options, --help answers at once.

from skmlp import MLPKerasClassifier, network_summary, plotting  # noqa: E402
from skmlp.labs import get_experiment  # noqa: E402

X_train, y_train, X_test, y_test = mnist_features(args)  # 784 floats in [0, 1]

common = dict(
    optimizer="sgd",
    learning_rate=0.1,
    batch_size=128,
    validation_split=0.2,
    random_state=1671,
)
networks = {
    "A1": MLPKerasClassifier(
        hidden_layer_sizes=(), dropout=0.0, epochs=200, **common
    ),  # the perceptron
    "A2": MLPKerasClassifier((128, 128), dropout=0.0, epochs=20, **common),
    "A3": MLPKerasClassifier(
        hidden_layer_sizes=(128, 128), dropout=0.3, epochs=20, **common
    ),
}
print(
    network_summary(networks["A2"], n_features=784, n_outputs=10)
)  # 118,282 parameters

for key, clf in networks.items():
    if args.quick:
        clf.set_params(epochs=1)
    clf.fit(X_train, y_train)
    accuracy = clf.score(X_test, y_test)
    print(
        f"{key}: test accuracy {accuracy:.4f} (labs: {get_experiment(key).published_text})"
    )
    fig, _ = plotting.plot_history(clf)
    fig.savefig(args.output / f"history_{key}.png")

fig, _ = plotting.plot_digits(
    X_test, y_test, networks["A3"].predict(X_test), n_images=20
)
fig.savefig(args.output / "digits_A3.png")
print(f"pictures in {args.output}/")
