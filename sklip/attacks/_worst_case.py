"""The worst case over several attacks, per sample (the AutoAttack protocol).

Croce & Hein, *Reliable evaluation of adversarial robustness with an
ensemble of diverse parameter-free attacks*, ICML 2020: run a list of
diverse attacks one after the other, each only on the samples that all
earlier ones failed to misclassify, and keep for every sample the first
adversarial example found. The accuracy on the result is the per-sample
worst case over the list, which is what sklip reports as robustness.

The default list, for a classifier at radius ``eps``:

1. APGD with the cross-entropy (APGD-CE),
2. APGD with the DLR loss (APGD-DLR, 3 classes or more),
3. targeted APGD with the DLR loss against the 9 most likely wrong classes
   (APGD-T, 4 classes or more),
4. PGD with the logit-margin loss of Carlini & Wagner and 5 random
   restarts,
5. the black-box Square Attack (Andriushchenko et al., ECCV 2020), which
   catches gradient masking.

For a regressor: APGD and PGD with restarts on the squared error, then
Square; the worst case is the highest squared error per sample.
"""

import torch
from sklearn.base import clone

from .._validation import check_int, check_real
from ._apgd import APGDAttack
from ._base import Attack
from ._checks import check_attack_random_state, check_clamp, check_norm
from ._gradient import PGDAttack
from ._runs import iter_worst_of_runs
from ._square import SquareAttack

__all__ = ["WorstCaseAttack", "default_worst_case_attacks"]


def default_worst_case_attacks(n_iter=100, n_queries=5000, n_classes=10):
    """The attacks of the default ensemble, radius and norm left to it.

    Parameters
    ----------
    n_iter : int, default=100
        Iterations of every gradient attack (per restart and target).
    n_queries : int, default=5000
        Queries of the Square Attack.
    n_classes : int or None, default=10
        Number of classes; ``None`` for a regressor. APGD-DLR needs 3
        classes and APGD-T 4, and are left out below that.

    Returns
    -------
    list of (str, Attack)
        Short labels (``"apgd-ce"``, ``"apgd-dlr"``, ``"apgd-t"``,
        ``"pgd-margin"``, ``"square"``) and attacks at ``eps=0``.
    """
    if n_classes is None:
        return [("apgd", APGDAttack(0.0, n_iter=n_iter)),
                ("pgd", PGDAttack(0.0, n_iter=n_iter, n_restarts=5)),
                ("square", SquareAttack(0.0, n_queries=n_queries))]
    members = [("apgd-ce", APGDAttack(0.0, loss="ce", n_iter=n_iter))]
    if n_classes >= 3:
        members.append(("apgd-dlr", APGDAttack(0.0, loss="dlr",
                                               n_iter=n_iter)))
    if n_classes >= 4:
        members.append(("apgd-t", APGDAttack(0.0, loss="dlr", targeted=True,
                                             n_iter=n_iter)))
    members += [("pgd-margin", PGDAttack(0.0, loss="margin", n_iter=n_iter,
                                         n_restarts=5)),
                ("square", SquareAttack(0.0, n_queries=n_queries))]
    return members


class WorstCaseAttack(Attack):
    """Per sample, the first successful example over a list of attacks.

    Parameters
    ----------
    eps : float
        Radius (≥ 0) of every member, in ``norm``.
    norm : {2, "inf"}, default=2
        Norm of every member.
    attacks : list of Attack or of (str, Attack), or None, default=None
        The members, run in order; their own ``eps``, ``norm``, ``clamp``
        and ``random_state`` are replaced by this attack's. ``None`` takes
        :func:`default_worst_case_attacks` (APGD-CE, APGD-DLR, APGD-T,
        margin PGD with 5 restarts, Square) for the model at hand.
    n_iter : int, default=100
        Iterations of the default gradient attacks (with ``attacks=None``).
    n_queries : int, default=5000
        Queries of the default Square Attack (with ``attacks=None``).
    clamp : (float, float) or None, default=None
        Data range ``(low, high)`` of the perturbed inputs.
    random_state : int, RandomState or None, default=None
        Seeds every member's random draws; ``None`` uses torch's global
        random state.

    See Also
    --------
    sklip.metrics.worst_case_accuracy_scorer : its accuracy as a scorer.
    sklip.metrics.attack_breakdown : the accuracy after each member.

    Examples
    --------
    >>> from sklip.attacks import APGDAttack, SquareAttack, WorstCaseAttack
    >>> strong = WorstCaseAttack(eps=2.0, clamp=(0, 1), random_state=0)
    >>> quick = WorstCaseAttack(eps=2.0, attacks=[
    ...     APGDAttack(0, n_iter=20), SquareAttack(0, n_queries=200)])
    >>> [name for name, _ in quick.members(n_classes=10)]
    ['apgd', 'square']
    """

    name = "worst_case"

    @property
    def needs_gradients(self):
        """Whether a member follows gradients (the default members do)."""
        if self.attacks is None:
            return True
        return any(getattr(attack[1] if isinstance(attack, tuple)
                           else attack, "needs_gradients", True)
                   for attack in self.attacks)
    radius_param = "eps"

    def __init__(self, eps, norm=2, attacks=None, n_iter=100,
                 n_queries=5000, clamp=None, random_state=None):
        self.eps = eps
        self.norm = norm
        self.attacks = attacks
        self.n_iter = n_iter
        self.n_queries = n_queries
        self.clamp = clamp
        self.random_state = random_state

    def validate(self):
        check_real(self.eps, "eps", min_val=0)
        check_norm(self.norm)
        check_int(self.n_iter, "n_iter", min_val=1)
        check_int(self.n_queries, "n_queries", min_val=1)
        check_clamp(self.clamp)
        check_attack_random_state(self.random_state)
        if self.attacks is not None and not self._named(self.attacks):
            raise ValueError("attacks must be None or a non-empty list of "
                             "attacks, got an empty one.")
        return self

    @staticmethod
    def _named(attacks):
        if isinstance(attacks, (str, Attack)) or not hasattr(attacks,
                                                             "__iter__"):
            raise TypeError(
                "attacks must be None or a list of Attack objects or of "
                f"(name, Attack) pairs, got {attacks!r}.")
        named = []
        for item in attacks:
            name, attack = item if isinstance(item, tuple) else (
                getattr(item, "name", None), item)
            if not isinstance(attack, Attack) or attack.radius_param != "eps":
                raise TypeError(
                    "every member of attacks must be an Attack with a radius "
                    "eps (FGSM, PGD, APGD, Square; not noise), got "
                    f"{attack!r}.")
            if isinstance(attack, WorstCaseAttack):
                raise TypeError("attacks cannot contain a WorstCaseAttack.")
            named.append((str(name), attack))
        return named

    def members(self, n_classes=10):
        """The attacks run, in order, at this attack's radius and norm.

        Parameters
        ----------
        n_classes : int or None, default=10
            Number of classes of the model; ``None`` for a regressor (used
            to choose the default members).

        Returns
        -------
        list of (str, Attack)
        """
        self.validate()
        named = (self._named(self.attacks) if self.attacks is not None
                 else default_worst_case_attacks(self.n_iter, self.n_queries,
                                                 n_classes))
        shared = {"eps": self.eps, "norm": self.norm, "clamp": self.clamp}
        result = []
        for name, attack in named:
            attack = clone(attack)
            params = attack.get_params()
            attack.set_params(**{k: v for k, v in shared.items()
                                 if k in params})
            if "random_state" in params:
                attack.set_params(random_state=None)  # the shared generator
            result.append((name, attack))
        return result

    def perturb(self, module, X, y=None, loss_fn=None, *, generator=None):
        best = None
        for _, best in self._stages(module, X, y, loss_fn, generator):
            pass
        return best

    perturb.__doc__ = Attack.perturb.__doc__

    def perturb_stages(self, module, X, y=None, loss_fn=None, *,
                       generator=None):
        """The worst case after each member, in order.

        Parameters
        ----------
        module, X, y, loss_fn, generator
            As for :meth:`perturb`.

        Returns
        -------
        list of (str, torch.Tensor)
            The member's label and the perturbed inputs once it has run;
            the last entry is :meth:`perturb`'s result.
        """
        return [(name, best.clone()) for name, best in
                self._stages(module, X, y, loss_fn, generator)]

    def _stages(self, module, X, y, loss_fn, generator):
        """Yield each member's label and the worst case once it has run
        (one tensor, updated in place)."""
        X, y, generator = self._start(module, X, y, loss_fn, generator)
        if loss_fn is not None:
            raise ValueError(
                "WorstCaseAttack gives every member its own loss; pass "
                "loss_fn to a single attack instead.")
        if float(self.eps) == 0 or X.shape[0] == 0:
            yield "clean", self._clamp(X.clone())
            return
        y, _, classify = self._targets(module, X, y, None)
        n_classes = None
        if classify:
            with torch.no_grad():
                n_classes = int(module(X[:1]).shape[1])
        members = self.members(n_classes)

        def run_of(attack):
            def run(rows):
                return attack.perturb(module, X[rows], y[rows],
                                      generator=generator)
            return run

        stages = iter_worst_of_runs(module, X, y, classify,
                                    [run_of(attack) for _, attack in members])
        yield from zip((name for name, _ in members), stages)

    def generate_stages(self, model, X, y=None, *, batch_size=1024):
        """:meth:`perturb_stages` for a fitted estimator and numpy data.

        Parameters
        ----------
        model, X, y, batch_size
            As for :meth:`generate`.

        Returns
        -------
        list of (str, ndarray)
            Each member's label and the worst case once it has run.
        """
        names = []

        def stages(module, X_b, y_b, generator):
            result = self.perturb_stages(module, X_b, y_b,
                                         generator=generator)
            names[:] = [name for name, _ in result]
            return [points for _, points in result]

        arrays = self._batches(model, X, y, batch_size, stages)
        return list(zip(names or ["clean"], arrays))
