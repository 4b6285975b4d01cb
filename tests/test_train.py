"""A smoke run of the training script (never the full run): it trains, checkpoints, resumes, and
writes a folder that loads through the one loader; the evaluation runs on such a pair."""

import json

import pytest
import torch

from llada_demo.tinyworld import evaluate, train
from llada_demo import models


def run(out, kind, steps, *more):
    return train.train(train.parse_args(["--kind", kind, "--out", str(out), "--size", "smoke", "--steps", str(steps),
                                         "--batch", "4", "--every", "2", "--limit-docs", "64", "--seq-len", "64", *more]))


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    root = tmp_path_factory.mktemp("smoke")
    return run(root / "dm", "diffusion", 3), run(root / "ar", "ar", 3)


def test_training_writes_a_loadable_folder_with_its_record(pair):
    for folder, kind in zip(pair, (models.DIFFUSION, models.AUTOREGRESSIVE)):
        for name in ("config.json", "model.safetensors", "tokenizer.json", "losses.csv", "training.json", "command.txt"):
            assert (folder / name).is_file(), name
        loaded = models.load(str(folder), device="cpu")
        assert loaded.kind == kind and loaded.mask_id == loaded.tokenizer.mask_token_id
        summary = json.loads((folder / "training.json").read_text())
        assert summary["steps"] == 3 and summary["command"].startswith("python -m llada_demo.tinyworld.train --kind")


def test_resume_continues_where_it_stopped(tmp_path):
    interrupted = tmp_path / "resumed"
    run(interrupted, "diffusion", 2)  # stops at step 2, as if interrupted there
    run(interrupted, "diffusion", 4)  # the same command with more steps picks up at step 2
    straight = run(tmp_path / "straight", "diffusion", 4)
    history = [line for line in (interrupted / "losses.csv").read_text().splitlines()[1:]]
    assert len(history) == 4
    # Same seed, same batches, same masks: resuming gives the weights of an uninterrupted run,
    # up to the learning-rate schedule, which depends on --steps (so compare the first two steps only).
    assert history[:2] == (straight / "losses.csv").read_text().splitlines()[1:3]


def test_a_phase_cut_short_resumes_into_the_uninterrupted_run(tmp_path):
    cut = run(tmp_path / "cut", "diffusion", 4, "--stop-at", "2")  # the schedule spans 4 steps; stop at 2
    assert json.loads((cut / "training.json").read_text())["steps"] == 2
    assert (cut / "model.safetensors").is_file()  # a loadable folder, as a finished run writes
    run(cut, "diffusion", 4)  # the same run, carried on to the end
    straight = run(tmp_path / "straight", "diffusion", 4)
    assert (cut / "losses.csv").read_text() == (straight / "losses.csv").read_text()
    a, b = (models.load(str(f), device="cpu").model.state_dict() for f in (cut, straight))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_checkpoint_refuses_to_resume_another_recipe(tmp_path):
    """A folder holding a checkpoint of one recipe does not silently continue as another (it once
    'finished' a new phase at once, from a stale step 1,250 of an older one)."""
    run(tmp_path / "run", "diffusion", 2)
    with pytest.raises(ValueError, match="another run.*--seed 0"):
        run(tmp_path / "run", "diffusion", 4, "--seed", "1")


def test_diffusion_loss_counts_only_masked_tokens():
    torch.manual_seed(0)
    model = train.TinyTransformer(train.TinyConfig(vocab_size=20, hidden_size=16, intermediate_size=32,
                                                   num_hidden_layers=1, num_attention_heads=2))
    x = torch.randint(4, 20, (3, 10))
    g = torch.Generator().manual_seed(0)
    loss = train.diffusion_loss(model, x, torch.full((3,), 10), mask_id=2, g=g)
    assert loss.item() > 0 and loss.requires_grad


def test_first_line_sft_keeps_a_couplets_first_line_as_the_prompt(world, docs):
    """--sft-prompt first-line: an SFT-masked couplet row keeps exactly its first line and line break
    (the question), the rest is masked; a fact row keeps a random prefix; the random draws are unchanged."""
    from llada_demo.tinyworld.tokenizer import build_tokenizer
    tok = build_tokenizer(docs)
    couplet, fact = world.couplets[0].text, train.corpus.forward_sentence(world.facts[0])
    rows = [tok.encode(d, add_special_tokens=False) + [tok.eos_token_id] for d in (couplet, fact)] * 32
    width = max(map(len, rows)) + 4
    x = torch.tensor([r + [tok.eos_token_id] * (width - len(r)) for r in rows])  # (64, width)
    lengths = torch.tensor([len(r) for r in rows])
    seen = {}
    model = train.TinyTransformer(train.model_config("smoke", "diffusion", tok, tie=True))

    def recorder(noisy):  # the model, noting the masked input it was given
        seen["noisy"] = noisy
        return model(noisy)

    mask = tok.mask_token_id
    line_break = tok.encode("a\na", add_special_tokens=False)[1]
    first_line = tok.encode(couplet.split("\n")[0], add_special_tokens=False) + [line_break]
    # t_floor 1: every token is masked except a kept prompt, so each row shows what it kept
    train.diffusion_loss(recorder, x, lengths, mask, torch.Generator().manual_seed(0), 1.0, line_break)
    by_line = seen.pop("noisy")
    train.diffusion_loss(recorder, x, lengths, mask, torch.Generator().manual_seed(0), 1.0)
    by_prefix = seen.pop("noisy")
    kept_couplets = 0
    for r in range(0, 64, 2):  # couplet rows: all masked, or the first line kept and all after it masked
        kept = (by_line[r] != mask).sum().item()
        assert kept in (0, len(first_line))
        if kept:
            kept_couplets += 1
            assert by_line[r, :kept].tolist() == first_line
        assert (by_prefix[r] != mask).sum().item() == 0 or kept  # the same rows are masked as in SFT
    assert 8 < kept_couplets < 24  # about half
    assert torch.equal(by_line[1::2], by_prefix[1::2])  # fact rows: a random prefix either way


def test_evaluation_runs_on_a_pair(pair):
    report = evaluate.evaluate(str(pair[0]), str(pair[1]), limit=2)
    assert report["reversal"]["facts"]["ar_forward"]["n"] == 2
    assert report["reversal"]["facts"]["ar_forward"]["chance"] == 0.01
    assert 0 <= report["infill"]["accuracy"] <= 1


def test_packed_rows_fill_with_whole_facts_and_couplets_of_one_kind(world, docs):
    """--pack: a fact row holds whole fact sentences only, a couplet row whole couplets, up to --seq-len;
    stories stay alone; both kinds draw the same rows from the same seed; untied from scratch with --untie."""
    from llada_demo.tinyworld.tokenizer import build_tokenizer
    tok = build_tokenizer(docs)
    docs = train.focused(world, docs, 0.3, 0)  # the documents the shipped pair trains on (--focus 0.3)
    kinds = train.categories(world, docs)
    rows = train.Rows(docs, kinds, tok, 64, pack=train.packed_kinds([]), couplet_join="eos")  # "--pack" alone: both
    x, lengths = rows.batch(32, torch.Generator().manual_seed(0))
    again, _ = rows.batch(32, torch.Generator().manual_seed(0))
    assert torch.equal(x, again)
    facts = {train.corpus.forward_sentence(f) for f in world.facts} | {train.corpus.reverse_sentence(f) for f in world.facts}
    seen = set()
    couplets = {c.text for c in world.couplets} | {f"{c.line2}\n{c.line1}" for c in world.couplets}
    for row, n in zip(x.tolist(), lengths.tolist()):
        assert row[n - 1] == tok.eos_token_id and all(t == tok.eos_token_id for t in row[n:])
        text = tok.decode(row[: n - 1])
        sentences = train.corpus.split_sentences(text)
        if "\n" in text:
            seen.add(train.COUPLET)
            # whole couplets, one document each, kept apart by end-of-text (a line break joins two lines)
            pieces = tok.decode(row[: n - 1], skip_special_tokens=False).split(tok.eos_token)
            assert all(p.strip() in couplets for p in pieces) and len(pieces) >= 2
        elif sentences[0] in facts:
            seen.add(train.FACT)
            assert all(s in facts for s in sentences) and n > 40  # packed: a fact alone is ~8 tokens
    assert seen == {train.FACT, train.COUPLET}
    # "--pack facts": a couplet row is one couplet then end-of-text padding, as LLaDA pads an SFT answer
    rows = train.Rows(docs, kinds, tok, 64, pack=train.packed_kinds(["facts"]))
    x, lengths = rows.batch(32, torch.Generator().manual_seed(0))
    texts = [tok.decode(row[: n - 1], skip_special_tokens=False) for row, n in zip(x.tolist(), lengths.tolist())]
    assert any(t in couplets for t in texts) and not any("\n" in t and t not in couplets for t in texts)
    fact_rows = [n for t, n in zip(texts, lengths.tolist())
                 if "\n" not in t and train.corpus.split_sentences(t)[0] in facts]
    assert fact_rows and max(fact_rows) > 40  # fact rows are still packed
    args = train.parse_args(["--kind", "ar", "--out", "unused", "--size", "smoke", "--untie", "--limit-docs", "8"])
    model = train.build(args)[3]
    assert not model.config.tie_word_embeddings
    assert model.lm_head.weight.data_ptr() != model.embed_tokens.weight.data_ptr()


def test_probe_reads_a_running_checkpoint(pair):
    """`python -m llada_demo.tinyworld.probe` rebuilds each run's model from its command and checkpoint and asks it
    for the facts: one forward pass each, the diffusion model also backwards; with couplets, as the
    evaluation asks them."""
    from llada_demo.tinyworld import probe
    dm, ar = (probe.probe(folder, n_facts=12, n_couplets=2) for folder in pair)
    assert (dm["kind"], ar["kind"], dm["step"], ar["step"]) == ("diffusion", "ar", 3, 3)
    for report in (dm, ar):
        counts = [report[k] for k in ("train", "held_out") if k in report]
        assert sum(int(c.split("/")[1]) for c in counts) == 12
        assert 1 <= report["median_rank"] <= report["names"] == 100
    assert "reverse" in dm and "reverse" not in ar
    assert dm["couplets_forward"].endswith("/2") and ar["couplets_forward"].endswith("/2")
    assert dm["couplets_reverse_infill"].endswith("/2") and "couplets_reverse_infill" not in ar
