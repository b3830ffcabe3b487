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

EXPECTED_FAILED_CHECKS = {
    name: {"check_no_attributes_set_in_init": _SKORCH_INIT}
    for name in ("LipschitzClassifier", "LipschitzRegressor")
}


@parametrize_with_checks(
    ESTIMATORS,
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS.get(
        type(est).__name__, {}))
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
