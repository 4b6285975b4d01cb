"""Turn one forward pass's distribution into the plain numbers a `Step` carries, cheaply.

Shared by the samplers so that the diffusion and the autoregressive panes show the same quantities
computed the same way. It never draws random numbers (the samplers' RNG streams must match the
official code) and returns plain Python values, rounded so exported traces stay small.

What the page shows per pass is computed once, only at the positions shown (bench/bench_instrumentation.py
measures the cost against the bare loop). Measured in the sampler's loop (not in isolation, where the same
tensors sit warm in the cache), every small call after a forward pass costs ten times what it costs warm
(about 10 us for a torch operation on this machine's CPU), and every pass over the selected rows' (M, V)
block finds it out of the cache again; so the price of a pass is the number of calls plus the number of
passes over the vocabulary, and both are kept few:
- on the CPU in float32 (the tiny pair, or any model run on the CPU), `pass_on_host` hands the whole pass
  to one compiled call (`instrument_cpu`, numba): per selected row one loop reads the probabilities and
  logits while the row sits in the core's cache, and the same call packs and rounds every number of the
  Step and writes the index lists that place them, leaving two `tolist`s and one C-level slice or map per
  field of the Step (bench, wide vocabulary: about a third of the eager code's price); the choice of code
  and the run's constants are bound once per run (`Scratch`), not read from the tensors at every pass;
- elsewhere (CUDA, half precision, numba missing) the eager torch code below, in as few operations as
  eager PyTorch allows:
- the probabilities are the sampler's own softmax (its rule needs them anyway), never recomputed;
- top-k and entropy only at the rows that want them (masked when the pass ran). Those rows are mostly
  one span (the current block's masks, then every later block), so `measure` works on the span lo..hi
  as it lies in memory (views, no copy) and drops the few unwanted rows' small results at the end; only
  when the span is more than twice the rows (or the model's output is in half precision) are the rows
  copied with `index_select` into buffers reused across the run's passes (`Scratch`);
- top-k in two short steps (`top_k`): the maximum of each class of entries (id modulo C, about
  sqrt(V k), one vectorised reduction over a view), then an exact top-k over the k best classes'
  entries only; the answer is torch.topk's, ties aside (the k largest always lie in the k classes with
  the largest maxima);
- entropy without a logarithm over the vocabulary when the logits are at hand:
  H = logsumexp(l) - sum_v p_v l_v = sum_v p_v (l_t - l_v) - log p_t, at the top candidate t that the
  top-k step just found: one subtraction into a scratch buffer, one in-place product and one nansum
  per row (nansum: a ruled-out token's 0 * inf counts 0, with no check that would wait for the device).
  A plain dot product sum_v p_v l_v (torch.linalg.vecdot, bmm) would skip the buffer, but in float32
  it is off by up to 7e-5 nats with logits of +-30 to 50 (measured; 2e-6 measured from l_t), and on CPU
  vecdot is itself a product and a sum, bmm slower still;
- float32 on the device; float64 only for the few hundred numbers of the final rounding (on the CPU
  `to_host` packs them with numpy, whose small calls cost a fraction of torch's).

On CUDA: the rows are chosen on the host (the (L,) mask copied once, which waits for the device; the
reverse process already waits once per pass to count its commits, so this is not a new kind of stall)
and sent back with a non_blocking copy. The numbers of one pass are packed on the device into one
vector per kind (floats, ints) and copied to the host with non_blocking copies (into pinned memory)
followed by one wait on the stream (`to_host`), instead of one blocking `.tolist()` per tensor, each of
which would stall the GPU queue. Nothing else in `measure` waits (no `.item()`, no `.any()`). (Measured
on CPU only: no GPU figure is claimed here.)

What it is not: no softmax of its own, no sampling, no rendering.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from itertools import compress

import numpy as np
import torch

DIGITS = 4
WIDEST_CLASS_COUNT = 512  # `top_k`'s number of classes at most (measured: 256-512 alike up to 126,464 tokens)
SPAN_SLACK = 2.0  # `measure` works on the span of the selected rows in place while it is at most this much longer


def rounded(values: torch.Tensor) -> list:
    """Python floats rounded to DIGITS decimals; float64 division gives the shortest JSON text."""
    scale = 10.0 ** DIGITS
    return values.double().mul(scale).round().div(scale).tolist()


def class_count(V: int, k: int) -> int:
    """`top_k`'s number of classes for a vocabulary of V: the power of two nearest sqrt(V k), so that the
    top-k over the class maxima and the one over the candidates are about as long, at most 512."""
    return min(WIDEST_CLASS_COUNT, 1 << max(0, round(math.log2(math.sqrt(V * k)))))


def top_k(probs: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """torch.topk(probs, k) along the last axis, (M, V) -> values, ids (M, k), in two short steps.

    The entries are split into C classes by their id modulo C (a view: entry a C + c is row a, column c
    of an (V // C, C) matrix, so the maximum of each class is one vectorised reduction over the rows,
    one read of the vocabulary); the k largest entries lie in the k classes with the largest maxima (an
    entry outside them is beaten by those k maxima), so an exact top-k over those classes' entries (and
    the V mod C last ones, which no class holds) gives torch.topk's answer, ties aside.
    """
    M, V = probs.shape
    k = min(k, V)
    C = class_count(V, k)
    rows = V // C  # entries per class
    if rows < 2 * k:  # too narrow to gain anything
        return probs.topk(k, dim=-1)
    body = (probs if rows * C == V else probs[:, :rows * C]).view(M, rows, C)  # (M, rows, C)
    classes = body.amax(1, keepdim=True).topk(k, dim=-1).indices  # (M, 1, k)
    candidates = body.gather(2, classes.expand(M, rows, k)).view(M, rows * k)  # (M, rows k)
    ids = (_row_starts(rows, C, probs.device) + classes).view(M, rows * k)  # (M, rows k) their ids
    if rows * C < V:  # the last V mod C entries: candidates too
        candidates = torch.cat([candidates, probs[:, rows * C:]], dim=1)
        ids = torch.cat([ids, torch.arange(rows * C, V, device=probs.device).expand(M, -1)], dim=1)
    values, at = candidates.topk(k, dim=-1)  # (M, k)
    return values, ids.gather(1, at)


_ROW_STARTS: dict = {}


def _row_starts(rows: int, C: int, device) -> torch.Tensor:
    """(rows, 1): a C for a in range(rows), the id of each row's first entry in `top_k`'s (rows, C) view."""
    key = (rows, C, str(device))
    if key not in _ROW_STARTS:
        _ROW_STARTS[key] = torch.arange(0, rows * C, C, device=device)[:, None]
    return _ROW_STARTS[key]


@dataclass(frozen=True)
class Measured:
    """The page's numbers for one pass, as tensors on the model's device."""

    probability: torch.Tensor  # (L,) probability of each guess
    rows: torch.Tensor         # (M,) the positions with candidates and entropy
    top_ids: torch.Tensor      # (M, k)
    top_probs: torch.Tensor    # (M, k)
    entropy: torch.Tensor      # (M,) nats
    positions: tuple[int, ...]  # `rows` on the host (measure reads them there once; no second copy)


class Scratch:
    """What one run's passes share: float32 (L, V) buffers reused by every pass (writing into them, rather
    than into fresh tensors, spares the allocator, and the kernel's page faults, megabyte-sized blocks per
    pass, which on a wide vocabulary cost as much as the arithmetic), and `pass_on_host`'s choice of code,
    made at the run's first pass. One Scratch serves one run."""

    def __init__(self):
        self._buffers: dict[str, torch.Tensor] = {}
        self.canvas: torch.Tensor | None = None  # the run's canvas, once `pass_on_host` has seen its first pass
        self.compiled = None  # and the compiled pass it bound for the run (None: the torch code)

    def buffer(self, name: str, rows: int, like: torch.Tensor) -> torch.Tensor:
        """A float32 (rows, V) slice of this scratch's buffer `name`, on like's device (V: like's width)."""
        L, V = like.shape
        buffer = self._buffers.get(name)
        size = max(L, rows)
        if buffer is None or buffer.shape[0] < size or buffer.shape[1] != V or buffer.device != like.device:
            buffer = self._buffers[name] = torch.empty((size, V), dtype=torch.float32, device=like.device)
        return buffer[:rows]

    def rows(self, name: str, source: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
        """source[where] as float32 (M, V), written into this scratch's buffer `name`."""
        out = self.buffer(name, len(where), source)
        if source.dtype == torch.float32:
            return torch.index_select(source, 0, where, out=out)
        return out.copy_(source.index_select(0, where))


def measure(probs: torch.Tensor, guesses: torch.Tensor, rows: torch.Tensor, k: int,
            logits: torch.Tensor | None = None, scratch: Scratch | None = None, compiled: bool = True) -> Measured:
    """Probability of each guess, and top-k candidates and entropy at the selected rows.

    probs:   (L, V) the model's distribution at each generated position.
    guesses: (L,)   the token guessed at each position.
    rows:    (L,)   bool, the positions that want candidates and entropy (those masked before the step).
    logits:  (L, V) the logits `probs` is the softmax of, when at hand (entropy then needs no logarithm
             over the vocabulary); without them, log(probs) stands in.
    scratch: buffers to reuse across the passes of a run (see `Scratch`); a fresh one by default.
    compiled: where `instrument_cpu` serves (float32 on the CPU, logits given), its compiled loop computes the
             same numbers; False keeps to the eager torch code below (the CUDA path), to compare the two.
    """
    fast = _compiled(probs.device.type) if compiled else None
    if fast is not None and fast.serves(probs, logits):  # one compiled loop per row instead
        V = probs.shape[-1]
        return Measured(*fast.measure(probs, guesses, rows, k, logits, class_count(V, min(k, V))))
    scratch = scratch or Scratch()
    probability = probs.gather(-1, guesses[:, None])[:, 0]  # (L,)
    on_host = probs.device.type == "cpu"
    chosen = (rows if on_host else rows.cpu()).nonzero()[:, 0]  # (M,) on the host: this function's one wait
    positions = chosen.tolist()
    where = chosen if on_host else chosen.to(probs.device, non_blocking=True)
    M, k = len(positions), min(k, probs.shape[-1])
    if M == 0:
        nothing = probs.new_empty((0, k), dtype=torch.float32)
        return Measured(probability, where, nothing.long(), nothing, nothing[:, 0], ())
    lo, hi = positions[0], positions[-1] + 1
    in_place = hi - lo <= SPAN_SLACK * M and probs.dtype == torch.float32 and \
        (logits is None or logits.dtype == torch.float32)
    if in_place:  # the rows lo..hi as they are (views, no copy); the few unwanted ones are dropped at the end
        p, l = probs[lo:hi], None if logits is None else logits[lo:hi]
    else:  # scattered rows (or half precision): copied, as float32, into the scratch buffers
        p = scratch.rows("probs", probs, where)
        l = None if logits is None else scratch.rows("terms", logits, where)
    top_p, top_i = top_k(p, k)  # (m, k)
    # Each product of the entropy's sum is formed in a scratch buffer (no fresh (m, V) tensor) and summed
    # with nansum: 0 * inf (a token ruled out, or a probability that underflowed to 0) counts as 0, as the
    # entropy's definition does, with no check that would wait for the device.
    terms = scratch.buffer("terms", len(p), probs)
    if l is None:  # H = sum_v p_v (-log p_v)
        entropy = torch.log(p, out=terms).neg_().mul_(p).nansum(-1)  # (m,)
    else:
        # H = logsumexp(l) - sum_v p_v l_v, and logsumexp(l) = l_t - log p_t at the top candidate t, so
        # H = sum_v p_v (l_t - l_v) - log p_t. Measured from l_t (l_t - l >= 0, large only where p is
        # tiny) the dot product loses little to rounding (within 2e-6 nats of float64 with logits of
        # +-50, where sum_v p_v l_v itself is off by up to 7e-5).
        torch.sub(l.gather(-1, top_i[:, :1]), l, out=terms)  # (m, V)
        entropy = terms.mul_(p).nansum(-1).sub_(top_p[:, 0].log())  # (m,)
    if in_place and hi - lo > M:
        pick = where - lo
        top_p, top_i = top_p.index_select(0, pick), top_i.index_select(0, pick)
        entropy = entropy.index_select(0, pick)
    return Measured(probability, where, top_i, top_p, entropy.clamp_min_(0), tuple(positions))


def _compiled(device_type: str):
    """The compiled CPU module `instrument_cpu` for the CPU (None for other devices, or where numba cannot be
    imported: the torch code serves)."""
    return _numba_module() if device_type == "cpu" else None


@functools.cache
def _numba_module():
    """`instrument_cpu`, imported (and numba with it) the first time the CPU asks; None without numba."""
    try:
        from llada_demo.engine import instrument_cpu
    except ImportError:
        return None
    return instrument_cpu


def prepare(device) -> None:
    """Ready the compiled CPU loop ahead of the first run on `device` (a no-op off the CPU or without numba):
    loading its kernels takes a fraction of a second, compiling them (once per machine) about 3 s."""
    fast = _compiled(torch.device(device).type)
    if fast is not None:
        fast.warm()


def to_host(*tensors: torch.Tensor) -> list[list]:
    """Each tensor flattened to a Python list, with one wait for the device.

    Floating-point tensors come back as floats rounded to DIGITS decimals (±inf and NaN pass through),
    the others (ids, flags, positions) as ints. Each kind is packed into one vector and copied once; on
    CUDA both copies are non_blocking (into pinned memory) and the host waits on the stream once.
    """
    kinds = [t.is_floating_point() for t in tensors]
    if all(t.device.type == "cpu" and t.dtype in _NUMPY_TYPES for t in tensors):
        packs = _packed_on_cpu(tensors, kinds)
    else:
        packs = _packed_on_device(tensors, kinds)
    values = [None if p is None else p.tolist() for p in packs]
    out, offsets = [], [0, 0]
    for t, floating in zip(tensors, kinds):
        kind = 0 if floating else 1
        out.append(values[kind][offsets[kind]:offsets[kind] + t.numel()])
        offsets[kind] += t.numel()
    return out


# The dtypes `to_host` packs with numpy on the CPU (bfloat16 has no numpy type).
_NUMPY_TYPES = frozenset([torch.float32, torch.float64, torch.float16, torch.int64, torch.int32, torch.bool])


def _packed_on_cpu(tensors, kinds) -> list:
    """[floats, ints] as numpy vectors: on the CPU numpy's small operations cost a fraction of torch's."""
    packs = []
    for floating in (True, False):
        parts = [t.detach().numpy().reshape(-1) for t, f in zip(tensors, kinds) if f == floating]
        if not parts:
            packs.append(None)
        elif floating:  # float64, x * 10^DIGITS rounded half to even, / 10^DIGITS: torch's round(decimals=)
            packed = np.concatenate(parts).astype(np.float64)
            packs.append(np.round(packed, DIGITS, out=packed))
        else:  # flags (bool) and ids alike come back as ints
            packs.append(np.concatenate(parts, dtype=np.int64))
    return packs


def _packed_on_device(tensors, kinds) -> list:
    """[floats, ints] as CPU tensors, each packed on the device and copied once (CUDA: one wait)."""
    packs, waits_for = [], None
    for floating in (True, False):
        parts = [t if t.dim() == 1 else t.reshape(-1) for t, f in zip(tensors, kinds) if f == floating]
        if not parts:
            packs.append(None)
            continue
        if floating:  # rounded in float64 so that each value prints as its shortest decimal
            packed = torch.cat(parts).double().round_(decimals=DIGITS)
        else:  # flags (bool) and ids alike come back as ints (a cat of mixed types is slower)
            packed = torch.cat([t if t.dtype == torch.long else t.long() for t in parts])
        if packed.device.type == "cuda":
            packed, waits_for = packed.to("cpu", non_blocking=True), packed.device  # into pinned memory
        elif packed.device.type != "cpu":
            packed = packed.cpu()
        packs.append(packed)
    if waits_for is not None:  # the one wait: both copies have landed before they are read
        torch.cuda.current_stream(waits_for).synchronize()
    return packs


def pass_on_host(probs: torch.Tensor, guesses: torch.Tensor, rows: torch.Tensor, k: int, logits: torch.Tensor,
                 scratch: Scratch, x: torch.Tensor, committed: torch.Tensor, remasked: torch.Tensor,
                 score: torch.Tensor) -> dict:
    """One pass of the diffusion sampler for a batch of one, as the per-position fields of its `Step`: `measure`
    at `rows`, and the pass's own vectors. probs, logits (1, L, V); guesses, rows, committed, remasked, score
    (1, L) (score -inf where a position was not eligible); x the canvas (1, P + L), whose last L tokens are the
    generated region.

    Returns {tokens, committed, proposals, confidence, probability, top_ids, top_probs, entropy, remasked}
    as `Step` holds them (tuples; committed and remasked as positions, confidence None where not eligible),
    floats rounded as `to_host` rounds them. On the CPU in float32 one compiled call does it all
    (`instrument_cpu`: every small call after a forward pass costs, so the tensors go in whole, not as
    per-row views); elsewhere `measure`, then `to_host`. Which of the two runs is decided at a run's first
    pass and kept in `scratch` (so is every constant of the run): after a forward pass even reading a
    tensor's device or shape costs microseconds.
    """
    if scratch.canvas is not x:  # a run's first pass: its passes share the canvas, device, dtype and shape
        scratch.canvas, scratch.compiled = x, _compiled_pass(probs, logits, k, x)
    if scratch.compiled is not None:
        return scratch.compiled(probs, guesses, rows, logits, committed, remasked, score)
    L = probs.shape[1]
    m = measure(probs[0], guesses[0], rows[0], k, logits[0], scratch, compiled=False)  # decided above, once
    tokens, proposals, chosen, dropped, scores, probability, ids, ps, entropy = to_host(
        x[0, -L:], guesses[0], committed[0], remasked[0], score[0], m.probability, m.top_ids, m.top_probs, m.entropy)
    top_ids, top_probs, entropies = spread(L, m.positions, ids, ps, entropy, m.top_ids.shape[-1])
    return dict(tokens=tuple(tokens), committed=tuple(compress(range(L), chosen)), proposals=tuple(proposals),
                confidence=tuple(c if c > -math.inf else None for c in scores), probability=tuple(probability),
                top_ids=top_ids, top_probs=top_probs, entropy=entropies, remasked=tuple(compress(range(L), dropped)))


def _compiled_pass(probs: torch.Tensor, logits: torch.Tensor, k: int, x: torch.Tensor):
    """`instrument_cpu.pass_on_host` bound to a run's constants (L, k, the class count, the rounding's scale,
    the canvas's numpy view), or None where it does not serve (see `serves`) and the torch code runs."""
    fast = _compiled(probs.device.type)
    if fast is None or not fast.serves(probs, logits):
        return None
    L, V = probs.shape[1], probs.shape[-1]
    k = min(k, V)
    return functools.partial(fast.pass_on_host, L, k, class_count(V, k), 10.0 ** DIGITS, x.numpy())


def describe(probs: torch.Tensor, guesses: torch.Tensor, rows: torch.Tensor, k: int,
             logits: torch.Tensor | None = None):
    """`measure`, as plain values: (probability, top_ids, top_probs, entropy), tuples of length L; top-k
    and entropy are empty / None where `rows` is False."""
    m = measure(probs, guesses, rows, k, logits)
    probability, ids, ps, entropy = to_host(m.probability, m.top_ids, m.top_probs, m.entropy)
    return (tuple(probability),) + spread(probs.shape[0], m.positions, ids, ps, entropy, m.top_ids.shape[-1])


def spread(length: int, where: list, ids: list, ps: list, entropy: list, k: int):
    """Place the selected rows' candidates and entropy at their positions: (top_ids, top_probs, entropy)."""
    top_ids: list = [()] * length
    top_probs: list = [()] * length
    entropies: list = [None] * length
    ids_by_row, ps_by_row = zip(*[iter(ids)] * k), zip(*[iter(ps)] * k)  # consecutive k-tuples
    for pos, i, p, h in zip(where, ids_by_row, ps_by_row, entropy):
        top_ids[pos], top_probs[pos], entropies[pos] = i, p, h
    return tuple(top_ids), tuple(top_probs), tuple(entropies)
