"""The "How it works" tab's text: what the page shows and why, in words a class can follow.

What it is not: no layout (ui.py shows it), no figures.
"""

from __future__ import annotations


HOW_IT_WORKS = """
### What you are watching

A **diffusion language model** such as LLaDA (Nie et al. 2025) does not write left to right. Its answer
starts as a row of `[MASK]` tokens. At every **step** the model looks at the whole canvas at once (its
attention has no causal mask) and guesses a token for *every* masked position. The guesses it is most
sure of are **committed**; all the others are **remasked** and guessed again at the next step, now with
more of the text visible. With as many steps as tokens, one token is committed per forward pass; with
fewer steps, several at once, which is faster but riskier.

**One step:** forward pass over the canvas → a guess and a probability at every masked position → keep the
*k* most confident (k from the schedule) → remask the rest.

**Training.** Pre-training hides a random fraction *t* of the tokens of a text, with *t* drawn uniformly
between 0 and 1, and teaches the model to recover them (the loss counts only hidden tokens, weighted by
1/*t*). Fine-tuning hides only the answer, never the prompt. Because it learns to fill holes anywhere,
the same model can fill blanks in the middle of a text (the Infill tab) and can answer "backwards"
questions where left-to-right models fail (the Reversal tab). The **Training** tab shows this on one
sentence: pick *t* and a seed, press Draw, and see which tokens are hidden, the model's guess at every
hidden position from one forward pass (✓ or ✗, coloured by the probability it gave the true token), the
loss LLaDA trains on next to the autoregressive twin's loss on the same tokens, and the expected loss
against *t*; the SFT switch keeps the prompt visible and hides only the answer.

**Blocks.** With a block length shorter than the generation length, the canvas is filled block by block,
left to right, and the model only commits inside the current block (semi-autoregressive decoding). A
block length of 1 with one step per token is exactly left-to-right decoding.

**Remasking.** *low_confidence* keeps the guesses with the highest probability; *random* keeps random ones
(the paper's baseline). **Temperature** > 0 samples the guesses instead of taking the most likely one.
**CFG** (classifier-free guidance) runs a second copy with the prompt masked out and pushes the answer away
from what the model would write without the prompt.

**Decoding rules** (Settings → Decoding rule; the score radio above says which guesses count as sure:
*margin* is the top guess's probability minus the runner-up's, *entropy* the negative entropy, as Dream
defines them).
- *Fixed schedule* (LLaDA, Nie et al. 2025, arXiv 2502.09992): each block commits the same number of tokens
  in each of its steps. Steps set the forward passes exactly, whatever the model's confidence.
- *Threshold τ* (Fast-dLLM, Wu et al. 2025, arXiv 2505.22618): each pass commits the surest masked
  position of the block and every other one at least τ sure. Easy stretches go many tokens per pass, hard
  ones one, so the passes adapt and `steps` no longer sets them.
- *Entropy bound γ* (EB-sampler, Ben-Hamu et al. 2025, arXiv 2505.24857): the block's masked positions are
  sorted by entropy and the longest prefix whose summed entropy, less its largest, stays within γ is
  committed. A larger γ accepts more uncertainty per pass: fewer passes, more risk.
- *ReMDM remasking* (Wang et al. 2025, arXiv 2503.00307): late in each block, every pass sends back to
  `[MASK]` the committed tokens the model was least sure of and commits as many again. A token written
  before its neighbours existed gets a second look (red dashed chips with ↺), at the price of extra passes.

The **Speed vs quality** tab measures all of them on the tiny world's held-out questions.

**Masking or uniform noise.** LLaDA hides tokens behind `[MASK]`: a committed token stays, and the
guesses under the masks are only shown faintly. **DiffusionGemma** (Google's, run through diffusers'
`DiffusionGemmaPipeline`) has no mask token: its block starts as *random tokens*, and at every step one pass
draws a token at every position; the entropy-bound rule accepts the surest few (their summed entropy, less
the largest, within the bound), and every other position is **renoised** to a fresh random token. Acceptance
is decided again at every step, so an accepted token can turn back into noise (red dotted, ↺) and be accepted
later; when the block is done it is committed and the next block starts from noise.

One step of each (the same four positions):

<div class="ld-tokens"><b>LLaDA:</b>&nbsp; <span class="ld-chip ld-committed">the</span><span class="ld-chip ld-masked"><span class="ld-guess">cat</span></span><span class="ld-chip ld-masked"><span class="ld-guess">sat</span></span><span class="ld-chip ld-masked"><span class="ld-guess">on</span></span> &nbsp;→&nbsp; <span class="ld-chip ld-committed">the</span><span class="ld-chip ld-new">cat</span><span class="ld-chip ld-masked"><span class="ld-guess">ran</span></span><span class="ld-chip ld-masked"><span class="ld-guess">on</span></span></div>

<div class="ld-tokens"><b>DiffusionGemma:</b>&nbsp; <span class="ld-chip ld-accepted">the</span><span class="ld-chip ld-noise"><span class="ld-scramble">qua</span></span><span class="ld-chip ld-accepted">sat</span><span class="ld-chip ld-noise"><span class="ld-scramble">zor</span></span> &nbsp;→&nbsp; <span class="ld-chip ld-accepted">the</span><span class="ld-chip ld-accepted-new">cat</span><span class="ld-chip ld-renoised"><span class="ld-scramble">elk</span></span><span class="ld-chip ld-noise"><span class="ld-scramble">pim</span></span></div>

In LLaDA the masks only shrink (the cat is committed, the rest stay masked); in DiffusionGemma every
position is redrawn: *cat* is accepted, *sat* loses its place and becomes noise again, and the unaccepted
positions hold new random tokens. Its canvas: faint grey dotted chips are noise, red dotted ones renoised,
ringed ones accepted in the step shown, dashed coloured ones accepted earlier (and still revocable); the
heatmap shows each position's entropy, and the "masks left" chart counts positions not accepted.

**Reading the canvas.** Grey dashed chips are still masked (the faint italic word is the model's current
guess, which may still change); a ringed chip was committed in the step shown; filled chips are coloured by
how sure the model was when it committed them (dark = unsure, yellow = sure); ∎ marks end-of-text. Hover or
focus a chip for its top-5 candidates.
"""
