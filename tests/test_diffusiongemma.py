"""DiffusionGemma through diffusers' own DiffusionGemmaPipeline, on a tiny random `DiffusionGemmaForBlockDiffusion`
(tests/standins/diffusiongemma.py): the Step stream ends in exactly the pipeline's own output; the accepted
positions are those transformers' own `EntropyBoundSampler.accept_canvas` accepts on the logits the pipeline
hands its callback; renoised positions are exactly those accepted at the step before and not now; Stop ends the
worker within a step; a fault ends the run with a sentence; the preset loads by its hub id from a hub-shaped
cache offline, and its trace exports and loads back."""

import dataclasses
import threading

import pytest
import torch

from llada_demo import models
from llada_demo.engine import diffusiongemma, runs
from llada_demo.engine.step import Trace
from tests.worker_faults import assert_a_fault_ends_the_run
from tests.standins import diffusiongemma as standin

MESSAGES = [{"role": "user", "content": "w1 w2 w3"}]
CANVAS = standin.CANVAS


@pytest.fixture(scope="module")
def tiny():
    return standin.model(), standin.tokenizer()


def stream(tiny, *, seed=0, **settings):
    model, tok = tiny
    return list(diffusiongemma.sample(model, tok, MESSAGES, generator=torch.Generator().manual_seed(seed),
                                      **settings))


def pipeline_run(tiny, *, seed=0, steps, gen_length, rule="entropy_bound", **settings):
    """The library's own loop, with its own scheduler, as a user of diffusers runs it."""
    from diffusers import BlockRefinementScheduler, DiffusionGemmaPipeline, EntropyBoundScheduler
    model, tok = tiny
    sched = EntropyBoundScheduler(num_inference_steps=steps) if rule == "entropy_bound" \
        else BlockRefinementScheduler(num_inference_steps=steps)
    pipe = DiffusionGemmaPipeline(model=model, scheduler=sched, processor=tok)
    pipe.set_progress_bar_config(disable=True)
    return pipe(messages=MESSAGES, gen_length=gen_length, num_inference_steps=steps, output_type="seq",
                generator=torch.Generator().manual_seed(seed), **settings).sequences[0].tolist()


def blocks_of(steps):
    """The denoising steps of each block (the commit Step, which has no accepted or noise positions, left out)."""
    out: dict[int, list] = {}
    for s in steps:
        if s.accepted or s.noise:
            out.setdefault(s.block, []).append(s)
    return out


@pytest.mark.parametrize("rule", diffusiongemma.RULES)
def test_the_stream_ends_in_the_pipelines_own_output(tiny, rule):
    for seed in (0, 1, 2):
        for settings in (dict(steps=12, gen_length=32), dict(steps=5, gen_length=20, confidence_threshold=None)):
            steps = stream(tiny, seed=seed, rule=rule, **settings)
            own = pipeline_run(tiny, seed=seed, rule=rule, **settings)
            # The pipeline stops after a block holding end-of-text: the blocks after it are never drawn.
            last = steps[-1].tokens
            assert list(last[:len(own)]) == own and set(last[len(own):]) <= {diffusiongemma.NOT_DRAWN}
            assert len(last) == diffusiongemma.canvases(tiny[0], settings["gen_length"]) * CANVAS
            assert len(own) % CANVAS == 0 and (len(own) == len(last) or standin.tokenizer().eos_token_id in own)
            assert [s.index for s in steps] == list(range(len(steps)))
            # One commit Step per block, after its denoising steps, showing the block the pipeline committed.
            commits = [s for s in steps if not (s.accepted or s.noise)]
            assert [s.block for s in commits] == list(range(len(own) // CANVAS))
            for c in commits:
                lo = c.block * CANVAS
                assert c.committed == tuple(range(lo, lo + CANVAS)) and list(c.tokens[lo:lo + CANVAS]) == \
                    own[lo:lo + CANVAS]


def test_accepted_positions_follow_transformers_own_entropy_bound_rule(tiny):
    """The rule recomputed by transformers' `EntropyBoundSampler.accept_canvas` on the temperature-shaped logits
    (transformers' `LinearTemperatureScheduleLogitsProcessor`) of each step, recorded through the pipeline's public
    callback, accepts exactly the positions the stream shows as accepted."""
    from transformers.models.diffusion_gemma.generation_diffusion_gemma import (
        EntropyBoundSampler, EntropyBoundSamplerConfig, LinearTemperatureScheduleLogitsProcessor)
    checked = 0
    for seed, (bound, t_max, t_min) in enumerate([(0.1, 0.8, 0.4), (6.0, 0.8, 0.4), (12.0, 1.5, 0.2)]):
        N = 6
        steps = [s for s in stream(tiny, seed=seed, steps=N, gen_length=32, entropy_bound=bound, t_max=t_max,
                                   t_min=t_min, confidence_threshold=None) if s.accepted or s.noise]
        recorded = []
        pipeline_run_with(tiny, seed, N, bound, t_max, t_min, recorded)
        assert len(recorded) == len(steps)
        sampler = EntropyBoundSampler(EntropyBoundSamplerConfig(entropy_bound=bound), canvas_length=CANVAS,
                                      vocab_size=standin.VOCAB, max_denoising_steps=N)
        shape = LinearTemperatureScheduleLogitsProcessor(t_min=t_min, t_max=t_max, max_denoising_steps=N)
        for (step_idx, canvas, logits), s in zip(recorded, steps):
            shaped = shape(None, logits, cur_step=N - int(step_idx))  # transformers counts steps remaining
            sampler.accept_canvas(canvas, canvas, shaped, N - int(step_idx))
            lo = s.block * CANVAS
            assert [lo + p for p in sampler.accepted_token_mask[0].nonzero()[:, 0].tolist()] == list(s.accepted)
            checked += 1
        # A larger bound accepts more per step (the rule's point).
        if bound > 1:
            assert max(len(s.accepted) for s in steps) > 1
    assert checked == 3 * 2 * 6


def pipeline_run_with(tiny, seed, N, bound, t_max, t_min, recorded):
    """The pipeline's own loop with diffusers' EntropyBoundScheduler; its callback records (step, canvas, logits)."""
    from diffusers import DiffusionGemmaPipeline, EntropyBoundScheduler
    model, tok = tiny
    pipe = DiffusionGemmaPipeline(model=model, processor=tok, scheduler=EntropyBoundScheduler(
        entropy_bound=bound, t_max=t_max, t_min=t_min, num_inference_steps=N))
    pipe.set_progress_bar_config(disable=True)
    pipe(messages=MESSAGES, gen_length=32, num_inference_steps=N, output_type="seq", confidence_threshold=None,
         generator=torch.Generator().manual_seed(seed), callback_on_step_end_tensor_inputs=["canvas", "logits"],
         callback_on_step_end=lambda p, i, t, kw: recorded.append((t, kw["canvas"].clone(),
                                                                    kw["logits"].clone())) or {})


@pytest.mark.parametrize("bound", [0.1, 6.0])
def test_renoised_are_those_accepted_before_and_not_now(tiny, bound):
    renoised = 0
    for seed in range(3):
        for block in blocks_of(stream(tiny, seed=seed, steps=12, gen_length=32, entropy_bound=bound)).values():
            before: set = set()
            for i, s in enumerate(block):
                lo = s.block * CANVAS
                now = set(s.accepted)
                assert set(s.remasked) == before - now and set(s.committed) == now - before
                assert set(s.noise) == set(range(lo, lo + CANVAS)) - now  # every position not accepted: noise
                assert all(s.tokens[p] == s.proposals[p] for p in now)  # an accepted position keeps the draw
                assert all(s.entropy[p] is not None for p in range(lo, lo + CANVAS))
                renoised += len(s.remasked)
                before = now
    assert renoised > 0  # acceptance is recomputed each step: accepted tokens do get renoised


def test_block_refinement_never_renoises_a_commit(tiny):
    for seed in range(3):
        for block in blocks_of(stream(tiny, seed=seed, rule="block_refinement", steps=4, gen_length=32)).values():
            sizes = [len(s.accepted) for s in block]
            assert all(not s.remasked for s in block) and sizes == sorted(sizes)
            assert sizes[-1] == CANVAS  # its quota commits the whole canvas by the last step


def test_two_runs_at_once_on_one_model_each_end_in_their_own_output(tiny):
    """Each run's worker records only its own passes (the encoder hook sits on the shared model)."""
    model, tok = tiny
    a, b = (diffusiongemma.sample(model, tok, MESSAGES, steps=6, gen_length=32, confidence_threshold=None,
                                  eos_early_stop=False, generator=torch.Generator().manual_seed(seed))
            for seed in (0, 1))
    got = {0: [], 1: []}
    for sa, sb in zip(a, b):  # both workers run at once, interleaved with each other
        got[0].append(sa)
        got[1].append(sb)
    for seed in (0, 1):
        own = pipeline_run(tiny, seed=seed, steps=6, gen_length=32, confidence_threshold=None, eos_early_stop=False)
        assert list(got[seed][-1].tokens) == own and len(got[seed]) == 2 * (6 + 1)


def test_stop_ends_the_worker_within_one_step(tiny):
    model, tok = tiny
    calls = []
    hook = model.model.decoder.register_forward_hook(lambda *_: calls.append(1))
    try:
        s = diffusiongemma.sample(model, tok, MESSAGES, steps=12, gen_length=64, confidence_threshold=None)
        first = [next(s), next(s)]
        s.close()  # what runs._stream does when a visitor presses Stop
        # The queue holds two steps, so the worker is at most two passes ahead plus the one it was in.
        assert len(first) == 2 and len(calls) <= 2 + 3
        assert not any(t.name == "diffusiongemma-pipeline" and t.is_alive() for t in threading.enumerate())
    finally:
        hook.remove()


def test_settings_are_checked_with_a_sentence(tiny):
    model, tok = tiny
    bad = [(dict(steps=0), "denoising steps"), (dict(entropy_bound=0.0), "entropy bound must be above 0"),
           (dict(t_max=0.3, t_min=0.4), "t_min < t_max"), (dict(rule="ddim"), "decoding rule"),
           (dict(confidence_threshold=-1.0), "confidence threshold"), (dict(steps=True), "denoising steps")]
    for settings, message in bad:
        with pytest.raises(ValueError, match=message):
            diffusiongemma.sample(model, tok, MESSAGES, gen_length=16, **settings)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """The diffusiongemma preset loaded through models.load, by its hub id, from a hub-shaped cache, offline."""
    cache = tmp_path_factory.mktemp("hf")
    with standin.preset_in_cache(cache):
        return models.load("diffusiongemma", device="cpu", cache_dir=str(cache))


def test_the_preset_loads_natively_by_its_hub_id(loaded):
    from transformers import DiffusionGemmaForBlockDiffusion
    assert type(loaded.model) is DiffusionGemmaForBlockDiffusion and diffusiongemma.serves(loaded.model)
    assert loaded.kind == models.DIFFUSION and loaded.chat and loaded.source == "google/diffusiongemma-26B-A4B-it"
    # A reply ends at end-of-text or at Gemma 4's end of turn; the chat template opens the model's turn.
    assert {"<eos>", "<turn|>"} <= set(loaded.tokenizer.convert_ids_to_tokens(list(loaded.eos_ids)))
    ids = loaded.tokenizer.apply_chat_template(MESSAGES, add_generation_prompt=True, tokenize=True)["input_ids"]
    assert loaded.tokenizer.decode(ids).endswith("<|turn> model")
    # The same weights as the stand-in built in memory: the folder was read, not initialised afresh.
    assert all(torch.equal(a, b) for a, b in zip(loaded.model.state_dict().values(),
                                                 standin.model().state_dict().values()))


def test_runs_stream_a_trace_that_exports_and_loads_back(loaded):
    traces = list(runs.denoise(loaded, "w1 w2", steps=6, gen_length=20, block_length=8, seed=3,
                               history=(("w3", "w4 w5"),)))
    last = traces[-1]
    assert last.settings["gen_length"] == 2 * CANVAS and last.settings["block_length"] == CANVAS
    assert last.mask_id == diffusiongemma.NOT_DRAWN and last.steps[-1].tokens[0] != diffusiongemma.NOT_DRAWN
    back = Trace.from_json(last.to_json())
    assert back == last and any(s.accepted for s in back.steps) and any(s.noise for s in back.steps)
    with pytest.raises(ValueError, match="CFG"):
        runs.denoise(loaded, "w1", steps=4, gen_length=16, block_length=16, cfg_scale=1.0)
    with pytest.raises(ValueError, match="t_min < t_max"):
        runs.denoise(loaded, "w1", steps=4, gen_length=16, block_length=16, uniform=dict(t_max=0.2))


def test_a_fault_in_the_worker_ends_the_run_with_a_sentence(loaded):
    assert_a_fault_ends_the_run(loaded.model.model.decoder, lambda: runs.denoise(loaded, "w1 w2", steps=4,
                                                                                 gen_length=16, block_length=16),
                                "diffusiongemma-pipeline")


def test_traces_saved_before_the_uniform_states_still_load():
    old = ('{"sampler":"diffusion","prompt":"p","settings":{"steps":1,"gen_length":2,"block_length":2},"mask_id":9,'
           '"steps":[{"index":0,"block":0,"tokens":[3,9],"committed":[0],"proposals":[3,4],"confidence":[0.5,null]}],'
           '"token_text":{"3":"a","9":"[MASK]"},"special_ids":{},"format":1}')
    step = Trace.from_json(old).steps[0]
    assert step.accepted == () and step.noise == () and step.committed == (0,)


# --- what the page draws from such a trace (web/, torch-free) ---------------------------------------------

@pytest.fixture(scope="module")
def uniform_trace(loaded):
    # A bound of 6 nats accepts two or three positions per step on this random model, so some are held.
    return list(runs.denoise(loaded, "w1 w2", steps=12, gen_length=32, block_length=8, seed=0, entropy_bound=6.0))[-1]


def test_the_canvas_shows_each_position_in_its_state(uniform_trace):
    import re
    from llada_demo.web import render
    trace, seen = uniform_trace, set()
    for i, s in enumerate(trace.steps):
        states = dict((int(p), st) for st, p in re.findall(r'data-state="([\w-]+)" data-pos="(\d+)"',
                                                           render.canvas_html(trace, i)))
        lo = s.block * CANVAS
        for p in range(len(s.tokens)):
            if s.accepted or s.noise:  # a denoising step: its block in the four uniform states
                if lo <= p < lo + CANVAS:
                    want = ("renoised" if p in s.remasked else "noise") if p in s.noise else \
                        ("accepted-new" if p in s.committed else "accepted")
                else:
                    want = "committed" if p < lo else "masked"  # earlier blocks committed, later not drawn yet
            else:  # the block's commit
                want = "new" if lo <= p < lo + CANVAS else "committed" if p < lo else "masked"
            assert states[p] == want, (i, p)
            seen.add(want)
    assert seen >= {"noise", "renoised", "accepted-new", "accepted", "new", "committed", "masked"}
    status = render.status_text(trace, len(trace.steps) - 1)
    assert "positions not accepted 0" in status and "masks" not in status


def test_token_text_is_escaped_in_noise_and_accepted_chips(uniform_trace):
    from llada_demo.web import render
    trace = dataclasses.replace(uniform_trace, token_text={i: "<img src=x onerror=alert(1)>" for i in range(256)})
    for i in range(len(trace.steps)):
        html = render.canvas_html(trace, i)
        assert "<img" not in html and "&lt;img" in html


def test_the_plots_speak_of_entropy_and_acceptance(uniform_trace):
    import math
    from llada_demo.web import plots
    trace = uniform_trace
    heat = plots.confidence_heatmap(trace)
    assert "entropy" in heat.layout.title.text
    z = heat.data[0].z  # (positions, steps): each step's entropy at its block, a gap elsewhere
    for k, s in enumerate(trace.steps):
        for p in range(len(s.tokens)):
            h = s.entropy[p] if s.entropy else None
            assert (math.isnan(z[p][k]) if h is None else z[p][k] == h)
    renoised = sorted((s.index + 1, p) for s in trace.steps for p in s.remasked)
    assert sorted(zip(heat.data[2].x, heat.data[2].y)) == renoised
    left = plots.masks_left(trace).data[0].y  # positions not accepted: noise or not drawn yet
    assert list(left) == [sum(1 for p, t in enumerate(s.tokens) if p in s.noise or t == trace.mask_id)
                          for s in trace.steps]
    order = plots.decode_order(trace)
    last = {}  # the step each position was accepted at and then held until its block was committed
    for s in trace.steps:
        for p in s.committed:
            if p in s.accepted:
                last[p] = s.index + 1
    assert dict(zip(order.data[0].x, order.data[0].y)) == last


def test_exports_carry_the_states(uniform_trace, tmp_path):
    from llada_demo.web import export
    trace = uniform_trace
    html = export.replay_html(trace)
    assert 'data-state=\\"renoised\\"' in html or 'data-state="renoised"' in html or "ld-renoised" in html
    frames = export.gif_frames(trace, width=480)
    assert len(frames) == len(trace.steps)
    # A renoised chip is drawn in the renoised red, somewhere in a frame that has one.
    from llada_demo.web.export.gif import RENOISED_EDGE
    k = next(i for i, s in enumerate(trace.steps) if s.remasked)
    assert RENOISED_EDGE in {c for _, c in frames[k].convert("RGB").getcolors(1 << 20)}
