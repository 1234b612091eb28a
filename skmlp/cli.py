"""The ``skmlp`` command: train, grid-search and re-run the labs from a terminal.

Everything here calls skmlp's public API; it adds argument parsing, data
choice and printing, nothing else.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
import warnings
from pathlib import Path

from . import _params


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump): ``skmlp train: error: ...``."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


class CommandError(Exception):
    """A problem the user can fix; printed as one line, exit status 2."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a positive integer, got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data")
    group.add_argument(
        "--data",
        type=Path,
        metavar="DIR",
        help="folder with the four MNIST IDX files (.gz or not)",
    )
    group.add_argument(
        "--dataset",
        choices=("auto", "mnist", "sample"),
        default="auto",
        help="without --data: 'mnist' uses the cache or downloads it, 'sample' the bundled 10%% "
        "sample, 'auto' (default) MNIST when it can be had, else the sample",
    )
    group.add_argument(
        "--subset",
        type=_fraction,
        metavar="FRACTION",
        help="train on this share of the training set (labs: 0.33)",
    )
    group.add_argument(
        "--seed", type=int, default=0, help="random_state of everything (default 0)"
    )


def _add_network_options(parser: argparse.ArgumentParser, *, grid: bool) -> None:
    """The options of ``_params.FLAGS``: one value each, or several in ``grid``."""
    group = parser.add_argument_group(
        "network" + (" (several values: one candidate each)" if grid else "")
    )
    converters = {"text": None, "number": float, "count": _positive_int}
    for flag in _params.FLAGS.values():
        if flag.option == "--hidden":
            group.add_argument(
                "--hidden",
                nargs="+" if grid else "*",
                default=None if grid else [flag.default],
                metavar="SIZES" if grid else "UNITS",
                help="layer sizes per candidate, comma-separated: 128 128,128 none"
                if grid
                else f"{flag.help} (default {flag.default}; 128 128 works too; "
                "none, or --hidden alone: no hidden layer)",
            )
            continue
        if flag.kind == "switch":
            group.add_argument(flag.option, action="store_true", help=flag.help)
            continue
        several = grid and flag.several
        default = flag.default
        if several and default is not None:
            default = [default]
        shown = "" if flag.default is None else f" (default {flag.default})"
        group.add_argument(
            flag.option,
            nargs="+" if several else None,
            type=converters[flag.kind],
            default=default,
            help=flag.help + shown,
        )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="skmlp",
        description="Keras multi-layer perceptrons on MNIST, the scikit-learn way.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser
    )

    train = commands.add_parser(
        "train", help="train one network and report on the test set"
    )
    _add_data_options(train)
    _add_network_options(train, grid=False)
    train.add_argument(
        "--output",
        type=Path,
        default=Path("skmlp-output"),
        help="folder for the model and pictures (default skmlp-output)",
    )
    train.add_argument("--quiet", action="store_true", help="no Keras progress output")
    train.add_argument(
        "--save-partial",
        action="store_true",
        help="when Ctrl-C stops the training, still report on and save the network "
        "of the epochs completed (the exit status is 130 all the same); without it, "
        "an interrupted training saves nothing",
    )

    grid = commands.add_parser(
        "grid", help="grid-search network settings with cross-validation"
    )
    _add_data_options(grid)
    _add_network_options(grid, grid=True)
    grid.add_argument(
        "--cv", type=_positive_int, default=3, help="cross-validation folds (default 3)"
    )
    grid.add_argument("--n-jobs", type=int, default=None, help="parallel fits (joblib)")
    grid.add_argument(
        "--csv",
        type=Path,
        default=Path("grid_results.csv"),
        help="where to save the results table",
    )

    labs = commands.add_parser(
        "labs",
        help="re-run the labs' experiments, several seeds each, beside their published "
        "figures",
    )
    _add_data_options(labs)
    labs.add_argument(
        "--quick", action="store_true", help="1 epoch on 2,000 rows each: a smoke test"
    )
    labs.add_argument(
        "--seeds",
        type=_positive_int,
        default=3,
        metavar="N",
        help="seeds per row: --seed, --seed + 1, ... (default 3; the labs page uses "
        "at least 3 on a CPU, 5 on a GPU)",
    )
    labs.add_argument(
        "--only",
        nargs="+",
        metavar="KEY",
        help="experiment keys (A1 C4 E7 ...); default all",
    )
    labs.add_argument(
        "--markdown",
        type=Path,
        metavar="PAGE",
        help="write the page here, and its results beside it (PAGE with .json); "
        "default: print the table only",
    )
    labs.add_argument(
        "--resume",
        action="store_true",
        help="keep the rows an interrupted run already wrote to the results file "
        "beside --markdown (same seeds), and run the rest",
    )
    labs.add_argument(
        "--from-results",
        type=Path,
        metavar="JSON",
        help="train nothing: write the page from results saved by an earlier run",
    )
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("skmlp")
    except PackageNotFoundError:
        return "unknown"


# The network options of train and grid (argparse names) -> the estimator's
# parameters, from the one table of parameters.
NETWORK_FLAGS = {flag.dest: name for name, flag in _params.FLAGS.items()}


def _network_params(args) -> dict:
    return {param: getattr(args, flag) for flag, param in NETWORK_FLAGS.items()}


@contextlib.contextmanager
def _quiet_keras_import():
    """Keep TensorFlow's start-up lines out of the command's output.

    The command owns its process, so it may do what the library must not:
    hide what native code writes to file descriptor 2 while Keras loads
    (TensorFlow prints them before its logging is configured). Set
    SKMLP_SHOW_TENSORFLOW_LOGS=1 to see them.
    """
    if os.environ.get("SKMLP_SHOW_TENSORFLOW_LOGS") == "1":
        yield
        return
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        sys.stderr.flush()
        os.dup2(devnull, 2)
        import skmlp.estimators  # noqa: F401  (Keras and its backend load here)

        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _check_writable(path: Path, option: str, *, folder: bool = False) -> None:
    """Fail now, before any training, if ``path`` cannot be written."""
    target = path if folder else path.parent
    if folder and path.exists() and not path.is_dir():
        raise CommandError(f"{option} {path}: is a file; give a folder")
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(
            f"{option} {path}: cannot create {target} ({exc.strerror or exc})"
        ) from None
    if not folder and path.is_dir():
        raise CommandError(f"{option} {path}: is a folder; give a file name")
    if not os.access(target, os.W_OK) or (
        path.exists() and not folder and not os.access(path, os.W_OK)
    ):
        raise CommandError(f"{option} {path}: not writable")


def _load_mnist(args):
    """The MNIST arrays the options ask for, and a line saying where they came from."""
    from skmlp.datasets import get_mnist

    if args.data is not None and not args.data.is_dir():
        if args.data.exists():
            raise CommandError(
                f"--data {args.data}: is a file; give the folder that holds the "
                f"four MNIST IDX files"
            )
        raise CommandError(f"--data {args.data}: no such folder")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        result = get_mnist(args.data, dataset=args.dataset)
    for warning in caught:  # the fallback to the sample: one line, on stdout
        print(warning.message, flush=True)
    return result


def _prepared(args):
    from skmlp import SubsetSplitter
    from skmlp.datasets import to_features

    ((X_train, y_train), (X_test, y_test)), source = _load_mnist(args)
    X_train, X_test = to_features(X_train), to_features(X_test)
    if args.subset:
        X_train, y_train = SubsetSplitter(
            args.subset, random_state=args.seed
        ).fit_resample(X_train, y_train)
    print(
        f"data: {source}; training on {len(X_train)} images, testing on {len(X_test)}",
        flush=True,
    )
    return X_train, y_train, X_test, y_test


def _fit_noting_interrupt(clf, X, y) -> bool:
    """Fit ``clf``; True when Ctrl-C ended its training early.

    The estimator catches the KeyboardInterrupt and only warns, so that a
    script keeps the epochs done; the command must not take that for a
    finished training. Other warnings are given again, as they were, also
    when the fit raises.
    """
    from ._engine import TrainingInterrupted

    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            clf.fit(X, y)
    finally:
        interrupted = False
        for warning in caught:
            if issubclass(warning.category, TrainingInterrupted):
                interrupted = True
            else:
                warnings.warn_explicit(
                    warning.message, warning.category, warning.filename, warning.lineno
                )
    return interrupted


@contextlib.contextmanager
def _ctrl_c_ends_the_command():
    """Ctrl-C in any fit ends ``grid`` or ``labs`` as a KeyboardInterrupt.

    The estimator would keep the epochs done and return (see
    ``_fit_noting_interrupt``): the search would score that half-trained
    candidate and go on to the next, the labs record it as a result.
    """
    from ._engine import TrainingInterrupted

    with warnings.catch_warnings():
        warnings.filterwarnings("error", category=TrainingInterrupted)
        try:
            yield
        except TrainingInterrupted:
            raise KeyboardInterrupt from None


def _remove_if_new_and_empty(folder: Path, existed: bool) -> None:
    """Leave no empty --output folder of ours behind when nothing was saved."""
    if not existed:
        with contextlib.suppress(OSError):  # not empty, or already gone
            folder.rmdir()


def _train(args) -> int:
    existed = args.output.exists()
    _check_writable(args.output, "--output", folder=True)
    try:
        return _train_into(args)
    finally:  # after an error or Ctrl-C, an empty folder of ours is removed
        _remove_if_new_and_empty(args.output, existed)


def _train_into(args) -> int:
    from sklearn.metrics import classification_report

    hidden = _hidden_layers(args.hidden)  # a bad --hidden fails before the data
    X_train, y_train, X_test, y_test = _prepared(args)
    with _quiet_keras_import():  # after the data: Keras takes seconds to load
        from skmlp import MLPKerasClassifier

    params = _network_params(args)
    params["hidden_layer_sizes"] = hidden
    clf = MLPKerasClassifier(
        **params,
        # A live progress bar in a terminal; one line per epoch in logs.
        verbose=0 if args.quiet else (1 if sys.stdout.isatty() else 2),
        random_state=args.seed,
    )
    start = time.perf_counter()
    interrupted = _fit_noting_interrupt(clf, X_train, y_train)
    seconds = time.perf_counter() - start
    epochs = f"{clf.n_iter_} of {clf.epochs} epochs"
    if interrupted and (not args.save_partial or clf.n_iter_ == 0):
        why = (
            "no epoch was completed"
            if clf.n_iter_ == 0
            else "--save-partial keeps the network of the epochs completed"
        )
        print(
            f"skmlp train: interrupted after {epochs}; nothing saved ({why})",
            file=sys.stderr,
        )
        return 130
    loss, accuracy = clf.model_.evaluate(X_test, y_test, verbose=0, batch_size=1024)
    if interrupted:
        print(f"trained {epochs} in {seconds:.1f} s, interrupted (--save-partial)")
    else:
        print(
            f"trained {clf.n_iter_} epoch{'s' if clf.n_iter_ != 1 else ''} "
            f"in {seconds:.1f} s"
        )
    print(f"test loss: {loss:.4f}")
    print(f"test accuracy: {accuracy:.4f}")
    print(classification_report(y_test, clf.predict(X_test), digits=4, zero_division=0))
    args.output.mkdir(parents=True, exist_ok=True)
    clf.save(args.output / "model.skmlp")
    print(f"saved: {args.output / 'model.skmlp'}")
    _save_pictures(clf, X_test, y_test, args.output)
    if interrupted:
        print(
            f"skmlp train: interrupted after {epochs}; saved the network of those "
            f"epochs (--save-partial)",
            file=sys.stderr,
        )
        return 130
    return 0


def _save_pictures(clf, X_test, y_test, output: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
    except ImportError:
        print(
            "pictures skipped: pip install matplotlib for the curves and confusion matrix"
        )
        return
    import matplotlib.pyplot as plt

    from skmlp import plotting

    fig, _ = plotting.plot_history(clf)
    fig.savefig(output / "history.png", dpi=100)
    display = plotting.plot_confusion_matrix(clf, X_test, y_test)
    display.figure_.savefig(output / "confusion_matrix.png", dpi=100)
    plt.close("all")
    print(f"saved: {output / 'history.png'}, {output / 'confusion_matrix.png'}")


def _hidden_layers(values) -> tuple[int, ...]:
    """``train --hidden``: one network, written 128,128 or 128 128."""
    tokens = [t for value in values for t in value.split(",") if t]
    if [t.lower() for t in tokens] in ([], ["none"]):
        return ()
    try:
        return tuple(int(t) for t in tokens)
    except ValueError:
        raise CommandError(
            f"--hidden {' '.join(values)}: use layer sizes such as 128,128 (or none)"
        ) from None


def _hidden_candidates(values) -> list[tuple[int, ...]]:
    candidates = []
    for value in values or ["128,128"]:
        if value.lower() in ("none", "()", ""):
            candidates.append(())
            continue
        try:
            candidates.append(tuple(int(v) for v in value.split(",")))
        except ValueError:
            raise CommandError(
                f"--hidden {value!r}: use comma-separated layer sizes such as 128,64, or none"
            ) from None
    return candidates


def _refuse_duplicate_candidates(args) -> None:
    """A value given twice to one option would train the same candidate twice."""
    hidden = _hidden_candidates(args.hidden)
    if len(set(hidden)) < len(hidden):
        twice = next(h for h in hidden if hidden.count(h) > 1)
        shown = ",".join(map(str, twice)) or "none"
        hint = (
            f"; for one network of {len(args.hidden)} layers write "
            f"--hidden {','.join(args.hidden)}"
            if all("," not in v for v in args.hidden)
            else ""
        )
        raise CommandError(
            f"--hidden gives the candidate {shown} more than once, the same "
            f"network trained twice{hint}"
        )
    for flag in _params.FLAGS.values():
        values = getattr(args, flag.dest, None)
        if flag.option != "--hidden" and isinstance(values, list):
            repeated = [v for v in dict.fromkeys(values) if values.count(v) > 1]
            if repeated:
                raise CommandError(
                    f"{flag.option} gives {repeated[0]} more than once: the same "
                    f"candidates would be trained twice"
                )


def _grid(args) -> int:
    import pandas as pd
    from sklearn.model_selection import StratifiedKFold

    _refuse_duplicate_candidates(args)
    _check_writable(args.csv, "--csv")
    X_train, y_train, X_test, y_test = _prepared(args)
    with _quiet_keras_import():  # after the data: Keras takes seconds to load
        from skmlp import MLPKerasClassifier
    from skmlp.model_selection import GridSearchCV

    hidden = _hidden_candidates(args.hidden)
    if args.hidden and len(args.hidden) > 1 and all("," not in v for v in args.hidden):
        print(
            f"note: --hidden {' '.join(args.hidden)} is {len(hidden)} candidates of "
            f"one layer each; write {','.join(args.hidden)} for one network of "
            f"{len(args.hidden)} layers",
            flush=True,
        )
    params = _network_params(args)
    params["hidden_layer_sizes"] = hidden
    params["learning_rate"] = params["learning_rate"] or [None]
    # Options given several values (nargs="+") are the grid; the rest are fixed.
    grid = {k: v for k, v in params.items() if isinstance(v, list)}
    n_candidates = 1
    for values in grid.values():
        n_candidates *= len(values)
    print(f"{n_candidates} candidates x {args.cv} folds", flush=True)
    fixed = {k: v for k, v in params.items() if k not in grid}
    estimator = MLPKerasClassifier(**fixed, random_state=args.seed)
    search = GridSearchCV(
        estimator,
        grid,
        cv=StratifiedKFold(args.cv, shuffle=True, random_state=args.seed),
        n_jobs=args.n_jobs,
        verbose=1,
        error_score="raise",
    )
    with _ctrl_c_ends_the_command():
        search.fit(X_train, y_train)
    table = pd.DataFrame(search.cv_results_)
    varied = [f"param_{k}" for k, v in grid.items() if len(v) > 1] or [
        f"param_{k}" for k in grid
    ][:1]
    table = table[
        [
            "rank_test_score",
            *varied,
            "mean_test_score",
            "std_test_score",
            "mean_fit_time",
        ]
    ]
    table = table.sort_values("rank_test_score")
    print(table.to_string(index=False))
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.csv, index=False)
    print(f"best: {search.best_params_}")
    print(f"test accuracy of the best: {search.score(X_test, y_test):.4f}")
    print(f"saved: {args.csv}")
    return 0


def _labs(args) -> int:
    import json

    with _quiet_keras_import():
        from skmlp import labs

    if args.markdown is not None:
        _check_writable(args.markdown, "--markdown")
        _check_writable(args.markdown.with_suffix(".json"), "--markdown")
    if args.from_results is not None:
        if args.from_results.is_dir():
            raise CommandError(
                f"--from-results {args.from_results}: is a folder; give the results "
                f"file (.json) an earlier run saved beside its --markdown page"
            )
        try:
            results = json.loads(args.from_results.read_text())
        except FileNotFoundError:
            raise CommandError(f"no such results file: {args.from_results}") from None
    else:
        results = _run_labs(args, labs)
    page = labs.render_page(results)
    if args.markdown is None:
        print(page)
        return 0
    args.markdown.parent.mkdir(parents=True, exist_ok=True)
    if args.from_results is None:
        saved = args.markdown.with_suffix(".json")
        _write_json(saved, results)
        print(f"saved: {saved}")
    args.markdown.write_text(page)
    print(f"saved: {args.markdown}")
    return 0


def _run_labs(args, labs) -> dict:
    keys = args.only or [e.key for e in labs.EXPERIMENTS]
    for key in keys:
        try:
            labs.get_experiment(key)
        except KeyError as exc:
            raise CommandError(exc.args[0]) from None
    if args.subset is not None:
        raise CommandError(
            "--subset does not apply to labs: each experiment uses its lab's data "
            "(the 33% subset for group C)"
        )
    needs_mnist = any(labs.get_experiment(k).data != "cosine" for k in keys)
    mnist, source = _load_mnist(args) if needs_mnist else (None, "no MNIST needed")
    seeds = list(range(args.seed, args.seed + args.seeds))
    print(
        f"data: {source}; seeds {seeds}"
        f"{' (quick: 1 epoch, 2,000 training rows)' if args.quick else ''}",
        flush=True,
    )
    saved = None if args.markdown is None else args.markdown.with_suffix(".json")
    done = _finished_rows(saved, seeds, args.quick) if args.resume else {}
    if done:
        print(f"resuming: {', '.join(done)} already in {saved}", flush=True)
    finished = dict(done)

    def progress(row):
        finished[row["key"]] = row
        if saved is not None:  # a crash or Ctrl-C keeps the rows done so far
            _write_json(saved, {**partial, "rows": list(finished.values())})
        experiment = labs.get_experiment(row["key"])
        summary = labs.summarize(experiment, row["runs"])
        print(
            f"{row['key']:>3}  {experiment.description[:55]:<55}  published "
            f"{experiment.published_text:>13}  skmlp {summary['median']:.4f} "
            f"({summary['low']:.4f}-{summary['high']:.4f}, {summary['seconds']:.1f} s/seed)",
            flush=True,
        )

    command = "skmlp labs" + (" --quick" if args.quick else "")
    command += f" --seeds {args.seeds}" + (f" --seed {args.seed}" if args.seed else "")
    if args.only:
        command += " --only " + " ".join(args.only)
    partial = {"command": command, "seeds": seeds, "quick": args.quick, "rows": []}
    with _ctrl_c_ends_the_command():  # no half-trained row is recorded
        results = labs.run_experiments(
            mnist,
            [k for k in keys if k not in done],
            seeds=seeds,
            quick=args.quick,
            progress=progress,
            command=command,
        )
    results["rows"] = [finished[k] for k in keys]
    return results


def _finished_rows(saved, seeds, quick) -> dict:
    """Rows of an earlier run of the same seeds, kept in its results file."""
    import json

    if saved is None or not saved.exists():
        return {}
    try:
        earlier = json.loads(saved.read_text())
    except ValueError:
        return {}
    if earlier.get("seeds") != seeds or earlier.get("quick") != quick:
        return {}
    return {row["key"]: row for row in earlier.get("rows", [])}


def _write_json(path: Path, data: dict) -> None:
    import json

    from skmlp._files import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=1) + "\n")


def main(argv=None) -> int:
    """Run the ``skmlp`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    run = {"train": _train, "grid": _grid, "labs": _labs}[args.command]
    try:
        return run(args)
    except CommandError as exc:
        print(f"skmlp {args.command}: error: {exc}", file=sys.stderr)
    except (ValueError, TypeError, OSError) as exc:  # bad values found by skmlp itself
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"skmlp {args.command}: error: {message}", file=sys.stderr)
    except KeyboardInterrupt:
        print(f"skmlp {args.command}: interrupted", file=sys.stderr)
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
