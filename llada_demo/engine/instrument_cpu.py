"""The page's numbers for one pass on the CPU, in one compiled loop per row (numba).

`instrument.measure` and `instrument.pass_on_host` hand their work here when the model runs on the CPU in
float32 and its logits are at hand (the diffusion sampler's case; LLaDA 2's and DiffusionGemma's panes too).
Eager PyTorch computes the top-k and the entropy of the selected rows in about a dozen operations, five of
them passes over the whole (M, V) block (the class maxima, the subtraction into a scratch buffer, the
product, the sum, the selection), each a kernel that finds its data out of the cache again; on a wide
vocabulary that costs several per cent of a forward pass (bench/bench_instrumentation.py). Here one compiled
loop per selected row reads the row's probabilities and logits while the row (8 V bytes) sits in the core's
cache, with no scratch buffer and no intermediate tensors:

- top-k as `instrument.top_k` does it: the maximum of each class of entries (id modulo C, the same C), then
  an insertion into a sorted k-list over the k best classes' entries and the V mod C last ones only (rows
  narrower than 2k classes: over the whole row). The answer is torch.topk's, ties aside;
- entropy by the same rule, H = sum_v p_v (l_t - l_v) - log p_t at the top candidate t, summed in float64
  (p_v = 0 counts 0, as the torch path's nansum does);
- the probability of each guess, at every position.

Same values as the torch path: the top-k probabilities are the very float32 entries, the entropy agrees to
float32 rounding. `instrument` imports this module (and so numba) on first use only, and keeps to its torch
code where numba is missing. Compiled on first use (about 3 s) and cached on disk by numba (`cache=True`,
in __pycache__ beside this file, or numba's cache folder where that is read-only), so later processes
load it in a fraction of a second.

What it is not: no GPU path (CUDA keeps the torch code, where each operation is one kernel launch), no half
precision (numba has no bfloat16), no entropy from probabilities alone (that needs a logarithm per entry;
the torch path does it), and it never draws random numbers.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from numba import njit


def serves(probs: torch.Tensor, logits: torch.Tensor | None) -> bool:
    """Whether this module can measure these tensors: float32 on the CPU, logits given."""
    return logits is not None and all(t.device.type == "cpu" and t.dtype == torch.float32 and not t.requires_grad
                                      for t in (probs, logits))


def measure(probs: torch.Tensor, guesses: torch.Tensor, rows: torch.Tensor, k: int, logits: torch.Tensor,
            class_count: int):
    """(probability (L,), where (M,), top_ids (M, k), top_probs (M, k), entropy (M,), positions) as
    `instrument.measure` returns them; probs and logits (L, V) float32 on the CPU (see `serves`).

    class_count: `instrument.class_count(V, k)`, the number of classes of the top-k's first step.
    """
    where, probability, top_probs, top_ids, entropy = measured(
        probs.numpy(), logits.numpy(), guesses.numpy(), rows.numpy(), min(k, probs.shape[-1]), class_count)
    return (torch.from_numpy(probability), torch.from_numpy(where), torch.from_numpy(top_ids),
            torch.from_numpy(top_probs), torch.from_numpy(entropy), tuple(where.tolist()))


def pass_on_host(L: int, k: int, class_count: int, scale: float, canvas: np.ndarray, probs: torch.Tensor,
                 guesses: torch.Tensor, rows: torch.Tensor, logits: torch.Tensor, committed: torch.Tensor,
                 remasked: torch.Tensor, score: torch.Tensor) -> dict:
    """`instrument.pass_on_host` in one compiled call, the same fields, for a batch of one.

    The run's constants come first (`instrument` binds them once per run: even reading a tensor's shape or
    device costs microseconds after a forward pass): L, k = min(k, V), `instrument.class_count(V, k)`, the
    rounding's scale 10^digits, and canvas, the numpy view of the canvas x (1, P + L), which the sampler
    writes in place. Then this pass's tensors as `instrument.pass_on_host` takes them.

    The kernel packs and rounds every number, lists the committed and remasked positions, and writes two
    index lists that place the per-row values at their positions: `row` (each position's selected row, M
    where there is none) and `at` (the position itself where its score is finite, else L). After the two
    `tolist`s each field is then one C-level pass (a slice, or a map over an index list into the values with a
    None or () appended), not a Python loop."""
    floats, ints, chosen, dropped, M = pass_values(
        probs.numpy(), logits.numpy(), guesses.numpy(), rows.numpy(), k, class_count, canvas, committed.numpy(),
        remasked.numpy(), score.numpy(), scale)
    floats, ints = floats.tolist(), ints.tolist()
    row, at, picks = ints[2 * L:3 * L], ints[3 * L:4 * L], 4 * L + chosen
    scores, entropy = floats[:L], floats[2 * L + M * k:]
    scores.append(None)
    entropy.append(None)
    top_ids = list(zip(*[iter(ints[picks + dropped:])] * k))  # the selected rows' k-tuples, then () for the rest
    top_probs = list(zip(*[iter(floats[2 * L:2 * L + M * k])] * k))
    top_ids.append(())
    top_probs.append(())
    return dict(tokens=tuple(ints[:L]), committed=tuple(ints[4 * L:picks]), proposals=tuple(ints[L:2 * L]),
                confidence=tuple(map(scores.__getitem__, at)), probability=tuple(floats[L:2 * L]),
                top_ids=tuple(map(top_ids.__getitem__, row)), top_probs=tuple(map(top_probs.__getitem__, row)),
                entropy=tuple(map(entropy.__getitem__, row)), remasked=tuple(ints[picks:picks + dropped]))


def warm() -> None:
    """Load the kernels (compile them, the first time on a machine) by running them once on a tiny pass of
    the sampler's types, so that a page's first run does not wait for numba."""
    probs = torch.full((1, 4, 32), 1 / 32)
    masked = torch.tensor([[True, False, True, True]])
    pass_on_host(4, 5, 4, 1e4, np.zeros((1, 6), dtype=np.int64), probs, torch.zeros((1, 4), dtype=torch.long),
                 masked, probs.log(), masked, ~masked, torch.zeros((1, 4)))
    measure(probs[0], torch.zeros(4, dtype=torch.long), masked[0], 5, probs[0].log(), 4)

PLAIN = dict(cache=True, nogil=True, error_model="numpy")  # every kernel: compiled once, cached on disk


@njit(**PLAIN)
def push(values, ids, k, x, v):
    """Insert x (id v) into the descending k-list values/ids, dropping its last entry."""
    j = k - 1
    while j > 0 and values[j - 1] < x:
        values[j] = values[j - 1]
        ids[j] = ids[j - 1]
        j -= 1
    values[j] = x
    ids[j] = v


@njit(**PLAIN)
def class_maxima(row, C, depth, out):
    """out[c] = max over a of row[a C + c]: one read of the row, C lanes wide (vectorises)."""
    for c in range(C):
        out[c] = row[c]
    for a in range(1, depth):
        part = row[a * C:(a + 1) * C]
        for c in range(C):
            out[c] = max(out[c], part[c])


# Reassociation lets LLVM keep several partial sums (vector lanes); no assumption about inf or NaN is made.
@njit(fastmath={"reassoc", "contract", "nsz"}, **PLAIN)
def entropy_sum(p_row, l_row, top_logit):
    """sum_v p_v (l_t - l_v) in float64 over the entries with p_v > 0 (0 * inf counts 0)."""
    total = 0.0
    for v in range(p_row.shape[0]):
        q = np.float64(p_row[v])
        term = q * (top_logit - np.float64(l_row[v]))
        total += term if q > 0 else 0.0
    return total


@njit(**PLAIN)
def measure_rows(p, l, where, k, C, top_probs, top_ids, entropy):
    """Top-k and entropy of the rows `where` of p (logits l) into top_probs, top_ids (M, k), entropy (M,)."""
    V = p.shape[1]
    depth = V // C  # entries per class
    whole_rows = depth < 2 * k  # too narrow for classes to gain anything: scan the whole row
    maxima = np.empty(C, dtype=np.float32)
    class_values = np.empty(k, dtype=np.float32)
    classes = np.empty(k, dtype=np.int64)
    for r in range(where.shape[0]):
        row = p[where[r]]
        values, ids = top_probs[r], top_ids[r]
        for j in range(k):
            values[j], ids[j] = -np.inf, -1
        if whole_rows:
            for v in range(V):
                if row[v] > values[k - 1]:
                    push(values, ids, k, row[v], v)
        else:
            class_maxima(row, C, depth, maxima)
            for j in range(k):
                class_values[j], classes[j] = -np.inf, -1
            for c in range(C):
                if maxima[c] > class_values[k - 1]:
                    push(class_values, classes, k, maxima[c], c)
            # The k largest entries lie in the k classes with the largest maxima (and the tail no class holds).
            for j in range(k):
                c = classes[j]
                for a in range(depth):
                    x = row[a * C + c]
                    if x > values[k - 1]:
                        push(values, ids, k, x, a * C + c)
            for v in range(depth * C, V):
                if row[v] > values[k - 1]:
                    push(values, ids, k, row[v], v)
        h = entropy_sum(row, l[where[r]], np.float64(l[where[r], ids[0]])) - math.log(np.float64(values[0]))
        entropy[r] = h if h > 0 else 0.0


@njit(**PLAIN)
def measured(p, l, guesses, rows, k, C):
    """p, l (L, V); guesses, rows (L,) -> where (M,) the selected rows, probability (L,) of each guess,
    top_probs, top_ids (M, k), entropy (M,)."""
    where = np.flatnonzero(rows)
    M = where.shape[0]
    probability = np.empty(p.shape[0], dtype=np.float32)
    for i in range(p.shape[0]):
        probability[i] = p[i, guesses[i]]
    top_probs = np.empty((M, k), dtype=np.float32)
    top_ids = np.empty((M, k), dtype=np.int64)
    entropy = np.empty(M, dtype=np.float32)
    measure_rows(p, l, where, k, C, top_probs, top_ids, entropy)
    return where, probability, top_probs, top_ids, entropy


@njit(**PLAIN)
def rounded(x, scale):
    """x as float64, times scale rounded half to even, over scale: torch's / numpy's round(decimals=)."""
    return np.rint(np.float64(x) * scale) / scale


@njit(**PLAIN)
def pass_values(probs, logits, guesses, rows, k, C, x, committed, remasked, score, scale):
    """For the first row of a batch (probs, logits (B, L, V); x (B, P + L); the rest (B, L)):
    floats: score, probability (L each), top_probs (M k), entropy (M), rounded;
    ints: tokens, guesses, row (each position's selected row, M for none), at (the position where its score
    is finite, L where not) (L each), the committed positions, the remasked ones, top_ids (M k);
    then the numbers of committed and remasked positions, and M."""
    committed, remasked, score = committed[0], remasked[0], score[0]
    where, probability, top_probs, top_ids, entropy = measured(probs[0], logits[0], guesses[0], rows[0], k, C)
    L, M = probability.shape[0], where.shape[0]
    tokens, guesses = x[0, x.shape[1] - L:], guesses[0]
    chosen, dropped = np.count_nonzero(committed), np.count_nonzero(remasked)
    floats = np.empty(2 * L + M * (k + 1), dtype=np.float64)
    ints = np.empty(4 * L + chosen + dropped + M * k, dtype=np.int64)
    c, r = 4 * L, 4 * L + chosen  # where the next committed / remasked position goes
    for i in range(L):
        floats[i] = rounded(score[i], scale)
        floats[L + i] = rounded(probability[i], scale)
        ints[i], ints[L + i], ints[2 * L + i] = tokens[i], guesses[i], M
        ints[3 * L + i] = i if score[i] > -np.inf else L
        if committed[i]:
            ints[c] = i
            c += 1
        if remasked[i]:
            ints[r] = i
            r += 1
    ids = 4 * L + chosen + dropped
    for m in range(M):
        ints[2 * L + where[m]] = m
        floats[2 * L + M * k + m] = rounded(entropy[m], scale)
        for j in range(k):
            floats[2 * L + m * k + j] = rounded(top_probs[m, j], scale)
            ints[ids + m * k + j] = top_ids[m, j]
    return floats, ints, chosen, dropped, M
