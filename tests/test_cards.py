"""Model cards are written from the recorded training summary and the measured report."""

import json

from llada_demo.tinyworld import cards


def entry(acc, n=10, chance=0.01):
    return {"n": n, "correct": round(acc * n), "accuracy": acc, "chance": chance}


REPORT = {
    "settings": {"gen_length": 48, "steps": 48, "block_length": 48},
    "grammar": {"diffusion": {"n": 100, "correct": 95, "accuracy": 0.95}, "ar": {"n": 90, "correct": 90, "accuracy": 1.0}},
    "reversal": {"facts": {k: entry(v) for k, v in {
        "diffusion_forward": 0.9, "diffusion_reverse": 0.1, "diffusion_reverse_infill": 0.6,
        "ar_forward": 1.0, "ar_reverse": 0.0, "ar_reverse_ranked_first": 0.8}.items()}},
    "infill": {"n": 20, "correct": 5, "accuracy": 0.25},
}


def test_card_states_phases_objective_and_metrics(tmp_path):
    first = {"kind": "diffusion", "steps": 100, "train_seconds": 600, "threads": 1, "parameters": 3_000_000,
             "documents": 40_000, "tokens_seen": 1, "final_loss": 1.2,
             "command": "python -m llada_demo.tinyworld.train --kind diffusion --out a --steps 100"}
    second = {**first, "steps": 50, "documents": 9_000, "final_loss": 0.7,
              "command": "python -m llada_demo.tinyworld.train --kind diffusion --init a --out b --steps 50 --t-floor 0.1",
              "previous_phase": first}
    (tmp_path / "training.json").write_text(json.dumps(second))
    card = cards.model_card(tmp_path, REPORT)
    assert "Phase 1: `python -m llada_demo.tinyworld.train --kind diffusion --out a --steps 100`" in card
    assert "Phase 2: `python -m llada_demo.tinyworld.train --kind diffusion --init a --out b --steps 50 --t-floor 0.1`" in card
    assert "floor per phase: 0.001, 0.1" in card
    (tmp_path / "training.json").write_text(json.dumps({**second, "command": first["command"]}))
    assert "(floor 0.001 in every phase)" in cards.model_card(tmp_path, REPORT)  # said once when all agree
    assert "| facts: reverse (fill the first item as a blank) | 10 | 60.0% (6/10) | 1.0% |" in card
    assert "| infill: masked span in the middle of held-out sentences | 20 | 25.0% (5/20) | |" in card
    assert "3,000,000" in card and "LLaDA-8B-Instruct 51.8 / 45.6" in card


def test_rows_say_what_each_phase_trained_on():
    base = "python -m llada_demo.tinyworld.train --kind diffusion --out a"
    assert cards.rows(base) == "every document; a couplet row one couplet, then end-of-text padding"
    assert cards.rows(base + " --focus 0.3 --pack --lr 5e-4") == (
        "the fact and couplet documents plus stories making up 30% of the documents; a fact row filled with more "
        "random facts up to the row length; a couplet row filled with more random couplets, joined by a line break")
    assert cards.rows(base + " --only couplets --pack --couplet-join eos") == (
        "the couplet documents alone; a couplet row filled with more random couplets, joined by end-of-text")
    assert cards.rows(base + " --focus 0.3 --pack facts --seed 4").endswith(
        "a fact row filled with more random facts up to the row length; a couplet row one couplet, then end-of-text padding")
    assert cards.rows(base + " --only couplets --sft-prompt first-line") == (
        "the couplet documents alone; a couplet row one couplet, then end-of-text padding; "
        "a couplet row masked as in SFT keeps its first line as the prompt")
    assert cards.rows(base.replace("diffusion", "ar") + " --only couplets --sft-prompt first-line").endswith(
        "`--sft-prompt` changes only the diffusion loss")


def test_the_card_names_the_phases_whose_sft_prompt_was_a_couplets_first_line():
    def phase(i, more=""):
        return {"command": f"python -m llada_demo.tinyworld.train --kind diffusion --seed {i}{more}"}

    one, two, three = phase(1), phase(2, " --sft-prompt first-line"), phase(3, " --sft-prompt first-line")
    assert cards.sft_prompts(one) == "a random prefix"
    assert cards.sft_prompts({**three, "previous_phase": {**two, "previous_phase": one}}) == (
        "a random prefix (in phases 2, 3, a couplet row its first line)")
