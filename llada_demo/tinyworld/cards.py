"""Model cards for the shipped tiny pair, written from what was recorded, never typed by hand.

    python -m llada_demo.tinyworld.cards assets/models/evaluation.json assets/models/tiny-llada assets/models/tiny-ar

Each card (`README.md` in the model folder) states the data, the size, the training command, time and
hardware, the final loss, and the measured metrics, all read from the folder's `training.json` and the
evaluation report (`python -m llada_demo.tinyworld.evaluate --out ...`). What it is not: no measuring.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

PAPER = ("The LLaDA paper's reversal poem completion (arXiv 2502.09992, Table 3), forward / reversal: "
         "GPT-4o 82.7 / 34.3, Qwen2.5-7B-Instruct 75.9 / 38.0, LLaDA-8B-Instruct 51.8 / 45.6 (percent). "
         "Those are 8-billion-parameter-class models on real poems; ours are about 3 million parameters on a "
         "generated tiny world, so compare the pattern (who can answer backwards), not the numbers.")


def pct(entry: dict) -> str:
    return f"{entry['accuracy']:.1%} ({entry['correct']}/{entry['n']})"


def metrics_table(report: dict, kind: str) -> str:
    key = "diffusion" if kind == "diffusion" else "ar"
    g = report["grammar"][key]
    lines = ["| measure | N | result | chance |", "| --- | --- | --- | --- |",
             f"| grammar: complete generated sentences the corpus grammar accepts | {g['n']} | {g['accuracy']:.1%} | |"]
    for items, entries in report["reversal"].items():
        rows = [("forward (generate)", f"{key}_forward"), ("reverse (generate, same prompt for both models)", f"{key}_reverse")]
        if kind == "diffusion":
            rows.append(("reverse (fill the first item as a blank)", "diffusion_reverse_infill"))
        else:
            rows.append(("reverse (rank the candidates' forward sentences)", "ar_reverse_ranked_first"))
        for label, name in rows:
            e = entries[name]
            lines.append(f"| {items}: {label} | {e['n']} | {pct(e)} | {e['chance']:.1%} |")
    if kind == "diffusion":
        i = report["infill"]
        lines.append(f"| infill: masked span in the middle of held-out sentences | {i['n']} | {pct(i)} | |")
    return "\n".join(lines)


def chain(training: dict) -> list[dict]:
    """The training phases, first to last, from training.json and its previous_phase links."""
    phases_ = []
    while training:
        phases_.insert(0, training)
        training = training.get("previous_phase")
    return phases_


def values(command: str, flag: str) -> list[str] | None:
    """The words given to `flag` in a recorded training command ([] for a switch), None when it is absent."""
    words = command.split()
    if flag not in words:
        return None
    after = words[words.index(flag) + 1:]
    return after[:next((i for i, w in enumerate(after) if w.startswith("--")), len(after))]


def option(command: str, flag: str, default: str | None = None) -> str | None:
    """The value given to `flag` in a recorded training command ("" for a switch), else `default`."""
    given = values(command, flag)
    return default if given is None else (given[0] if given else "")


def first_line_prompt(command: str) -> bool:
    """Whether the phase's SFT-masked couplet rows kept their first line as the prompt (`--sft-prompt`)."""
    return option(command, "--sft-prompt") == "first-line"


def t_floor(command: str) -> str:
    return option(command, "--t-floor", "0.001")


def rows(command: str) -> str:
    """What a training row held, in words, from the recorded command."""
    focus, only, pack = option(command, "--focus"), values(command, "--only"), values(command, "--pack")
    if only:
        singular = {"stories": "story", "facts": "fact", "couplets": "couplet"}
        said = [f"the {' and '.join(singular[k] for k in only)} documents alone"]
    elif focus:
        said = [f"the fact and couplet documents plus stories making up {float(focus):.0%} of the documents"]
    else:
        said = ["every document"]
    packed = [k for k in ([] if pack is None else pack or ["facts", "couplets"]) if not only or k in only]
    if "facts" in packed:
        said.append("a fact row filled with more random facts up to the row length")
    if "couplets" in packed:
        join = "end-of-text" if option(command, "--couplet-join") == "eos" else "a line break"
        said.append(f"a couplet row filled with more random couplets, joined by {join}")
    elif not only or "couplets" in only:
        said.append("a couplet row one couplet, then end-of-text padding")
    if first_line_prompt(command):
        said.append("a couplet row masked as in SFT keeps its first line as the prompt"
                    if option(command, "--kind") == "diffusion" else "`--sft-prompt` changes only the diffusion loss")
    return "; ".join(said)


def phases(training: dict) -> str:
    """One line per training phase, first to last."""
    lines = []
    for i, phase in enumerate(chain(training), 1):
        lines.append(f"- Phase {i}: `{phase['command']}` — {phase['steps']} optimizer steps over "
                     f"{phase['documents']:,} documents ({rows(phase['command'])}), "
                     f"{phase['train_seconds'] / 60:.0f} minutes, final loss "
                     f"(mean of the last 100 steps) {phase['final_loss']}.")
    return "\n".join(lines)


def floors(training: dict) -> str:
    """The mask-ratio floor of each phase, in words (once when every phase used the same)."""
    each = [t_floor(p["command"]) for p in chain(training)]
    return f"floor {each[0]} in every phase" if len(set(each)) == 1 else f"floor per phase: {', '.join(each)}"


def sft_prompts(training: dict) -> str:
    """How the SFT-masked half of the rows chose its prompt, phase by phase, in words."""
    first_line = [i for i, p in enumerate(chain(training), 1) if first_line_prompt(p["command"])]
    if not first_line:
        return "a random prefix"
    phases_ = f"phase{'s' if len(first_line) > 1 else ''} {', '.join(map(str, first_line))}"
    return f"a random prefix (in {phases_}, a couplet row its first line)"


def model_card(folder: Path, report: dict) -> str:
    training = json.loads((folder / "training.json").read_text())
    kind = training["kind"]
    twin = "tiny-ar" if kind == "diffusion" else "tiny-llada"
    objective = ("LLaDA's masked-diffusion objective (Nie et al. 2025, Eq. 3): a mask ratio t ~ U(floor, 1) per "
                 f"sequence, cross-entropy on the masked tokens only, weighted by 1/t ({floors(training)}); "
                 "half the sequences keep "
                 f"{sft_prompts(training)} unmasked, as in LLaDA's supervised fine-tuning" if kind == "diffusion" else
                 "next-token prediction (causal attention, cross-entropy on every next token)")
    settings = report["settings"]
    return f"""---
license: mit
library_name: transformers
tags: [llada-demo, masked-diffusion, tiny]
---
# {folder.name}

The {'diffusion' if kind == 'diffusion' else 'autoregressive'} half of llada-demo's shipped tiny pair. It and
its twin `{twin}` share everything but one thing: the same architecture (`llada_demo.models.modeling`, a small
LLaMA-style transformer with RMSNorm, rotary embeddings and SwiGLU), size, tokenizer, data, batches, seed and
number of steps; this one has {'bidirectional attention and is trained with ' if kind == 'diffusion' else 'causal attention and is trained with '}{objective}.

Load it offline with `import llada_demo` and `{'AutoModelForMaskedLM' if kind == 'diffusion' else 'AutoModelForCausalLM'}.from_pretrained(folder)`.

## Data
The tiny world of `llada_demo.tinyworld.corpus` (seed 0), generated by the project, so it is redistributable:
{training['documents']:,} documents (short stories, facts about invented people, two-line rhyming couplets),
a vocabulary of about 600 words, word-level tokenizer (`tokenizer.json`, with `<|mask|>`,
`<|endoftext|>` and `<|pad|>`). Held-out facts and couplets appear in training in the forward direction only.

## Size and training
- Parameters: {training['parameters']:,} (float32 safetensors).
{phases(training)}
- Hardware: one thread each of a 2-core x86-64 CPU (no GPU), trained at the same time as its twin.
  Loss curve of the last phase: `loss.png`, `losses.csv`.

## Measured (`python -m llada_demo.tinyworld.evaluate`, greedy, exact match)
Page defaults used for generation: gen_length {settings['gen_length']}, steps {settings['steps']}, block_length
{settings['block_length']}, temperature 0, low-confidence remasking.

{metrics_table(report, kind)}

{PAPER}
"""


def readme_table(report: dict) -> str:
    """Both models side by side, for the project README."""
    def cell(entry: dict | None) -> str:
        return pct(entry) if entry else "—"
    g = report["grammar"]
    lines = ["| measure (held-out items, greedy, exact match) | diffusion | autoregressive | chance |",
             "| --- | --- | --- | --- |",
             f"| grammar: complete generated sentences accepted | {cell(g['diffusion'])} | {cell(g['ar'])} | |"]
    for items, e in report["reversal"].items():
        chance = f"{e['ar_forward']['chance']:.1%}"
        lines += [f"| {items}: forward | {cell(e['diffusion_forward'])} | {cell(e['ar_forward'])} | {chance} |",
                  f"| {items}: reverse, same prompt | {cell(e['diffusion_reverse'])} | {cell(e['ar_reverse'])} | {chance} |",
                  f"| {items}: reverse, first item as a blank | {cell(e['diffusion_reverse_infill'])} | (cannot infill) | {chance} |",
                  f"| {items}: reverse, AR ranks the candidates | | {cell(e['ar_reverse_ranked_first'])} | {chance} |"]
    lines.append(f"| infill: a masked span mid-sentence | {cell(report['infill'])} | (cannot infill) | |")
    return "\n".join(lines)


def main(argv=None) -> None:
    args = sys.argv[1:] if argv is None else argv
    report = json.loads(Path(args[0]).read_text())
    for folder in map(Path, args[1:]):
        (folder / "README.md").write_text(model_card(folder, report))
        print(f"wrote {folder / 'README.md'}")


if __name__ == "__main__":
    main()

