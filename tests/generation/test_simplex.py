"""The lock-step Nelder-Mead takes scipy's path: the exact-shape fits moved to it for speed, not new results."""

import numpy as np
import pytest
from scipy.optimize import minimize

from generation.simplex import minimize_many


def _rosenbrock(x: np.ndarray) -> float:
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


def _bumpy(x: np.ndarray) -> float:  # many local basins: contractions and shrinks happen
    return float(np.sum(x**2) + 2.0 * np.sum(np.sin(5 * x) ** 2))


def _flat_then_wall(x: np.ndarray) -> float:  # ties and a penalty wall, like the fits' bound checks
    return 1e3 if x[0] > 0.5 else float(np.round(np.sum((x - 0.2) ** 2), 3))


@pytest.mark.parametrize("func", [_rosenbrock, _bumpy, _flat_then_wall])
@pytest.mark.parametrize("max_evals", [7, 40, 300])
def test_each_run_follows_scipy_exactly(func, max_evals):
    rng = np.random.default_rng(3)
    simplices = []
    for _ in range(5):
        x0 = rng.normal(size=4)
        simplices.append(np.vstack([x0, x0 + 0.3 * np.diag(rng.uniform(0.5, 1.5, 4))]))
    calls = []

    def batched(points: np.ndarray, runs: np.ndarray) -> np.ndarray:
        calls.append(len(points))
        return np.array([func(x) for x in points])

    got = minimize_many(batched, simplices, max_evals=max_evals, xatol=1e-4, fatol=1e-4)
    for sim, (x, f) in zip(simplices, got, strict=True):
        want = minimize(
            func,
            sim[0],
            method="Nelder-Mead",
            options={"maxfev": max_evals, "xatol": 1e-4, "fatol": 1e-4, "initial_simplex": sim},
        )
        assert f == want.fun
        assert np.array_equal(x, want.x)
    # every round scores one point of every run still going, and no run passes its budget
    assert max(calls) == 5 and sum(calls) <= 5 * max_evals


def test_each_point_is_scored_for_its_own_run():
    # two runs minimising different targets through one loss: the run index must travel with each point
    targets = np.array([[1.0, -2.0], [-3.0, 0.5]])

    def batched(points: np.ndarray, runs: np.ndarray) -> np.ndarray:
        return ((points - targets[runs]) ** 2).sum(1)

    simplex = np.vstack([np.zeros(2), 0.5 * np.eye(2)])
    got = minimize_many(batched, [simplex, simplex], max_evals=400, xatol=1e-6, fatol=1e-9)
    for (x, f), target in zip(got, targets, strict=True):
        assert np.allclose(x, target, atol=1e-4) and f < 1e-7
