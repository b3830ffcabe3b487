"""The benchmark's presets: sklip's tuned settings, or the slides' algorithms.

``"tuned"`` (the default) trains every method with the settings sklip
searched on MNIST (``benchmarks/search_defaults.py``; the regularisers'
defaults, :data:`sklip.benchmark.METHOD_PARAMS`). ``"slides"`` trains the
methods of the slides' Table 1 (standard training, CLIP, SumLip, TV, pTV
and ADV FGSM) as the slides' algorithms describe them, where those differ
from the tuned defaults:

- **CLIP and SumLip** keep a pair's ascent step only when it raised the
  difference quotient, growing the step by 1.3, and undo it otherwise,
  shrinking the step (the CLIP reference's rule, ``step_rule="accept"``);
  the tuned default keeps every step and adapts the step by the sign of
  the gradient, which needs one pass fewer.
- **pTV** as its algorithm box: every point of a batch anchors a pair
  (``n_anchors=None``; tuned: an eighth of the batch), ε is multiplied by
  0.9 after every epoch (tuned: a fixed radius), and λ moves by ±dλ after
  every batch against the threshold α of the running training accuracy.
  The slides give no values for ε, λ, α and dλ: ε and λ start at the tuned
  values, α = 0.95 (the clean-accuracy floor of sklip's default search) and
  dλ = 0.01.
- **ADV FGSM** (``adversarial_fgsm``) and **TV** are the slides' methods
  in both presets; standard training has nothing to set.

The slides' pTV box names SGD with momentum as its optimiser; both presets
train every method with the benchmark's Adam, so that the rows differ by
their method only. Methods outside the slides' Table 1 (PGD adversarial
training, margin training, the 1-Lipschitz network) keep their tuned
settings in either preset.
"""

from ._benchmark_checks import OptionError

__all__ = ["PRESETS", "SLIDES_METHODS", "SLIDES_PARAMS", "check_preset",
           "preset_params", "slides_methods"]

#: The benchmark's presets.
PRESETS = ("tuned", "slides")

#: The methods of the slides' Table 1 (and CLIP), run by ``--preset
#: slides`` unless ``--methods`` says otherwise.
SLIDES_METHODS = ("none", "clip", "sumlip", "tv", "ptv", "adversarial_fgsm")

#: The discrepancy rule of the slides' pTV: threshold α and step dλ.
SLIDES_TARGET_ACCURACY = 0.95
SLIDES_LAMBDA_STEP = 0.01

#: Estimator parameters by which ``"slides"`` differs from ``"tuned"``.
SLIDES_PARAMS = {
    "clip": {"regularizer__step_rule": "accept"},
    "sumlip": {"regularizer__step_rule": "accept"},
    "ptv": {"regularizer__n_anchors": None, "epsilon_decay": 0.9,
            "target_accuracy": SLIDES_TARGET_ACCURACY,
            "reg_lambda_step": SLIDES_LAMBDA_STEP,
            "reg_lambda_update": "batch"},
}


def preset_params(method, params, preset):
    """A method's estimator parameters under ``preset``.

    Parameters
    ----------
    method : str
        A benchmark method.
    params : dict
        Its tuned parameters.
    preset : {"tuned", "slides"}

    Returns
    -------
    dict
        ``params``, updated with the slides' settings for ``"slides"``.

    Examples
    --------
    >>> from sklip._benchmark_presets import preset_params
    >>> preset_params("clip", {"regularizer": "clip"}, "slides")
    {'regularizer': 'clip', 'regularizer__step_rule': 'accept'}
    """
    if preset == "slides":
        return {**params, **SLIDES_PARAMS.get(method, {})}
    return dict(params)


def check_preset(preset, path=False):
    """``preset``, checked (the λ path mode only knows ``"tuned"``)."""
    if not (isinstance(preset, str) and preset in PRESETS):
        raise OptionError("preset", f"must be one of {list(PRESETS)}, got "
                          f"{preset!r}.")
    if path and preset != "tuned":
        raise OptionError("preset", "must be 'tuned' with path: the λ path "
                          "of every method is drawn at its tuned settings.")
    return preset


def slides_methods(available):
    """The slides' methods among ``available``, in the slides' order."""
    return [method for method in SLIDES_METHODS if method in available]
