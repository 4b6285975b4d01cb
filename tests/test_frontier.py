"""The decoding-rule frontier (tinyworld/strategies.py) and the page's views of it and of two strategies.

The rows are checked against `tinyworld.evaluate` (the project's held-out scoring, a separate path through
`diffusion.generate` / `evaluate.fill` / `evaluate.grammar`), the CSV against Python's csv reader, the
comparison of two strategies against each rule run alone.
"""

import csv
import dataclasses
import functools
import io

import pytest

from llada_demo.engine import runs
from llada_demo.models import load
from llada_demo.tinyworld import evaluate, strategies
from llada_demo.web import frontier, views
from llada_demo.web.render import status_text

LIMIT = 1  # items per set: every task once, seconds on 2 cores


@pytest.fixture(scope="module")
def pair():
    return load("tiny-llada", device="cpu"), load("tiny-ar", device="cpu")


@pytest.fixture(scope="module")
def measured(pair, world):
    diff, ar = pair
    return list(strategies.rows(diff, ar, world, families=("fixed", "threshold", "remdm", "ar"), limit=LIMIT))


def test_rows_come_in_order_and_cover_every_item(measured, world):
    names = [r.rule for r in measured]
    assert names[0] == strategies.RULES[0].name and names[-1] == strategies.AR_NAME
    assert [r.name for r in strategies.RULES if r.family in ("fixed", "threshold", "remdm")] == names[:-1]
    n_items = {t: sum(1 for i in strategies.items(load("tiny-llada"), world, LIMIT) if i.task == t)
               for t in strategies.TASKS}
    assert all(n_items[t] == LIMIT for t in strategies.TASKS)
    tokens = {r.tokens for r in measured[:-1]}
    assert len(tokens) == 1  # every diffusion rule decoded the same items
    for row in measured[:-1]:
        for task in ("facts forward", "facts as a blank", "couplets forward"):
            assert row.asked[task] == LIMIT and 0 <= row.right[task] <= LIMIT


def test_passes_follow_each_rule(measured):
    by_name = {r.rule: r for r in measured}
    one = by_name["fixed, steps = tokens"]
    assert one.passes == one.tokens  # one token per forward pass
    half = by_name["fixed, steps = tokens / 2"]
    assert half.passes < one.passes and abs(half.passes - one.tokens / 2) <= 4  # rounding per item
    for row in measured:
        if row.family == "threshold":
            assert row.passes <= one.passes  # at least one token per pass
        if row.family == "remdm":
            assert one.passes < row.passes <= 2 * one.passes  # loop passes, capped at the block's steps
    lower = [by_name[f"threshold {t:g}"].passes for t in (0.9, 0.7, 0.5, 0.3, 0.1)]
    assert lower == sorted(lower, reverse=True)  # a lower threshold never needs more passes
    ar = by_name[strategies.AR_NAME]
    assert ar.passes == ar.tokens and "facts as a blank" not in ar.asked


def test_the_fixed_schedule_scores_as_evaluate_does(measured, pair, world):
    diff, ar = pair
    one = measured[0]
    cases = evaluate.reversal_cases(world, LIMIT)
    for kind in ("facts", "couplets"):
        case = next(c for c in cases if c.kind == kind)
        right = case.correct(evaluate.continuation(diff, case.forward_prompt, case.length), case.forward_answer)
        assert one.right[f"{kind} forward"] == int(right)
        ar_right = case.correct(evaluate.continuation(ar, case.forward_prompt, case.length), case.forward_answer)
        assert measured[-1].right[f"{kind} forward"] == int(ar_right)
    fact = next(c for c in cases if c.kind == "facts")
    filled = evaluate.fill(diff, fact.text_with(fact.reverse_answer), "", fact.reverse_answer)
    assert one.right["facts as a blank"] == int(filled.strip() == fact.reverse_answer)
    prompts = evaluate.corpus.story_prompts(world)[:LIMIT]
    grammar = evaluate.grammar(diff, world, prompts, **strategies.STORY, steps=strategies.STORY["gen_length"])
    assert (one.right["story grammar"], one.asked["story grammar"]) == (grammar["correct"], grammar["n"])


def test_rows_are_deterministic(measured, pair, world):
    diff, ar = pair
    again = list(strategies.rows(diff, ar, world, families=("fixed", "threshold", "remdm", "ar"), limit=LIMIT))
    assert [dataclasses.replace(r, seconds=0) for r in again] == [dataclasses.replace(r, seconds=0) for r in measured]


def test_page_rows_say_how_many_come_and_refuse_unknown_families(pair, world):
    diff, ar = pair
    got = list(strategies.page_rows(diff, ar, world, families=("ar",), limit=LIMIT))
    assert [r["rule"] for r in got] == [strategies.RULES[0].name, strategies.AR_NAME]
    assert {r["of"] for r in got} == {2}
    with pytest.raises(ValueError, match="Unknown rule families"):
        next(strategies.rows(diff, ar, world, families=("fast",)))


def test_the_table_puts_each_rule_beside_the_fixed_schedule(measured):
    text = strategies.table(measured)
    lines = text.splitlines()
    assert len(lines) == 2 + len(measured)
    assert "| 1.000 | 1.00x |" in lines[2]
    assert lines[-1].count(" - ") == 1  # the AR twin is not asked the blank


def test_csv_reads_back_as_the_rows(measured):
    rows = [r.as_dict() for r in measured]
    back = list(csv.DictReader(io.StringIO(frontier.csv_text(rows))))
    assert [b["rule"] for b in back] == [r["rule"] for r in rows]
    for b, r in zip(back, rows):
        assert int(b["passes"]) == r["passes"] and float(b["passes_per_token"]) == pytest.approx(r["passes_per_token"])
        for task in frontier.TASKS:
            key = f"{task}: right"
            assert (b[key] == "") == (r[key] is None)
            if r[key] is not None:
                assert int(b[key]) == r[key]
    assert frontier.TASKS == strategies.TASKS  # the web copy of the task names (web/ cannot import torch)


def test_the_frontier_plot_draws_one_line_per_family(measured):
    rows = [r.as_dict() for r in measured]
    fig = frontier.frontier_figure(rows, "facts forward")
    assert [t.name for t in fig.data] == [frontier.NAMES[f] for f in ("fixed", "threshold", "remdm", "ar")]
    for trace in fig.data:
        assert list(trace.x) == sorted(trace.x)
        family = frontier.FAMILIES[trace.name]
        want = sorted((r["passes_per_token"], r["facts forward: accuracy"]) for r in rows if r["family"] == family)
        assert list(zip(trace.x, trace.y)) == want
    blank = frontier.frontier_figure(rows, "facts as a blank")
    assert frontier.NAMES["ar"] not in [t.name for t in blank.data]  # never asked: no point
    ar = rows[-1]
    mean = frontier.accuracy(ar, frontier.MEAN)
    asked = [ar[f"{t}: accuracy"] for t in frontier.TASKS if ar[f"{t}: accuracy"] is not None]
    assert mean == pytest.approx(sum(asked) / len(asked))


def test_frontier_frames_stream_progress_then_the_csv(pair, world):
    diff, ar = pair
    backend = views.Backend(denoise=None, frontier=functools.partial(strategies.page_rows, diff, ar, world))
    frames = list(frontier.frontier_frames(backend, ["threshold τ (Fast-dLLM)", "AR twin"], 1))
    total = 1 + 6 + 1  # the fixed reference, six thresholds, the AR twin
    assert len(frames) == 1 + total
    assert all(f[3] is None for f in frames[:-1])  # the CSV comes once everything is measured
    progress, fig, table, path, rows = frames[-1]
    assert f'value="{total}" max="{total}"' in progress and "Done in" in progress
    assert len(table) == total and len(rows) == total
    with open(path, encoding="utf-8") as f:
        assert [r["rule"] for r in csv.DictReader(f)] == [r["rule"] for r in rows]
    assert frontier.redraw(rows, "story grammar").layout.title.text.endswith("story grammar")


@pytest.mark.parametrize("families, items, message", [
    ([], 2, "Pick at least one"), (["fast"], 2, "decoding rule must be one of"),
    (["AR twin"], 0, "items per set"), (["AR twin"], 1000, "items per set")])
def test_frontier_inputs_are_checked_with_sentences(families, items, message):
    with pytest.raises(ValueError, match=message):
        frontier.checked(families, items)


def test_progress_escapes_the_rule_name():
    assert "<b>" not in frontier.progress_html(1, 2, "<b>x</b>")


@pytest.mark.parametrize("rule, knobs, want", [
    ("fixed schedule", (2.0, -1, 0), {}),  # hidden knobs are not checked
    ("threshold τ (Fast-dLLM)", (0.9, None, None), {"threshold": 0.9}),
    ("entropy bound γ (EB-sampler)", (None, 0.5, None), {"entropy_bound": 0.5}),
    ("ReMDM remasking", (None, None, 2.0), {"remdm_number": 2})])
def test_decoding_rule_keywords(rule, knobs, want):
    assert views.decoding_rule(views.Limits(), rule, *knobs) == want


@pytest.mark.parametrize("rule, knobs, message", [
    ("greedy", (0.9, 0.5, 1), "decoding rule must be one of"),
    ("threshold τ (Fast-dLLM)", (0.0, 0.5, 1), "threshold τ must be from 0.05 to 1"),
    ("entropy bound γ (EB-sampler)", (0.9, "a", 1), "entropy bound γ must be a number"),
    ("ReMDM remasking", (0.9, 0.5, 0.5), "ReMDM remasks")])
def test_bad_rules_are_told_in_a_sentence(rule, knobs, message):
    with pytest.raises(ValueError, match=message):
        views.decoding_rule(views.Limits(), rule, *knobs)


PROMPT = "Zox's mother is"


def test_two_strategies_in_lockstep_equal_each_rule_alone(pair):
    diff, ar = pair
    backend = views.Backend(denoise=functools.partial(runs.denoise, diff),
                            compare_strategies=functools.partial(runs.compare_strategies, diff))
    side_a = ("low_confidence", "fixed schedule", 0.9, 0.5, 1)
    side_b = ("margin", "threshold τ (Fast-dLLM)", 0.7, 0.5, 1)
    frames = list(views.compare_frames(backend, PROMPT, 16, 16, 16, 0, 0, "two diffusion strategies", *side_a, *side_b))
    alone_a = list(runs.denoise(diff, PROMPT, steps=16, gen_length=16, block_length=16))
    alone_b = list(runs.denoise(diff, PROMPT, steps=16, gen_length=16, block_length=16, remasking="margin",
                                threshold=0.7))
    assert len(frames) == max(len(alone_a), len(alone_b)) == 16 and len(alone_b) < 16
    assert frames[-1][0] == views.canvas_html(alone_a[-1], 15)
    assert frames[-1][2] == views.canvas_html(alone_b[-1], len(alone_b) - 1)
    assert f"Step {len(alone_b)} (threshold τ 0.7)" in frames[-1][3]
    chart = frames[-1][4]
    assert [t.name for t in chart.data][:2] == ["A: fixed schedule, low_confidence", "B: threshold 0.7, margin"]
    assert list(chart.data[1].x)[-1] == len(alone_b) and list(chart.data[1].y)[-1] == 16


def test_diffusion_vs_ar_takes_rule_a(pair):
    diff, ar = pair
    backend = views.Backend(denoise=None, compare=functools.partial(runs.compare, diff, ar))
    frames = list(views.compare_frames(backend, PROMPT, 16, 16, 16, 0, 0, "diffusion vs autoregressive",
                                       "entropy", "entropy bound γ (EB-sampler)", 0.9, 0.5, 1))
    alone = list(runs.denoise(diff, PROMPT, steps=16, gen_length=16, block_length=16, remasking="entropy",
                              entropy_bound=0.5))
    assert frames[-1][0] == views.canvas_html(alone[-1], len(alone) - 1)
    with pytest.raises(views.gr.Error, match="two diffusion strategies"):
        list(views.compare_frames(views.Backend(denoise=None), PROMPT, 16, 16, 16, 0, 0))


def test_remdm_status_counts_tokens_once(pair):
    diff, _ = pair
    trace = None
    for trace in runs.denoise(diff, PROMPT, steps=16, gen_length=16, block_length=16, remdm_number=1):
        pass
    n = len(trace.steps)
    assert n > 16 and any(s.remasked for s in trace.steps)
    text = status_text(trace, n - 1)
    assert f"Step {n} (ReMDM remasking 1)" in text and f"{16 / n:.2f} tokens per pass" in text
    assert views.finished(trace) and not views.finished(dataclasses.replace(trace, steps=trace.steps[:-1]))
