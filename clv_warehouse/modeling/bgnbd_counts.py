"""The BG/NBD purchase count of the next ``t`` time units as a distribution, computed stably.

lifetimes' closed form of E[X(t) | history] goes through a Gauss hypergeometric function
that loses every digit when a fit runs to extreme parameters (r and alpha near 1e7, a near
1e-9, b near 1e8 on a three-customer fixture): it returned E[X] = 0.275 where the model's
own P(X >= 1) is 0.449, which no count can do. Here the count is built from its two parts,
each with a distribution that stays exact for any parameters:

Given that the customer is alive at T (after x repeat purchases), the posterior of the
purchase rate is lambda ~ Gamma(r + x, alpha + T) and of the dropout chance p ~ Beta(a, b + x),
independently. From T on, purchases would arrive as a Poisson process (N potential purchases
in t, negative binomial after mixing over lambda), and the customer drops out right after
purchase number D ~ Geometric(p) (P(D >= k) = E[(1 - p)^(k - 1)]). The count is
X = min(N, D), so

    P(X >= k | alive) = P(N >= k) * P(D >= k)          for k >= 1
    E[X | alive]      = sum over k >= 1 of P(N >= k) * P(D >= k)

and unconditionally P(X >= k) = p_alive * P(X >= k | alive). Every term is a probability, so
E[X] >= P(X >= 1) holds for every fit. The sum runs until P(N >= k) is below 1e-12 for every
customer of a group of similar length (term_groups; at most MAX_COUNT terms); where lifetimes'
formula is accurate the two agree to 1e-9 (tests/unit/test_bgnbd_counts.py).

Outputs depend on (frequency, T) only (p_alive carries the recency), so they are computed
once per distinct pair: a few thousand at most, whatever the number of customers.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

# Counts beyond this are not summed; P(N >= MAX_COUNT) is added as a bound on what is left.
MAX_COUNT = 5000
# The sum stops where P(N >= k) < TAIL for every customer of a chunk.
TAIL = 1e-12
# Cells (customers x counts) held at once.
CHUNK_CELLS = 4_000_000


def _posterior(r, alpha, a, b, frequency, age):
    """Posterior parameters given alive: lambda ~ Gamma(r_x, alpha_x), p ~ Beta(a, b_x)."""
    frequency = np.asarray(frequency, float)
    return r + frequency, alpha + np.asarray(age, float), a, b + frequency


def negative_binomial_survival(r_x, alpha_x, horizon, max_count) -> np.ndarray:
    """P(N >= k) for k = 1..max_count, N the potential purchases in ``horizon``: negative
    binomial with r_x "successes" of chance alpha_x / (alpha_x + horizon). Shape (rows,
    max_count).

    Summed from the probabilities of each count, in logs (a running sum of
    log((r_x + i) / (i + 1)), exact for any r_x), from the far end, plus scipy's exact tail
    beyond max_count: one special function call per row instead of one per cell, which made
    the 12 monthly CLV horizons of heavy buyers cost minutes.
    """
    r_x = np.asarray(r_x, float)[:, None]
    alpha_x = np.asarray(alpha_x, float)[:, None]
    log_success = -np.log1p(horizon / alpha_x)
    log_failure = np.log(horizon) - np.log(alpha_x + horizon)
    i = np.arange(max_count, dtype=float)[None, :]
    # log P(N = j) for j = 1..max_count
    log_pmf = r_x * log_success + np.cumsum(np.log((r_x + i) / (i + 1)) + log_failure, axis=1)
    tail = stats.nbinom.sf(max_count, r_x[:, 0], np.exp(log_success[:, 0]))
    from_the_end = np.cumsum(np.exp(log_pmf)[:, ::-1], axis=1)[:, ::-1]
    return from_the_end + tail[:, None]


def count_survival_if_alive(r, alpha, a, b, frequency, age, horizon, max_count):
    """P(X >= k | alive) for k = 1..max_count: an array of shape (customers, max_count)."""
    r_x, alpha_x, a_x, b_x = _posterior(r, alpha, a, b, frequency, age)
    k = np.arange(1, max_count + 1, dtype=float)
    potential = negative_binomial_survival(r_x, alpha_x, horizon, max_count)
    # P(D >= k) = prod over j = 1..k-1 of (b_x + j - 1) / (a + b_x + j - 1): exact, no Beta
    # functions of huge arguments.
    j = k[None, : max_count - 1]
    ratios = (b_x[:, None] + j - 1) / (a_x + b_x[:, None] + j - 1)
    staying = np.concatenate([np.ones((len(r_x), 1)), np.cumprod(ratios, axis=1)], axis=1)
    return potential * staying


def _terms_each(r, alpha, frequency, age, horizon) -> np.ndarray:
    """How many terms each (frequency, age) pair's sum needs: P(N >= k) < TAIL beyond."""
    r_x, alpha_x = r + np.asarray(frequency, float), alpha + np.asarray(age, float)
    last = stats.nbinom.isf(TAIL, r_x, alpha_x / (alpha_x + horizon))
    last = np.where(np.isfinite(last), last, MAX_COUNT)
    return np.clip(last + 1, 1, MAX_COUNT).astype(np.int64)


def term_groups(r, alpha, frequency, age, horizon, extra: int = 0):
    """The pairs in groups of similar length, as (pair indices, terms) with at most
    CHUNK_CELLS cells each. A pair's sum needs about as many terms as it expects purchases;
    grouped by that length rounded up to a power of two, a few heavy buyers (hundreds of
    terms) no longer make every customer's sum as long as theirs."""
    needed = _terms_each(r, alpha, frequency, age, horizon) + extra
    width = 2 ** np.ceil(np.log2(needed)).astype(np.int64)
    for value in np.unique(width):
        rows = np.flatnonzero(width == value)
        terms = int(needed[rows].max())
        step = max(1, CHUNK_CELLS // terms)
        for start in range(0, len(rows), step):
            yield rows[start : start + step], terms


def expected_count_if_alive(r, alpha, a, b, frequency, age, horizon) -> np.ndarray:
    """E[X(horizon) | alive at T], per customer; frequency and age (T) in the fit's unit."""
    return expected_counts_if_alive(r, alpha, a, b, frequency, age, [horizon])[:, 0]


def expected_counts_if_alive(r, alpha, a, b, frequency, age, horizons) -> np.ndarray:
    """E[X(t) | alive at T] for each horizon t: shape (customers, horizons). The distinct
    (frequency, T) pairs are found once for all horizons (the CLV's 12 months)."""
    frequency = np.asarray(frequency, float)
    age = np.asarray(age, float)
    out = np.zeros((len(frequency), len(horizons)))
    if len(frequency) == 0:
        return out
    pairs, inverse = np.unique(np.column_stack([frequency, age]), axis=0, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    for column, horizon in enumerate(horizons):
        means = np.zeros(len(pairs))
        for rows, terms in term_groups(r, alpha, pairs[:, 0], pairs[:, 1], horizon):
            survival = count_survival_if_alive(
                r, alpha, a, b, pairs[rows, 0], pairs[rows, 1], horizon, terms
            )
            means[rows] = survival.sum(axis=1)
        out[:, column] = means[inverse]
    return out


def probability_of_none_if_alive(r, alpha, frequency, age, horizon) -> np.ndarray:
    """P(X(horizon) = 0 | alive) = ((alpha + T) / (alpha + T + t))^(r + x)."""
    r_x, alpha_x = r + np.asarray(frequency, float), alpha + np.asarray(age, float)
    return np.exp(-r_x * np.log1p(horizon / alpha_x))


def sample_counts_given_any(r, alpha, a, b, frequency, age, horizon, uniforms) -> np.ndarray:
    """Purchase counts drawn from X | X >= 1 (which does not depend on p_alive), one row of
    draws per customer: ``uniforms`` (customers, draws) in [0, 1) pass through each
    customer's inverse distribution function."""
    frequency, age = np.asarray(frequency, float), np.asarray(age, float)
    uniforms = np.asarray(uniforms, float)
    counts = np.ones(uniforms.shape, dtype=np.int64)
    if len(frequency) == 0:
        return counts
    pairs, inverse = np.unique(np.column_stack([frequency, age]), axis=0, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    customers_of = np.argsort(inverse, kind="stable")
    starts = np.searchsorted(inverse[customers_of], np.arange(len(pairs) + 1))
    for rows, terms in term_groups(r, alpha, pairs[:, 0], pairs[:, 1], horizon, extra=1):
        survival = count_survival_if_alive(
            r, alpha, a, b, pairs[rows, 0], pairs[rows, 1], horizon, terms
        )
        # P(X = k | X >= 1) for k = 1..terms; what is left beyond goes to the last count.
        given_any = survival / np.maximum(survival[:, :1], np.finfo(float).tiny)
        probabilities = given_any - np.concatenate([given_any[:, 1:], np.zeros((len(rows), 1))], 1)
        cumulative = np.cumsum(np.clip(probabilities, 0, None), axis=1)
        cumulative /= cumulative[:, -1:]
        # One sorted array for the group: its pair i's distribution function shifted up by i.
        shifted = (cumulative + np.arange(len(rows))[:, None]).ravel()
        customers = np.concatenate([customers_of[starts[p] : starts[p + 1]] for p in rows])
        local = np.empty(len(pairs), dtype=np.int64)
        local[rows] = np.arange(len(rows))
        offset = local[inverse[customers]][:, None]
        position = np.searchsorted(shifted, uniforms[customers] + offset, side="right")
        counts[customers] = np.minimum(position - offset * terms, terms - 1) + 1
    return counts
