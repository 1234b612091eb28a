"""Lab: L1/L2 regularisation (B1).

The A2 network (2x128 ReLU, SGD 0.1, batch 128, 20 epochs) with an L1+L2
penalty on the hidden kernels, L1 on the biases and L2 on the activations,
beside the same network without them, and a small grid over the penalty.

    python examples/regularization_l1_l2.py [--data DIR] [--quick]
"""

from _common import mnist_features, parse_args

args = parse_args(__doc__)
# Keras loads with these imports: after the options, --help answers at once.
from sklearn.model_selection import GridSearchCV  # noqa: E402

from skmlp import MLPKerasClassifier, SubsetSplitter, plotting  # noqa: E402
from skmlp.labs import get_experiment  # noqa: E402

X_train, y_train, X_test, y_test = mnist_features(args)  # 784 floats in [0, 1]
epochs = 1 if args.quick else 20

base = dict(hidden_layer_sizes=(128, 128), optimizer="sgd", learning_rate=0.1, batch_size=128,
            epochs=epochs, validation_split=0.2, dropout=0.0, random_state=1671)  # fmt: skip
plain = MLPKerasClassifier(**base).fit(X_train, y_train)
# The lab's L2(1e-4) on the activity, at the strength its Keras gave it: summed
# over the batch's 128 rows (Keras divides by the batch size since keras#22021).
regularised = MLPKerasClassifier(
    kernel_l1=1e-5, kernel_l2=1e-4, bias_l1=1e-5, activity_l2=1e-4 * 128, **base
)
regularised.fit(X_train, y_train)
print(
    f"A2 without penalties: {plain.score(X_test, y_test):.4f} (labs: {get_experiment('A2').published_text})"
)
print(
    f"B1 with L1/L2:        {regularised.score(X_test, y_test):.4f} (labs: {get_experiment('B1').published_text})"
)
fig, _ = plotting.plot_history(regularised)
fig.savefig(args.output / "history_B1.png")

# Which penalty strength? Cross-validate on the labs' 33% subset to keep it short.
search = GridSearchCV(
    MLPKerasClassifier(
        **{**base, "epochs": max(1, epochs // 4), "validation_split": 0.0}
    ),
    {"kernel_l2": [0.0, 1e-4, 1e-3], "activity_l2": [0.0, 1e-4]},
    cv=SubsetSplitter(0.33, random_state=7),
).fit(X_train, y_train)
print(
    "best penalties:",
    search.best_params_,
    f"(validation accuracy {search.best_score_:.4f})",
)
fig, _ = plotting.plot_search_results(search, ["kernel_l2", "activity_l2"])
fig.savefig(args.output / "search_l2.png")
print(f"pictures in {args.output}/")
