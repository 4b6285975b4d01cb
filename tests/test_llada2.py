"""LLaDA 2 through diffusers' own LLaDA2Pipeline: the presets load from a hub-shaped cache (the stand-in of
`modeling_llada2_moe.py`, which fails on transformers 5 without the loader's fix), the Step stream ends in
exactly the pipeline's own output, edits show as remasked and committed, Stop ends the worker within a
step, and a fault ends the run with a sentence."""

import dataclasses
import subprocess
import sys
import threading

import pytest
import torch

from llada_demo import models
from llada_demo.engine import llada2, runs
from llada_demo.engine.text import prompt_ids
from tests.worker_faults import assert_a_fault_ends_the_run
from tests.standins.families import put_in_cache
from tests.standins.llada2 import llada2 as build_llada2

PRESETS = ("llada2-mini", "llada2.1-mini")


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """llada2-mini loaded through models.load from a Hugging Face cache laid out as the hub's."""
    cache = tmp_path_factory.mktemp("hf")
    put_in_cache(cache, models.PRESETS["llada2-mini"].source, build_llada2)
    preset = models.PRESETS["llada2-mini"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(models.PRESETS, "llada2-mini", dataclasses.replace(preset, memory_gb=0.01))
        return models.load("llada2-mini", device="cpu", cache_dir=str(cache))


def sharp(loaded, scale: float):
    """The loaded model with its output layer scaled: confident guesses, so thresholds and edits come into play."""
    model = loaded.model
    original = model.lm_head.weight.detach().clone()
    model.lm_head.weight.data.mul_(scale)
    return original


def run(loaded, ids, *, seed=0, **settings):
    return list(llada2.sample(loaded.model, torch.tensor([ids]), mask_id=loaded.mask_id,
                              generator=torch.Generator().manual_seed(seed), **settings))


def pipeline_output(loaded, ids, *, seed=0, steps, gen_length, block_length, **settings):
    pipe = llada2.pipeline(loaded.model, block_length)
    return pipe(input_ids=torch.tensor([ids]), gen_length=gen_length, block_length=block_length,
                num_inference_steps=steps, mask_token_id=loaded.mask_id, sampling_method="auto", output_type="seq",
                generator=torch.Generator().manual_seed(seed), **settings).sequences[0].tolist()


@pytest.mark.parametrize("name", PRESETS)
def test_the_preset_loads_the_hub_code_with_its_head(tmp_path, monkeypatch, name):
    preset = models.PRESETS[name]
    monkeypatch.setitem(models.PRESETS, name, dataclasses.replace(preset, memory_gb=0.01))
    put_in_cache(tmp_path, preset.source, build_llada2)
    loaded = models.load(name, device="cpu", cache_dir=str(tmp_path))
    assert type(loaded.model).__name__ == "LLaDA2MoeModelLM" and llada2.serves(loaded.model)
    assert loaded.kind == models.DIFFUSION and loaded.chat
    assert loaded.tokenizer.convert_ids_to_tokens(loaded.mask_id) == "<|mask|>"
    assert "<|role_end|>" in loaded.tokenizer.convert_ids_to_tokens(list(loaded.eos_ids))
    # The weights are the ones on disk (nothing re-initialised by the compatibility shims).
    from safetensors.torch import load_file
    from huggingface_hub import snapshot_download
    folder = snapshot_download(preset.source, cache_dir=str(tmp_path), local_files_only=True)
    on_disk = load_file(f"{folder}/model.safetensors")
    state = loaded.model.state_dict()
    assert on_disk.keys() <= state.keys() and all(torch.equal(state[k], v) for k, v in on_disk.items())


def test_the_rotary_frequencies_are_set_after_loading(loaded):
    """transformers 5 leaves the hub code's non-persistent `inv_freq` as uninitialised memory; the loader
    recomputes it: RoPE's base^(-2i/d) over the rotated part (partial_rotary_factor) of head_dim."""
    config = loaded.model.config
    d = int(config.head_dim * config.partial_rotary_factor)
    expected = 1.0 / (config.rope_theta ** (torch.arange(0, d, 2).double() / d))
    rotary = loaded.model.model.rotary_emb
    assert torch.allclose(rotary.inv_freq.double(), expected, rtol=1e-6)
    assert rotary.original_inv_freq is rotary.inv_freq and rotary.attention_scaling == 1.0
    assert loaded.model.config.use_cache is False  # its transformers-4 cache code never runs


def test_the_hub_code_fails_on_transformers_5_without_the_loader(tmp_path):
    """The failing case the fix answers: in a fresh interpreter, transformers alone cannot load the file."""
    build_llada2(tmp_path)  # (builds with the shims, in this process)
    code = ("import sys\nfrom transformers import AutoModelForCausalLM\n"
            f"try:\n    AutoModelForCausalLM.from_pretrained({str(tmp_path)!r}, trust_remote_code=True)\n"
            "except Exception as err:\n    print(type(err).__name__, err)\n    sys.exit(3)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 3 and "is_torch_fx_available" in done.stdout, done.stdout + done.stderr[-2000:]


def test_the_block_causal_adapter_gives_the_model_its_own_generate_mask(loaded):
    """With the 4D mask LLaDA 2's `generate` builds (tril over blocks, repeated, log), the logits match the
    adapter's; the pipeline's bare 2D mask would let earlier blocks see later ones."""
    x = torch.tensor([[5, 6, 7, 8, 9, 10, loaded.mask_id, loaded.mask_id]])
    blocks = torch.tril(torch.ones(2, 2)).repeat_interleave(4, 0).repeat_interleave(4, 1)[None, None].log()
    own = loaded.model(x, attention_mask=blocks, use_cache=False).logits
    adapted = llada2.BlockCausal(loaded.model, 4)(x, attention_mask=torch.ones_like(x)).logits
    bare = loaded.model(x, attention_mask=torch.ones_like(x), use_cache=False).logits
    assert torch.allclose(own, adapted, atol=1e-5)
    assert not torch.allclose(own[:, :4], bare[:, :4], atol=1e-4)  # block 0 saw block 1 without the adapter


@pytest.mark.parametrize("settings", [
    dict(steps=4, gen_length=12, block_length=4, threshold=0.95, editing_threshold=None),
    dict(steps=2, gen_length=10, block_length=8, threshold=0.5, editing_threshold=0.5, temperature=1.0),
    dict(steps=3, gen_length=9, block_length=4, threshold=0.7, editing_threshold=0.3, temperature=0.7),
    dict(steps=2, gen_length=16, block_length=8, threshold=0.3, editing_threshold=0.1),
], ids=["2.0-greedy", "2.1-sampled", "2.1-odd-lengths", "2.1-editing"])
def test_the_steps_end_in_the_pipelines_own_output(loaded, settings):
    ids = prompt_ids(loaded.tokenizer, "w1 w2 w3", chat=True)
    original = sharp(loaded, 16.0)
    try:
        for seed in (0, 1):
            steps = run(loaded, ids, seed=seed, eos_early_stop=False, **settings)
            assert list(steps[-1].tokens) == pipeline_output(loaded, ids, seed=seed, eos_early_stop=False, **settings)
            # Invariants of the stream: one Step per pass, every position committed by the end, a commit
            # either fills a mask or is an edit.
            assert [s.index for s in steps] == list(range(len(steps))) and steps[-1].nfe == len(steps)
            # Every position is committed by the end, except where diffusers' draw itself picked [MASK] (the
            # pipeline does not exclude it; a trained model gives it almost no probability, this one does not).
            last_commit = {p: s.proposals[p] for s in steps for p in s.committed}
            assert all(last_commit.get(p) == loaded.mask_id for p, t in enumerate(steps[-1].tokens)
                       if t == loaded.mask_id)
            if not settings.get("temperature"):
                assert loaded.mask_id not in steps[-1].tokens
            before = [loaded.mask_id] * settings["gen_length"]
            for s in steps:
                for p in s.committed:
                    assert before[p] == loaded.mask_id or p in s.remasked
                    assert s.tokens[p] == s.proposals[p] and s.confidence[p] is not None or p in s.remasked
                changed = {p for p, (a, b) in enumerate(zip(before, s.tokens)) if a != b}
                # Only commits change tokens; a commit that changes nothing is a drawn [MASK] (see below).
                assert changed <= set(s.committed)
                assert all(s.tokens[p] == loaded.mask_id for p in set(s.committed) - changed)
                before = list(s.tokens)
            assert len(steps) <= llada2.max_passes(len(ids), max_post_steps=16, **{
                k: settings[k] for k in ("steps", "gen_length", "block_length", "editing_threshold")})
    finally:
        loaded.model.lm_head.weight.data.copy_(original)


def test_edits_show_as_remasked_and_committed(loaded):
    ids = prompt_ids(loaded.tokenizer, "w1 w2 w3", chat=True)
    original = sharp(loaded, 16.0)
    try:
        edits = 0
        for seed, temperature in ((0, 0.0), (0, 1.0), (1, 1.0)):
            steps = run(loaded, ids, seed=seed, steps=2, gen_length=16, block_length=8, threshold=0.3,
                        editing_threshold=0.1, temperature=temperature, eos_early_stop=False)
            before = [loaded.mask_id] * 16
            for s in steps:
                for p in s.remasked:  # an edit: a committed token replaced by the model's confident new guess
                    assert before[p] != loaded.mask_id and s.tokens[p] != before[p] and p in s.committed
                    assert s.tokens[p] == s.proposals[p] and s.confidence[p] > 0.1  # the scheduler's edit rule
                    edits += 1
                before = list(s.tokens)
            # Without editing, no committed token ever changes.
            plain = run(loaded, ids, seed=seed, steps=2, gen_length=16, block_length=8, threshold=0.3,
                        editing_threshold=None, temperature=temperature, eos_early_stop=False)
            assert all(not s.remasked for s in plain)
        assert edits > 0  # the settings above do make the model revise itself
    finally:
        loaded.model.lm_head.weight.data.copy_(original)


def test_stop_ends_the_worker_within_one_step(loaded):
    ids = prompt_ids(loaded.tokenizer, "w1", chat=True)
    calls = []
    hook = loaded.model.register_forward_hook(lambda *_: calls.append(1))
    try:
        stream = llada2.sample(loaded.model, torch.tensor([ids]), steps=8, gen_length=64, block_length=8,
                               mask_id=loaded.mask_id, eos_early_stop=False)
        first = [next(stream), next(stream)]
        stream.close()  # what runs._stream does when a visitor presses Stop
        assert [s.index for s in first] == [0, 1]
        assert not any(t.name == "llada2-pipeline" and t.is_alive() for t in threading.enumerate())
        # The worker ran ahead by at most the queue's two places and the pass in flight.
        assert len(calls) <= len(first) + 3 < 64
    finally:
        hook.remove()


def test_a_fault_in_the_worker_ends_the_run_with_a_sentence(loaded):
    assert_a_fault_ends_the_run(loaded.model, lambda: runs.denoise(loaded, "w1 w2", steps=4, gen_length=16,
                                                                   block_length=8), "llada2-pipeline")


def test_runs_stream_a_chat_trace_that_exports_and_replays(loaded):
    from llada_demo.engine.step import Trace
    traces = list(runs.denoise(loaded, "w1 w2", steps=4, gen_length=16, block_length=8,
                               history=(("w3", "w4 w5"),)))
    last = traces[-1]
    assert last.settings["steps_per_block"] == 4 and last.settings["threshold"] == 0.95
    assert last.prompt == "w1 w2" and len(last.steps) == len(traces)
    assert Trace.from_json(last.to_json()) == last  # the trace's own checks accept it
    with pytest.raises(ValueError, match="no classifier-free guidance"):
        runs.denoise(loaded, "w1", steps=4, gen_length=8, block_length=8, cfg_scale=1.0)
    with pytest.raises(ValueError, match="threshold is a probability"):
        llada2.sample(loaded.model, torch.tensor([[3]]), steps=4, gen_length=8, block_length=8,
                      mask_id=loaded.mask_id, threshold=1.5)
