"""Nelder-Mead from many starts in lock-step, so one vectorised loss call scores a point of every run.

The exact-shape fits run the simplex from dozens of starts (a single photo's box: 36 pairings of depth,
elevation and focal length), and one silhouette error costs ~300 us of NumPy call overhead for ~50 us of
arithmetic. Run one at a time, a fit spent most of its time in that overhead; stepped together, each round
evaluates one pending point of every run in a single batched call.

Each run follows scipy.optimize.minimize(method="Nelder-Mead") with adaptive=False exactly: the same
reflection, expansion, contraction and shrink coefficients, the same stopping tests (xatol, fatol), the same
function-evaluation limit (the evaluation that would pass ``max_evals`` is not made) and the same sorting, so a
run's path is scipy's for the same loss values (tests/generation/test_simplex.py compares them).
"""

from __future__ import annotations

from collections.abc import Callable, Generator

import numpy as np

RHO, CHI, PSI, SIGMA = 1.0, 2.0, 0.5, 0.5

_Run = Generator[np.ndarray, float, tuple[np.ndarray, float]]


class _Budget(Exception):
    """A run has used its evaluations (scipy's _MaxFuncCallError)."""


def _run(simplex: np.ndarray, max_evals: int, xatol: float, fatol: float) -> _Run:
    """One Nelder-Mead run as a generator: yields each point to evaluate, receives its loss, returns (x, f)."""
    sim = np.array(simplex, dtype=np.float64)
    n = sim.shape[1]
    fsim = np.full(n + 1, np.inf)
    used = 0

    def f(x: np.ndarray):  # a generator helper: `value = yield from f(x)`
        nonlocal used
        if used >= max_evals:
            raise _Budget
        used += 1
        value = yield x
        return float(value)

    try:
        for k in range(n + 1):
            fsim[k] = yield from f(sim[k])
    except _Budget:
        pass
    ind = np.argsort(fsim)
    sim, fsim = np.take(sim, ind, 0), np.take(fsim, ind, 0)
    while used < max_evals:
        try:
            if np.max(np.abs(sim[1:] - sim[0])) <= xatol and np.max(np.abs(fsim[0] - fsim[1:])) <= fatol:
                break
            xbar = np.add.reduce(sim[:-1], 0) / n
            xr = (1 + RHO) * xbar - RHO * sim[-1]
            fxr = yield from f(xr)
            if fxr < fsim[0]:
                xe = (1 + RHO * CHI) * xbar - RHO * CHI * sim[-1]
                fxe = yield from f(xe)
                sim[-1], fsim[-1] = (xe, fxe) if fxe < fxr else (xr, fxr)
            elif fxr < fsim[-2]:
                sim[-1], fsim[-1] = xr, fxr
            else:
                shrink = False
                if fxr < fsim[-1]:
                    xc = (1 + PSI * RHO) * xbar - PSI * RHO * sim[-1]
                    fxc = yield from f(xc)
                    if fxc <= fxr:
                        sim[-1], fsim[-1] = xc, fxc
                    else:
                        shrink = True
                else:
                    xcc = (1 - PSI) * xbar + PSI * sim[-1]
                    fxcc = yield from f(xcc)
                    if fxcc < fsim[-1]:
                        sim[-1], fsim[-1] = xcc, fxcc
                    else:
                        shrink = True
                if shrink:
                    for j in range(1, n + 1):
                        sim[j] = sim[0] + SIGMA * (sim[j] - sim[0])
                        fsim[j] = yield from f(sim[j])
        except _Budget:
            pass
        ind = np.argsort(fsim)
        sim, fsim = np.take(sim, ind, 0), np.take(fsim, ind, 0)
    return sim[0], float(np.min(fsim))


def minimize_many(
    loss: Callable[[np.ndarray, np.ndarray], np.ndarray],
    simplices: list[np.ndarray],
    *,
    max_evals: int,
    xatol: float,
    fatol: float,
) -> list[tuple[np.ndarray, float]]:
    """Minimise ``loss`` from each initial simplex ((n + 1, n) arrays); (x, f) of each run, in order.

    ``loss(points, runs)`` takes a (k, n) array of points and the index of the run each belongs to (its
    simplex's place in ``simplices``) and returns their k values; it is called once per round with one point
    of every run still going.
    """
    runs = [_run(s, max_evals, xatol, fatol) for s in simplices]
    results: list[tuple[np.ndarray, float] | None] = [None] * len(runs)
    pending: dict[int, np.ndarray] = {}
    for i, run in enumerate(runs):
        try:
            pending[i] = next(run)
        except StopIteration as done:
            results[i] = done.value
    while pending:
        order = list(pending)
        values = loss(np.stack([pending[i] for i in order]), np.array(order))
        pending = {}
        for i, value in zip(order, values, strict=True):
            try:
                pending[i] = runs[i].send(float(value))
            except StopIteration as done:
                results[i] = done.value
    return results  # type: ignore[return-value]
