"""Provides Prioritiser, which orders a reviewer's unscreened queue by predicted relevance (active learning)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.svm import LinearSVC

from reviewkit.domain.records import Record

Model = Literal["nb", "logistic", "svm"]
ColdStart = Literal["given", "random"]
MODELS: tuple[Model, ...] = ("nb", "logistic", "svm")

#: Smoothing for naive Bayes. ASReview's tuned NB uses alpha ~3.8 on TF-IDF features (its
#: "elas_u3" configuration); with titles counted twice (tfidf_matrix) a lighter prior did better
#: on every one of our four benchmark sets (WSS@95 50.9 / 59.4 / 67.9 / 71.0 vs 50.8 / 56.6 / 67.5 /
#: 68.8 at 3.822; 1.5 and 2.5 each lost a set, bench/README.md). Tuned on those same sets.
_NB_ALPHA = 2.0
#: Regularisation for the linear models. Screening trains on a few dozen labels against thousands of
#: features, so strong regularisation (small C) generalises better; ASReview's default SVM
#: ("elas_u4") uses C = 0.11 after tuning on SYNERGY, and on our benchmark C = 1 did worse
#: (Cohen_2006_ADHD WSS@95 22 vs 36, 4 runs), so we keep 0.11.
_SVM_C = 0.11
_LOGISTIC_C = 1.0
#: The screening screen retrains the ranking after this many of a reviewer's decisions: often
#: enough that new includes lift similar records soon, rarely enough that retraining (at 20k records
#: ≤ 0.06 s for nb, ≤ 0.25 s for svm and logistic, bench/README.md) stays unnoticed. The
#: prioritisation bench simulates this cadence by default.
RETRAIN_EVERY = 5
#: Most labels the linear models fit exactly (liblinear) before switching to SGD (_linear_coef).
_EXACT_MAX = 2_000


def record_text(record: Record) -> str:
    """Return the text a ranker reads for a record: title and abstract (keywords when present).

    The title is the first line (tfidf_matrix counts it twice for naive Bayes); the store's
    queries.record_texts builds the same text.
    """
    parts = [record.title, record.abstract, " ".join(record.keywords)]
    return "\n".join(p for p in parts if p)


def tfidf_matrix(texts: Sequence[str], *, model: Model = "nb") -> sparse.csr_matrix:
    """Return the TF-IDF matrix (one L2-normalised row per text) for a review's records.

    Unigrams and bigrams with sublinear term frequency, as ASReview's default feature extractor;
    terms in over 95% of records carry no ranking signal. Stop words are kept: dropping them cost
    11-19 points of WSS@95 on Kitchenham_2010 in our benchmark (bench/README.md). Naive Bayes
    drops terms seen in only one record (past 500 records): its smoothed per-term estimates of
    one-off bigrams are noise, and on our benchmark min_df=2 did better for it (mean WSS@95 59.9
    vs 59.6) while the linear models did better keeping them (svm 60.3 vs 59.2).

    For naive Bayes the first line of each text (the title, as record_text writes it) is counted
    twice: a title states what a study is about, and weighting it up raised NB's WSS@95 on all four
    benchmark sets (mean 60.9 vs 59.9); the SVM lost 1.7 points on Nagtegaal_2019 with it, so the
    linear models read the text once. A text without a title doubles its first line instead.
    """
    min_df = 2 if model == "nb" and len(texts) >= 500 else 1
    if model == "nb":
        texts = [_title_twice(t) for t in texts]
    vectoriser = TfidfVectorizer(
        ngram_range=(1, 2), sublinear_tf=True, min_df=min_df,
        max_df=0.95 if len(texts) >= 20 else 1.0, dtype=np.float32,
    )
    try:
        return sparse.csr_matrix(vectoriser.fit_transform(list(texts)))
    except ValueError:
        # Every text empty (or only one-letter tokens): no features, so every record scores alike.
        return sparse.csr_matrix((len(texts), 1), dtype=np.float32)


def _title_twice(text: str) -> str:
    """Return the text with its first line (the title) repeated before it."""
    title = text.partition("\n")[0]
    return f"{title}\n{text}"


def balanced_weights(y: np.ndarray, ratio: float = 1.0) -> np.ndarray:
    """Return per-sample weights (mean one) giving the includes `ratio` times the excludes' total weight.

    At ratio 1, inverse class-frequency weighting (w_c = n / (2 n_c)) is, in expectation, the same
    as resampling the training set to a 50:50 balance (King & Zeng 2001, "Logistic regression in
    rare events data"), without the variance that random resampling adds. ASReview's "balanced"
    balancer reweights the same way with a ratio parameter (its default SVM uses 9.8: includes
    weigh 9.8 times the excludes in total); bench/README.md compares the two.
    """
    n = len(y)
    n_pos = int(y.sum())
    n_neg = n - n_pos
    pos, neg = ratio / n_pos, 1.0 / n_neg
    scale = n / (ratio + 1.0)  # the weights then sum to n
    return np.where(y, pos * scale, neg * scale)


@dataclass(frozen=True, slots=True)
class Ranking:
    """An ordered queue and how it was made.

    order: unlabelled record indexes, best first. scores: the model's relevance score for each index
    in `order` (higher = more likely relevant; None when no model was fitted). fitted: whether a
    model ranked the queue; reason: why not, when it did not.
    """

    order: np.ndarray
    scores: np.ndarray | None
    fitted: bool
    model: Model
    n_included: int
    n_excluded: int
    reason: str = ""


class Prioritiser:
    """Ranks unscreened records by predicted relevance, retrained from the labels passed each time.

    The TF-IDF matrix is built once (it does not depend on labels) and cached, so each `rank` call
    only refits the classifier on the labelled rows and scores the rest. `rank` is a pure function
    of the labels it is given (no model is carried over between calls), so a reviewer's queue never
    depends on decisions the caller did not pass.
    """

    def __init__(
        self,
        texts: Sequence[str] | None = None,
        *,
        model: Model = "nb",
        seed: int = 0,
        cold_start: ColdStart = "given",
        matrix: sparse.spmatrix | None = None,
        balance_ratio: float = 1.0,
        c: float | None = None,
    ) -> None:
        if model not in MODELS:
            raise ValueError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
        if cold_start not in ("given", "random"):
            raise ValueError(f"unknown cold_start {cold_start!r}; choose 'given' or 'random'")
        if matrix is None:
            if texts is None:
                raise ValueError("give texts or a precomputed matrix")
            matrix = tfidf_matrix(texts, model=model)
        self.matrix = sparse.csr_matrix(matrix)
        self.model: Model = model
        self.seed = seed
        self.cold_start: ColdStart = cold_start
        if balance_ratio <= 0:
            raise ValueError(f"balance_ratio must be positive, not {balance_ratio}")
        #: Total weight of the includes relative to the excludes (balanced_weights).
        self.balance_ratio = balance_ratio
        #: The linear models' regularisation (default _SVM_C or _LOGISTIC_C); unused by naive Bayes.
        self.c = c

    @property
    def n_records(self) -> int:
        """How many records the prioritiser ranks."""
        return int(self.matrix.shape[0])

    def rank(self, labelled: Mapping[int, bool]) -> np.ndarray:
        """Return the unlabelled record indexes, most likely relevant first."""
        return self.ranking(labelled).order

    def ranking(self, labelled: Mapping[int, bool]) -> Ranking:
        """Return the ranked queue with its scores, or the cold-start order when no model can fit."""
        n = self.n_records
        # Sorted so the fit does not depend on the order decisions were made or passed in.
        idx = np.array(sorted(labelled), dtype=np.int64)
        if idx.size and (idx[0] < 0 or idx[-1] >= n):
            raise IndexError(f"labelled index out of range 0..{n - 1}")
        y = np.array([bool(labelled[int(i)]) for i in idx], dtype=bool)
        mask = np.ones(n, dtype=bool)
        mask[idx] = False
        pool = np.flatnonzero(mask)
        n_inc, n_exc = int(y.sum()), int(len(y) - y.sum())
        if n_inc == 0 or n_exc == 0:
            # A classifier needs both classes; until then keep the caller's order (or a seeded
            # shuffle, so no record is favoured by import order).
            if self.cold_start == "random":
                pool = np.random.default_rng(self.seed).permutation(pool)
            missing = "include" if n_inc == 0 else "exclude"
            return Ranking(pool, None, False, self.model, n_inc, n_exc,
                           f"cold start: no {missing} decision yet")
        scores = self.scores(idx, y, pool)
        # Stable sort on the negated score: ties keep the given order, so ranks are reproducible.
        order = np.argsort(-scores, kind="stable")
        return Ranking(pool[order], scores[order], True, self.model, n_inc, n_exc)

    def scores(self, idx: np.ndarray, y: np.ndarray, pool: np.ndarray) -> np.ndarray:
        """Fit the classifier on rows `idx` with labels `y` and return relevance scores for `pool`."""
        x_train = self.matrix[idx]
        weights = balanced_weights(y, self.balance_ratio)
        if self.model == "nb":
            coef, intercept = _nb_coef(x_train, y, weights)
        else:
            default_c = _SVM_C if self.model == "svm" else _LOGISTIC_C
            coef, intercept = _linear_coef(x_train, y, weights, self.model, self.seed,
                                           self.c if self.c is not None else default_c)
        # Linear in the features for every model: one sparse product scores every record (cheaper
        # than copying the pool's rows out of the matrix first).
        return np.asarray(self.matrix @ coef, dtype=np.float64).ravel()[pool] + intercept


def _linear_coef(
    x_train: sparse.csr_matrix, y: np.ndarray, weights: np.ndarray, model: Model, seed: int, c: float
) -> tuple[np.ndarray, float]:
    """Fit a linear SVM (squared hinge) or L2 logistic regression; return (coef, intercept).

    Up to _EXACT_MAX labels liblinear solves the problem exactly (milliseconds at screening
    sizes). Past that it grows to seconds (LinearSVC ~4 s with 10,000 labels at 20,000 records,
    bench/README.md), so a fixed five passes of SGD on the same L2-regularised loss
    (alpha = 1 / (C n) matches liblinear's C with mean-one weights) keep an update under 1 s.
    Both are seeded, so the fit is a deterministic function of the labels.
    """
    n = len(y)
    clf: LinearSVC | LogisticRegression | SGDClassifier
    if n <= _EXACT_MAX:
        if model == "svm":
            clf = LinearSVC(C=c, random_state=seed)
        else:
            clf = LogisticRegression(C=c, solver="liblinear", dual=True, random_state=seed)
    else:
        clf = SGDClassifier(
            loss="squared_hinge" if model == "svm" else "log_loss", alpha=1.0 / (c * n),
            max_iter=5, tol=None, random_state=seed,
        )
    clf.fit(x_train, y, sample_weight=weights)
    return np.asarray(clf.coef_).ravel().astype(np.float32), float(clf.intercept_[0])


def _nb_coef(
    x_train: sparse.csr_matrix, y: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, float]:
    """Fit multinomial naive Bayes and return its log-odds of relevance as (coef, intercept).

    For a multinomial model the log-odds is linear in the features (McCallum & Nigam 1998):
    coef_t = log P(t | relevant) - log P(t | irrelevant), with Lidstone-smoothed (alpha) weighted
    term totals per class, and the intercept is the log ratio of the weighted class totals. This
    is what sklearn's MultinomialNB computes (a test checks they agree), without its dense
    validation passes over every feature, which dominated an update at 20,000 records.
    """
    pos = (weights * y).astype(np.float64)
    neg = (weights * ~y).astype(np.float64)
    # The transpose is a free CSC view: its matrix-vector product needs no conversion.
    xt = x_train.T
    count_pos = np.asarray(xt @ pos).ravel() + _NB_ALPHA
    count_neg = np.asarray(xt @ neg).ravel() + _NB_ALPHA
    coef = (np.log(count_pos) - np.log(count_pos.sum())) - (
        np.log(count_neg) - np.log(count_neg.sum())
    )
    return coef.astype(np.float32), float(np.log(pos.sum()) - np.log(neg.sum()))
