"""Turn one forward pass's distribution into the plain numbers a `Step` carries, cheaply.

Shared by the samplers so that the diffusion and the autoregressive panes show the same quantities
computed the same way. It never draws random numbers (the samplers' RNG streams must match the
official code) and returns plain Python values, rounded so exported traces stay small.

What the page shows per pass is computed once, only at the positions shown, in as few passes over the
vocabulary as eager PyTorch allows (bench/bench_instrumentation.py measures the cost against the bare
loop; on a model whose output layer is small next to its vocabulary these passes stay visible, since
the output layer itself is then cheap):
- the probabilities are the sampler's own softmax (its rule needs them anyway), never recomputed;
- top-k and entropy only at the rows that want them (masked when the pass ran), picked with
  `index_select` into buffers reused across the run's passes (`Scratch`; a boolean-mask copy into a
  fresh tensor costs ~10x more on CPU);
- top-k in two short steps (`top_k`): the maximum of each chunk of 64 entries, then an exact top-k over
  the k best chunks only; the answer is torch.topk's (the k largest always lie in the k chunks with the
  largest maxima);
- entropy without a logarithm over the vocabulary when the logits are at hand:
  H = logsumexp(l) - sum_v p_v l_v = -log p_t - sum_v p_v (l_v - l_t), at the top candidate t that the
  top-k step just found: one in-place subtraction, one in-place product and one sum per row;
- float32 on the device, in place where possible; float64 only for the few hundred numbers of the
  final rounding.

On CUDA: the numbers of one pass are packed on the device into one vector per kind (floats, ints) and
copied to the host with non_blocking copies (into pinned memory) followed by one wait on the stream
(`to_host`), instead of one blocking `.tolist()` per tensor, each of which would stall the GPU queue. Choosing the rows
(`nonzero`) also waits for the device; the reverse process already waits once per pass to count its
commits, so the page adds one copy per pass, not a new kind of stall. (Measured on CPU only: no GPU
figure is claimed here.)

What it is not: no softmax of its own, no sampling, no rendering.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

DIGITS = 4
CHUNK = 64  # entries per chunk in `top_k`; 32-128 measure alike on a 4,096-token vocabulary


def rounded(values: torch.Tensor) -> list:
    """Python floats rounded to DIGITS decimals; float64 division gives the shortest JSON text."""
    scale = 10.0 ** DIGITS
    return values.double().mul(scale).round().div(scale).tolist()


def top_k(probs: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """torch.topk(probs, k) along the last axis, (M, V) -> values, ids (M, k), in two short passes.

    The k largest entries lie in the k chunks with the largest maxima (an entry outside them is beaten by
    those k maxima), so an exact top-k over those k * CHUNK candidates gives torch.topk's answer.
    """
    M, V = probs.shape
    k = min(k, V)
    if V < 4 * k * CHUNK:  # too narrow to gain anything
        return probs.topk(k, dim=-1)
    pad = -V % CHUNK
    padded = probs if pad == 0 else torch.nn.functional.pad(probs, (0, pad), value=-torch.inf)
    by_chunk = padded.view(M, -1, CHUNK)  # (M, chunks, CHUNK)
    chunks = by_chunk.amax(-1).topk(k, dim=-1).indices  # (M, k)
    candidates = by_chunk.gather(1, chunks[..., None].expand(-1, -1, CHUNK))  # (M, k, CHUNK)
    values, where = candidates.flatten(1).topk(k, dim=-1)  # (M, k)
    return values, chunks.gather(1, where // CHUNK) * CHUNK + where % CHUNK


@dataclass(frozen=True)
class Measured:
    """The page's numbers for one pass, as tensors on the model's device."""

    probability: torch.Tensor  # (L,) probability of each guess
    rows: torch.Tensor         # (M,) the positions with candidates and entropy
    top_ids: torch.Tensor      # (M, k)
    top_probs: torch.Tensor    # (M, k)
    entropy: torch.Tensor      # (M,) nats


class Scratch:
    """Two float32 (L, V) buffers reused by every pass of one run: selecting rows into them, rather than
    into fresh tensors, spares the allocator (and the kernel's page faults) two megabyte-sized blocks
    per pass, which on a wide vocabulary cost as much as the arithmetic."""

    def __init__(self):
        self._buffers: dict[str, torch.Tensor] = {}

    def rows(self, name: str, source: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
        """source[where] as float32 (M, V), written into this scratch's buffer `name`."""
        L, V = source.shape
        buffer = self._buffers.get(name)
        if buffer is None or buffer.shape[0] < L or buffer.shape[1] != V or buffer.device != source.device:
            buffer = self._buffers[name] = torch.empty((L, V), dtype=torch.float32, device=source.device)
        out = buffer[:len(where)]
        if source.dtype == torch.float32:
            return torch.index_select(source, 0, where, out=out)
        return out.copy_(source.index_select(0, where))


def measure(probs: torch.Tensor, guesses: torch.Tensor, rows: torch.Tensor, k: int,
            logits: torch.Tensor | None = None, scratch: Scratch | None = None) -> Measured:
    """Probability of each guess, and top-k candidates and entropy at the selected rows.

    probs:   (L, V) the model's distribution at each generated position.
    guesses: (L,)   the token guessed at each position.
    rows:    (L,)   bool, the positions that want candidates and entropy (those masked before the step).
    logits:  (L, V) the logits `probs` is the softmax of, when at hand (entropy then needs no logarithm
             over the vocabulary); without them, log(probs) stands in.
    scratch: buffers to reuse across the passes of a run (see `Scratch`); a fresh one by default.
    """
    scratch = scratch or Scratch()
    probability = probs.gather(-1, guesses[:, None])[:, 0]  # (L,)
    where = rows.nonzero()[:, 0]  # (M,)
    selected = scratch.rows("probs", probs, where)  # (M, V)
    top_p, top_i = top_k(selected, k)  # (M, k)
    if logits is None:
        # log 0 = -inf would make 0 * log 0 NaN; the clamp counts it as 0, as the entropy's definition does.
        log_like = torch.clamp_min(selected, torch.finfo(selected.dtype).tiny, out=scratch.rows("logits", probs, where))
        log_like.log_()  # (M, V)
    else:
        log_like = scratch.rows("logits", logits, where)  # (M, V)
    # H = -sum p log p = logsumexp(l) - sum p l, and logsumexp(l) = l_t - log p_t at the top candidate t.
    # Measured from l_t (l - l_t <= 0, large only where p is tiny) the dot product loses less to rounding
    # than the plain sum p log p does, even with logits of +-30. In place: no (M, V) temporary.
    log_like -= log_like.gather(-1, top_i[:, :1])  # (M, V)
    entropy = -top_p[:, 0].log() - log_like.mul_(selected).sum(-1)  # (M,)
    if logits is not None:
        # A logit of -inf (a token the model rules out) makes 0 * -inf NaN: such rows, rare, take the
        # plain formula (a check here rather than one more pass over the vocabulary for every row).
        bad = entropy.isnan()
        if bad.any():
            sure = selected[bad]
            entropy[bad] = -(sure * sure.clamp_min(torch.finfo(sure.dtype).tiny).log()).sum(-1)
    return Measured(probability, where, top_i, top_p, entropy.clamp_min(0))


def to_host(*tensors: torch.Tensor) -> list[list]:
    """Each tensor flattened to a Python list, with one wait for the device.

    Floating-point tensors come back as floats rounded to DIGITS decimals (±inf and NaN pass through),
    the others (ids, flags, positions) as ints. Each kind is packed into one vector and copied once; on
    CUDA both copies are non_blocking (into pinned memory) and the host waits on the stream once.
    """
    kinds = [t.is_floating_point() for t in tensors]
    packs = []
    for floating in (True, False):
        parts = [t.flatten() for t, f in zip(tensors, kinds) if f == floating]
        if not parts:
            packs.append(None)
            continue
        if floating:  # rounded in float64 so that each value prints as its shortest decimal
            scale = 10.0 ** DIGITS
            packed = torch.cat([t.float() for t in parts]).double().mul_(scale).round_().div_(scale)
        else:
            packed = torch.cat([t.long() for t in parts])
        packs.append(packed.to("cpu", non_blocking=True) if packed.is_cuda else packed)
    values = [None if p is None else p.tolist() for p in packs]
    out, offsets = [], [0, 0]
    for t, floating in zip(tensors, kinds):
        kind = 0 if floating else 1
        out.append(values[kind][offsets[kind]:offsets[kind] + t.numel()])
        offsets[kind] += t.numel()
    return out


def describe(probs: torch.Tensor, guesses: torch.Tensor, rows: torch.Tensor, k: int,
             logits: torch.Tensor | None = None):
    """`measure`, as plain values: (probability, top_ids, top_probs, entropy), tuples of length L; top-k
    and entropy are empty / None where `rows` is False."""
    m = measure(probs, guesses, rows, k, logits)
    probability, where, ids, ps, entropy = to_host(m.probability, m.rows, m.top_ids, m.top_probs, m.entropy)
    return (tuple(probability),) + spread(probs.shape[0], where, ids, ps, entropy, m.top_ids.shape[-1])


def spread(length: int, where: list, ids: list, ps: list, entropy: list, k: int):
    """Place the selected rows' candidates and entropy at their positions: (top_ids, top_probs, entropy)."""
    top_ids: list = [()] * length
    top_probs: list = [()] * length
    entropies: list = [None] * length
    for n, pos in enumerate(where):
        top_ids[pos] = tuple(ids[n * k:(n + 1) * k])
        top_probs[pos] = tuple(ps[n * k:(n + 1) * k])
        entropies[pos] = entropy[n]
    return tuple(top_ids), tuple(top_probs), tuple(entropies)
