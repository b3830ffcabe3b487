"""scikit-learn's own estimator checks over every sklip estimator.

Each expected failure is written down with its reason; there should be as
few as possible.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklip import LipschitzClassifier, LipschitzRegressor


def _small(estimator):
    # Small, fast and deterministic settings: the checks fit hundreds of
    # times on tiny data sets.
    return estimator.set_params(max_epochs=40, hidden_layer_sizes=(32,),
                                lr=0.01, random_state=0)


ESTIMATORS = [_small(LipschitzClassifier()), _small(LipschitzRegressor())]

_SKORCH_INIT = (
    "skorch's NeuralNet.__init__ sets history_, initialized_ and "
    "virtual_params_, which skorch reads before the first fit")

_FLOAT32_BATCHING = (
    "torch's float32 matrix products give results that depend on the batch "
    "size at the 1e-7 level (one sample at a time takes another kernel than "
    "a batch), above the check's absolute tolerance of 1e-7; the "
    "classifier's argmax and float64 softmax hide it")

EXPECTED_FAILED_CHECKS = {
    "LipschitzClassifier": {"check_no_attributes_set_in_init": _SKORCH_INIT},
    "LipschitzRegressor": {"check_no_attributes_set_in_init": _SKORCH_INIT,
                           "check_methods_subset_invariance":
                               _FLOAT32_BATCHING},
}


@parametrize_with_checks(
    ESTIMATORS,
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS.get(
        type(est).__name__, {}))
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
