"""IDXLoader and SubsetSplitter, alone and in pipelines and searches."""

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.utils import estimator_checks as checks

from skmlp import IDXLoader, MLPKerasClassifier, SubsetSplitter
from skmlp.datasets import save_idx

# The checks of scikit-learn's suite that apply to estimators whose input is
# not a numeric matrix (IDXLoader takes file paths, SubsetSplitter is a
# sampler/splitter): the API contract every estimator must keep.
API_CHECKS = [
    checks.check_no_attributes_set_in_init,
    checks.check_estimator_cloneable,
    checks.check_estimator_repr,
    checks.check_get_params_invariance,
    checks.check_set_params,
    checks.check_parameters_default_constructible,
    checks.check_do_not_raise_errors_in_init_or_set_params,
    checks.check_estimator_tags_renamed,
    checks.check_valid_tag_types,
]


@pytest.mark.parametrize("estimator", [IDXLoader(), SubsetSplitter()], ids=repr)
@pytest.mark.parametrize("check", API_CHECKS, ids=lambda c: c.__name__)
def test_api_checks(estimator, check):
    check(type(estimator).__name__, estimator)


@pytest.fixture
def idx_files(tmp_path):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, size=(5, 4, 3), dtype=np.uint8)
    b = rng.integers(0, 256, size=(2, 4, 3), dtype=np.uint8)
    save_idx(tmp_path / "a.gz", a)
    save_idx(tmp_path / "b", b)
    return tmp_path / "a.gz", tmp_path / "b", a, b


def test_idx_loader_flattens_scales_and_stacks(idx_files):
    path_a, path_b, a, b = idx_files
    out = IDXLoader().fit_transform([path_a, str(path_b)])
    assert out.shape == (7, 12) and out.dtype == np.float32
    np.testing.assert_array_equal(
        out, np.concatenate([a, b]).reshape(7, 12) / np.float32(255)
    )
    raw = IDXLoader(flatten=False, scale=False).transform(path_a)
    np.testing.assert_array_equal(raw, a)


def test_idx_loader_is_stateless_and_names_pixels(idx_files):
    path_a, path_b, *_ = idx_files
    loader = IDXLoader()
    assert loader.transform(path_a).shape == (5, 12)  # no fit needed
    names = loader.fit(path_a).get_feature_names_out()
    assert names.tolist() == [f"pixel_{i}" for i in range(12)]
    frame = IDXLoader().set_output(transform="pandas").fit_transform(path_b)
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == names.tolist()
    assert clone(loader).get_params() == {"flatten": True, "scale": True}


def test_idx_loader_errors(idx_files, tmp_path):
    with pytest.raises(TypeError, match="IDX file path or a list of paths"):
        IDXLoader().transform(np.zeros((3, 3)))
    save_idx(tmp_path / "f", np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="scale=True expects 0-255 uint8 pixels"):
        IDXLoader().transform(tmp_path / "f")
    with pytest.raises(ValueError, match="different shapes"):
        IDXLoader().fit([idx_files[0], tmp_path / "f"])


def test_idx_loader_feeds_a_classifier_in_a_pipeline(tmp_path, digits):
    X, y = digits
    images = (X.reshape(-1, 8, 8) * 16 * 255 / 16).astype(np.uint8)
    save_idx(tmp_path / "images.gz", images)
    pipe = make_pipeline(
        IDXLoader(),
        MLPKerasClassifier((32,), epochs=5, learning_rate=0.01, random_state=0),
    )
    pipe.fit(str(tmp_path / "images.gz"), y)
    assert pipe.score(str(tmp_path / "images.gz"), y) > 0.9


def test_subset_matches_the_labs_train_test_split():
    X = np.arange(6000).reshape(3000, 2)
    y = np.arange(3000) % 10
    X_lab, _, y_lab, _ = train_test_split(X, y, test_size=0.67, random_state=7)
    X_sub, y_sub = SubsetSplitter(stratify=False, random_state=7).fit_resample(X, y)
    np.testing.assert_array_equal(X_sub, X_lab)
    np.testing.assert_array_equal(y_sub, y_lab)


def test_stratified_subset_keeps_class_shares_within_one_row(digits):
    X, y = digits
    for fraction in (0.1, 0.33, 0.5):
        _, y_sub = SubsetSplitter(fraction, random_state=0).fit_resample(X, y)
        expected = np.bincount(y) * fraction
        assert np.all(np.abs(np.bincount(y_sub, minlength=10) - expected) <= 1)


def test_subset_keeps_dataframes(digits):
    X, y = digits
    frame, series = pd.DataFrame(X), pd.Series(y)
    X_sub, y_sub = SubsetSplitter(random_state=0).fit_resample(frame, series)
    assert isinstance(X_sub, pd.DataFrame) and len(X_sub) == len(y_sub) == int(
        0.33 * len(y)
    )


def test_subset_errors():
    with pytest.raises(ValueError, match="stratify=True needs y"):
        list(SubsetSplitter().split(np.zeros((10, 2))))
    with pytest.raises(ValueError, match="'fraction' parameter.*\\(0, 1\\)"):
        SubsetSplitter(fraction=1.5).fit_resample(np.zeros((10, 2)), np.arange(10) % 2)


def test_imblearn_pipeline_trains_on_subset_and_predicts_on_all(digits):
    from imblearn.pipeline import Pipeline

    X, y = digits
    seen = []

    class Recorder(MLPKerasClassifier):
        def fit(self, X, y, sample_weight=None):
            seen.append(len(X))
            return super().fit(X, y, sample_weight)

    pipe = Pipeline(
        [
            ("subset", SubsetSplitter(0.33, random_state=7)),
            ("mlp", Recorder((32,), epochs=5, learning_rate=0.01, random_state=0)),
        ]
    ).fit(X, y)
    assert seen == [len(X) - math.ceil(0.67 * len(X))]
    assert pipe.predict(X).shape == (len(X),)  # every row at predict time
    assert pipe.score(X, y) > 0.85


def test_subset_as_cv_argument(digits):
    X, y = digits
    splitter = SubsetSplitter(0.33, random_state=7)
    ((train, test),) = list(splitter.split(X, y))
    assert len(train) == len(y) - math.ceil(0.67 * len(y)) and len(train) + len(
        test
    ) == len(y)
    assert not set(train) & set(test)
    scores = cross_val_score(
        MLPKerasClassifier((32,), epochs=5, learning_rate=0.01, random_state=0),
        X,
        y,
        cv=splitter,
    )
    assert scores.shape == (1,) and scores[0] > 0.8


def test_fraction_is_tuned_by_grid_search(digits):
    from imblearn.pipeline import Pipeline

    X, y = digits
    pipe = Pipeline(
        [
            ("subset", SubsetSplitter(random_state=7)),
            (
                "mlp",
                MLPKerasClassifier((16,), epochs=3, learning_rate=0.01, random_state=0),
            ),
        ]
    )
    search = GridSearchCV(
        pipe, {"subset__fraction": [0.1, 0.5]}, cv=2, error_score="raise"
    ).fit(X, y)
    means = search.cv_results_["mean_test_score"]
    assert means[1] > means[0]  # more data, better model
    assert search.best_params_["subset__fraction"] == 0.5
