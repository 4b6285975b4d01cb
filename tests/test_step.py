"""The Step record and the Trace: frozen, torch-free, and a JSON round trip that loses nothing."""

import dataclasses
import json

import pytest
import torch

from llada_demo.engine import diffusion
from llada_demo.engine.step import Step, Trace
from tests.conftest import MASK_ID


def a_trace(model):
    torch.manual_seed(0)
    steps = tuple(diffusion.sample(model, torch.tensor([[5, 6, 7]]), steps=4, gen_length=8, block_length=4,
                                   temperature=0.5, mask_id=MASK_ID))
    trace = Trace(sampler="diffusion", prompt="a <b> & 'c'", settings={"steps": 4, "gen_length": 8}, mask_id=MASK_ID,
                  steps=steps, special_ids={"eos": (1,)}, model="tiny random")
    return dataclasses.replace(trace, token_text={i: f"t{i}" for i in trace.ids_used()})


def test_step_is_frozen(diffusion_model):
    step = a_trace(diffusion_model).steps[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        step.index = 3


def test_trace_round_trips_through_json(diffusion_model):
    trace = a_trace(diffusion_model)
    text = trace.to_json()
    assert Trace.from_json(text) == trace
    json.loads(text)  # strict JSON: no NaN or Infinity
    assert MASK_ID in trace.ids_used() and all(i in trace.token_text for i in trace.ids_used())


@pytest.mark.parametrize("text,fragment", [
    ("not json", "not valid JSON"),
    ("[1, 2]", "not a llada-demo trace"),
    ('{"format": 1, "sampler": "diffusion"}', "missing or mistypes"),
    ('{"format": 1, "sampler": "d", "prompt": "", "settings": {}, "mask_id": 3, "token_text": {},'
     ' "special_ids": {}, "steps": [{"index": 0, "evil": 1}]}', "unknown fields"),
])
def test_malformed_trace_raises_a_sentence(text, fragment):
    with pytest.raises(ValueError, match=fragment):
        Trace.from_json(text)


def test_step_from_dict_restores_tuples():
    step = Step(index=0, block=0, tokens=(1, 2), committed=(0,), proposals=(1, 2), confidence=(0.5, None),
                top_ids=((1, 2), ()), top_probs=((0.5, 0.25), ()))
    assert Step.from_dict(json.loads(json.dumps(dataclasses.asdict(step)))) == step
