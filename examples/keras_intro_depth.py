"""Lab: Keras intro, going deeper (D1-D4), with TensorBoard logs.

One, two and ten hidden layers of 128 ReLU units with Adam, batch 128 and 10%
held out for validation; then ten layers with dropout 0.2 (the lab's
exercise). Every fit writes a TensorBoard run: ``tensorboard --logdir
example-output/tensorboard``.

    python examples/keras_intro_depth.py [--data DIR] [--quick]
"""

from _common import mnist_features, parse_args

args = parse_args(__doc__)
# Keras loads with these imports: after the options, --help answers at once.

from skmlp import MLPKerasClassifier, network_summary, plotting  # noqa: E402
from skmlp.labs import get_experiment  # noqa: E402

X_train, y_train, X_test, y_test = mnist_features(args)  # 784 floats in [0, 1]

common = dict(optimizer="adam", batch_size=128, validation_split=0.1, random_state=1671,
              tensorboard_dir=args.output / "tensorboard")  # fmt: skip
networks = {
    "D1": MLPKerasClassifier((128,), dropout=0.0, epochs=10, **common),
    "D2": MLPKerasClassifier((128, 128), dropout=0.0, epochs=10, **common),
    "D3": MLPKerasClassifier((128,) * 10, dropout=0.0, epochs=20, **common),
    "D4": MLPKerasClassifier(
        hidden_layer_sizes=(128,) * 10, dropout=0.2, epochs=20, **common
    ),
}
print(network_summary(networks["D3"], n_features=784, n_outputs=10))
for key, clf in networks.items():
    if args.quick:
        clf.set_params(epochs=1)
    clf.fit(X_train, y_train)
    print(f"{key}: test accuracy {clf.score(X_test, y_test):.4f} (labs: {get_experiment(key).published_text}); "
          f"TensorBoard run {clf.tensorboard_log_dir_}")  # fmt: skip

display = plotting.plot_confusion_matrix(networks["D3"], X_test, y_test)
display.figure_.savefig(args.output / "confusion_D3.png")
fig, _ = plotting.plot_history(networks["D4"])
fig.savefig(args.output / "history_D4.png")
print(f"pictures in {args.output}/")
