"""Topic cross-tabulations and a test of independence that holds for small counts.

:func:`topic_by` counts, for each question topic and each group (category, department, bureau,
fiscal year), the distinct utterances that carry the topic in a deliberation of that group.
:func:`independence_test` tests a table of counts for independence of rows and columns:

- 2×2: Fisher's exact test (two-sided: the tables with the same margins that are no more probable
  than the one observed), computed with integers, so exactly;
- r×c with every expected count at least 5 (Cochran's rule): Pearson's chi-square against its
  asymptotic chi-square distribution with (r-1)(c-1) degrees of freedom;
- r×c with any expected count below 5: the permutation distribution of Pearson's chi-square
  given both margins — enumerated exactly when there are few enough tables, otherwise sampled
  (Monte Carlo, ``permutations`` tables drawn with a fixed seed, so the p-value is
  reproducible), like R's ``chisq.test(simulate.p.value = TRUE)``.

Counting caveats, also noted in the result's ``warning`` where they apply: one utterance may
carry several topics, and a deliberation may cover 諮問 of several categories or departments, so
the cells of a topic table are not disjoint observations. Read the p-value as a screening device,
and prefer one topic against the rest (:func:`topic_vs_rest`) when a single topic is the question.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from fractions import Fraction
from typing import Literal

import numpy as np
import polars as pl

__all__ = [
    "BY_CHOICES",
    "chi2_sf",
    "fisher_exact_2x2",
    "independence_test",
    "topic_by",
    "topic_vs_rest",
]

BY_CHOICES = ("category", "department", "bureau", "fiscal_year")
UNKNOWN = "(unknown)"
_KEY = ["meeting_id", "deliberation_group", "seq"]
_FISCAL_YEAR = re.compile(r"-(\d{4})-")


# ---------------------------------------------------------------------------- tables
def _groups(
    by: str, consultations: pl.DataFrame, meetings: pl.DataFrame | None, ids: pl.DataFrame
) -> pl.DataFrame:
    """meeting_id, deliberation_group, group — one row per distinct group of a deliberation."""
    deliberation = ["meeting_id", "deliberation_group"]
    if by == "category":
        g = consultations.select(*deliberation, pl.col("category").alias("group"))
    elif by == "bureau":
        g = consultations.select(*deliberation, pl.col("bureau").alias("group"))
    elif by == "department":
        g = (
            consultations.select(*deliberation, pl.col("departments").alias("group")).explode(
                "group"
            )  # no departments: null, counted as (unknown)
        )
    else:  # fiscal_year: from meetings when given, else from the meeting_id (tama-2020-09)
        if meetings is not None and "fiscal_year" in meetings.columns:
            years = meetings.select("meeting_id", pl.col("fiscal_year").cast(pl.String))
        else:
            years = (
                ids.select("meeting_id")
                .unique()
                .with_columns(
                    pl.col("meeting_id").str.extract(_FISCAL_YEAR.pattern, 1).alias("fiscal_year")
                )
            )
        g = (
            ids.select(deliberation)
            .unique()
            .join(years, on="meeting_id", how="left")
            .rename({"fiscal_year": "group"})
        )
    return g.with_columns(pl.col("group").cast(pl.String).fill_null(UNKNOWN)).unique()


def topic_by(
    question_topics: pl.DataFrame,
    utterances: pl.DataFrame,
    consultations: pl.DataFrame,
    by: Literal["category", "department", "bureau", "fiscal_year"] = "category",
    *,
    meetings: pl.DataFrame | None = None,
    kinds: Sequence[str] | None = None,
    wide: bool = True,
    tagged: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Counts of distinct utterances per topic × group.

    ``by``: ``category`` or ``bureau`` of the deliberation's 諮問, ``department`` (its
    ``departments`` exploded) or ``fiscal_year`` (from ``meetings``, else from the meeting_id).
    An utterance whose deliberation covers several groups counts once in each; it never counts
    twice in one cell. ``kinds`` keeps only utterances of those kinds (e.g. ``["question"]``).
    Topics that are tagged on no kept utterance, and groups none of whose utterances is tagged,
    do not appear. Groups that cannot be told are ``(unknown)``.

    Wide (default): a ``topic`` column, then one count column per group, in sorted order, rows in
    topic order. Long (``wide=False``): ``topic``, ``group``, ``n``.

    ``tagged``: the rows to count when the caller already has them — one row per distinct
    (utterance, topic) of the utterances kept, with meeting_id, deliberation_group, seq and
    topic (e.g. :func:`analysis.report_helpers.council_topics`); ``question_topics``,
    ``utterances`` and ``kinds`` are then not read.
    """
    if by not in BY_CHOICES:
        raise ValueError(f"by must be one of: {', '.join(BY_CHOICES)}; got '{by}'")
    if tagged is None:
        kept = utterances.select(*_KEY, "kind")
        if kinds is not None:
            kept = kept.filter(pl.col("kind").is_in(list(kinds)))
        tagged = (
            question_topics.select(*_KEY, "topic")
            .unique()
            .join(kept.select(_KEY), on=_KEY, how="semi")
        )
    else:
        tagged = tagged.select(*_KEY, "topic")
    groups = _groups(by, consultations, meetings, tagged)
    # tagged is unique per (utterance, topic) and groups per (deliberation, group): the rows
    # of the join are distinct, so each utterance counts once per cell without a unique()
    long = (
        tagged.join(groups, on=["meeting_id", "deliberation_group"], how="left")
        .with_columns(pl.col("group").fill_null(UNKNOWN))
        .group_by("topic", "group")
        .agg(pl.len().cast(pl.Int64).alias("n"))
        .sort("topic", "group")
    )
    if not wide:
        return long
    columns = sorted(long["group"].unique().to_list())
    if long.height == 0:
        return pl.DataFrame(schema={"topic": pl.String})
    table = long.pivot(on="group", index="topic", values="n").fill_null(0)
    return table.select("topic", *columns).sort("topic")


def topic_vs_rest(table: pl.DataFrame, topic: str) -> pl.DataFrame:
    """A 2-row table from a wide :func:`topic_by` table: ``topic`` against all other topics."""
    counts = [c for c in table.columns if c != "topic"]
    this = table.filter(pl.col("topic") == topic)
    if this.height == 0:
        raise ValueError(f"topic '{topic}' is not in the table")
    rest = table.filter(pl.col("topic") != topic).select(counts).sum()
    return pl.concat(
        [
            this.select("topic", *counts),
            rest.select(pl.lit("(other topics)").alias("topic"), *counts),
        ],
        how="vertical_relaxed",
    )


# ---------------------------------------------------------------------------- the test
def independence_test(
    table,
    *,
    permutations: int = 20_000,
    seed: int = 20201215,
    exact_limit: int = 100_000,
) -> dict:
    """Test rows × columns of a count table for independence, with small counts in mind.

    ``table``: a polars frame (non-numeric columns are labels, numeric columns are counts), or a
    list of lists / array of counts. Rows and columns that are all zero are dropped first.

    2×2 tables get Fisher's exact test; larger ones the asymptotic chi-square p-value when every
    expected count is at least 5, else the exact permutation test when there are at most
    ``exact_limit`` tables with the margins, else the Monte Carlo one.

    Returns a dict: ``method`` (``fisher_exact``, ``asymptotic_chi2``, ``exact_permutation_chi2``,
    ``monte_carlo_permutation_chi2`` or ``not_testable``), ``statistic`` and
    ``statistic_name`` (the sample odds ratio for Fisher, else Pearson's chi-square),
    ``chi2``, ``dof``, ``p_value`` (None when not testable), ``n``, ``shape`` (after dropping),
    ``min_expected``, ``small_expected`` (share of cells with expected count below 5),
    ``permutations`` and ``seed`` (Monte Carlo only), ``dropped_rows``/``dropped_columns``
    (labels or indices) and ``warning`` (None or a sentence).
    """
    counts, row_labels, col_labels = _as_counts(table)
    if (counts < 0).any():
        raise ValueError("counts must not be negative")
    keep_r = counts.sum(axis=1) > 0
    keep_c = counts.sum(axis=0) > 0
    dropped_rows = [lab for lab, k in zip(row_labels, keep_r, strict=True) if not k]
    dropped_cols = [lab for lab, k in zip(col_labels, keep_c, strict=True) if not k]
    obs = counts[keep_r][:, keep_c]
    r, c = obs.shape
    n = int(obs.sum())
    result: dict = dict(
        method="not_testable",
        statistic=None,
        statistic_name=None,
        chi2=None,
        dof=max(r - 1, 0) * max(c - 1, 0),
        p_value=None,
        n=n,
        shape=(r, c),
        min_expected=None,
        small_expected=None,
        permutations=None,
        seed=None,
        dropped_rows=dropped_rows,
        dropped_columns=dropped_cols,
        warning=None,
    )
    if r < 2 or c < 2:
        result["warning"] = (
            f"nothing to test: after dropping empty rows and columns the table is {r}×{c}"
        )
        return result
    rows, cols = obs.sum(axis=1), obs.sum(axis=0)
    expected = np.outer(rows, cols) / n
    chi2 = _chi2(obs, expected)
    small = float((expected < 5).mean())
    result.update(
        chi2=chi2,
        statistic=chi2,
        statistic_name="chi2",
        min_expected=float(expected.min()),
        small_expected=small,
    )
    if (r, c) == (2, 2):
        p, odds = fisher_exact_2x2(obs)
        result.update(method="fisher_exact", p_value=p, statistic=odds, statistic_name="odds_ratio")
    elif expected.min() >= 5:
        result.update(method="asymptotic_chi2", p_value=chi2_sf(chi2, result["dof"]))
    else:
        p_exact = _exact_chi2_p(obs, expected, chi2, exact_limit)
        if p_exact is not None:
            result.update(method="exact_permutation_chi2", p_value=p_exact)
        else:
            p = _monte_carlo_chi2_p(obs, expected, chi2, permutations, seed)
            result.update(
                method="monte_carlo_permutation_chi2",
                p_value=p,
                permutations=permutations,
                seed=seed,
            )
    warnings = []
    if small > 0.2 or expected.min() < 1:
        warnings.append(
            f"{small:.0%} of cells have an expected count below 5 (smallest "
            f"{expected.min():.2f}): the asymptotic chi-square p-value would be unreliable, "
            f"so the p-value here is {_METHOD_WORDS[result['method']]}"
        )
    if dropped_rows or dropped_cols:
        warnings.append(
            f"dropped {len(dropped_rows)} empty row(s) and {len(dropped_cols)} empty column(s)"
        )
    result["warning"] = "; ".join(warnings) or None
    return result


_METHOD_WORDS = {
    "fisher_exact": "Fisher's exact test",
    "exact_permutation_chi2": "exact (every table with these margins)",
    "monte_carlo_permutation_chi2": "a Monte Carlo permutation estimate",
}


def _as_counts(table) -> tuple[np.ndarray, list, list]:
    if isinstance(table, pl.DataFrame):
        numeric = [c for c, t in table.schema.items() if t.is_numeric()]
        labels = [c for c in table.columns if c not in numeric]
        if not numeric:
            raise ValueError("the table has no count columns")
        rows = table[labels[0]].cast(pl.String).to_list() if labels else list(range(table.height))
        values = table.select(numeric).fill_null(0).to_numpy()
        cols: list = numeric
    else:
        values = np.asarray(table)
        if values.ndim != 2:
            raise ValueError("a table of counts has two dimensions")
        rows, cols = list(range(values.shape[0])), list(range(values.shape[1]))
    if values.size and not np.all(np.equal(np.mod(values, 1), 0)):
        raise ValueError("counts must be whole numbers")
    return values.astype(np.int64).reshape(len(rows), len(cols)), rows, cols


def _chi2(obs: np.ndarray, expected: np.ndarray) -> float:
    return float(((obs - expected) ** 2 / expected).sum())


def fisher_exact_2x2(obs) -> tuple[float, float]:
    """Two-sided Fisher's exact p-value and the sample odds ratio of a 2×2 table (exact)."""
    (a, b), (c, d) = (int(x) for x in obs[0]), (int(x) for x in obs[1])
    r1, r2, c1 = a + b, c + d, a + c
    n = r1 + r2
    lo, hi = max(0, c1 - r2), min(r1, c1)
    # P(X = x) ∝ C(r1, x) C(r2, c1 - x): compare the integer weights, no rounding.
    weights = {x: math.comb(r1, x) * math.comb(r2, c1 - x) for x in range(lo, hi + 1)}
    observed = weights[a]
    p = Fraction(sum(w for w in weights.values() if w <= observed), math.comb(n, c1))
    odds = (a * d) / (b * c) if b * c else (math.nan if a * d == 0 else math.inf)
    return min(1.0, float(p)), odds


def chi2_sf(x: float, dof: int) -> float:
    """P(X >= x) for X chi-square distributed with ``dof`` degrees of freedom: the regularized
    upper incomplete gamma function Q(dof/2, x/2) (Numerical Recipes' ``gammq``)."""
    if dof < 1:
        raise ValueError(f"degrees of freedom must be at least 1; got {dof}")
    if x <= 0:
        return 1.0
    a, z = dof / 2, x / 2
    return 1.0 - _gamma_p_series(a, z) if z < a + 1 else _gamma_q_fraction(a, z)


_GAMMA_EPS = 1e-15
_GAMMA_ITERATIONS = 10_000


def _gamma_p_series(a: float, z: float) -> float:
    """Regularized lower incomplete gamma P(a, z) by its series (converges fast for z < a + 1)."""
    term = total = 1.0 / a
    for k in range(1, _GAMMA_ITERATIONS):
        term *= z / (a + k)
        total += term
        if abs(term) < abs(total) * _GAMMA_EPS:
            break
    return min(1.0, total * math.exp(-z + a * math.log(z) - math.lgamma(a)))


def _gamma_q_fraction(a: float, z: float) -> float:
    """Regularized upper incomplete gamma Q(a, z) by its continued fraction (modified Lentz;
    converges fast for z >= a + 1)."""
    tiny = 1e-300
    b = z + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, _GAMMA_ITERATIONS):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _GAMMA_EPS:
            break
    return max(0.0, math.exp(-z + a * math.log(z) - math.lgamma(a)) * h)


# Relative tolerance when comparing a table's chi-square to the observed one (ties are counted).
_TIE = 1e-9


def _exact_chi2_p(obs: np.ndarray, expected: np.ndarray, chi2: float, limit: int) -> float | None:
    """Sum of the probabilities of all tables with the observed margins whose chi-square is at
    least the observed one; None when there are more than ``limit`` such tables in all."""
    if obs.shape[0] > obs.shape[1]:  # fewer parts per column: fewer partial tables
        obs, expected = obs.T, expected.T
    rows = [int(x) for x in obs.sum(axis=1)]
    cols = [int(x) for x in obs.sum(axis=0)]
    n = sum(rows)
    last = len(cols) - 1
    # Tables without the row caps: an upper bound; far above the limit, do not even try.
    bound = math.prod(math.comb(cj + len(rows) - 1, len(rows) - 1) for cj in cols[:-1])
    if bound > 50 * limit:
        return None
    exp = expected.tolist()
    # log P(table) = sum log r_i! + sum log c_j! - log n! - sum log n_ij!
    lgam = [math.lgamma(k + 1) for k in range(n + 1)]
    const = sum(lgam[x] for x in rows + cols) - lgam[n]
    threshold = chi2 * (1 - _TIE) - _TIE
    total = tail = 0.0
    count = 0

    def walk(j: int, remaining: list[int], stat: float, logw: float) -> None:
        """Fill column j from the row totals left; the last column takes what remains."""
        nonlocal total, tail, count
        options = [tuple(remaining)] if j == last else _compositions(cols[j], remaining)
        for col in options:
            s = stat + _col_chi2(col, exp, j)
            lw = logw - sum(lgam[v] for v in col)
            if j < last:
                walk(j + 1, [x - v for x, v in zip(remaining, col, strict=True)], s, lw)
                continue
            count += 1
            if count > limit:
                raise _TooMany
            prob = math.exp(const + lw)
            total += prob
            if s >= threshold:
                tail += prob

    try:
        walk(0, rows, 0.0, 0.0)
    except _TooMany:
        return None
    return min(1.0, tail / total)


class _TooMany(Exception):
    pass


def _col_chi2(col: Sequence[int], exp: list[list[float]], j: int) -> float:
    return sum((v - exp[i][j]) ** 2 / exp[i][j] for i, v in enumerate(col))


def _compositions(total: int, caps: list[int]):
    """Every way to split ``total`` into len(caps) parts with part i at most caps[i]."""
    if len(caps) == 1:
        if total <= caps[0]:
            yield (total,)
        return
    rest_cap = sum(caps[1:])
    for first in range(max(0, total - rest_cap), min(caps[0], total) + 1):
        for tail in _compositions(total - first, caps[1:]):
            yield (first, *tail)


def _monte_carlo_chi2_p(
    obs: np.ndarray, expected: np.ndarray, chi2: float, permutations: int, seed: int
) -> float:
    """(1 + #tables with chi2 >= observed) / (B + 1) over B random tables with the margins.

    Tables are drawn row by row from the multivariate hypergeometric distribution (each cell
    from the hypergeometric given what is left), vectorised over the B tables.
    """
    rng = np.random.default_rng(seed)
    rows = obs.sum(axis=1)
    cols = obs.sum(axis=0)
    r, c = obs.shape
    hits = 0
    threshold = chi2 * (1 - _TIE) - _TIE
    batch = 5_000
    done = 0
    while done < permutations:
        b = min(batch, permutations - done)
        left_cols = np.tile(cols, (b, 1)).astype(np.int64)
        stat = np.zeros(b)
        for i in range(r):
            if i == r - 1:
                row = left_cols
            else:
                row = np.zeros((b, c), dtype=np.int64)
                need = np.full(b, rows[i], dtype=np.int64)
                for j in range(c - 1):
                    bad = left_cols[:, j + 1 :].sum(axis=1)
                    row[:, j] = rng.hypergeometric(left_cols[:, j], bad, need)
                    need -= row[:, j]
                row[:, c - 1] = need
            stat += (((row - expected[i]) ** 2) / expected[i]).sum(axis=1)
            left_cols = left_cols - row
        hits += int((stat >= threshold).sum())
        done += b
    return (hits + 1) / (permutations + 1)
