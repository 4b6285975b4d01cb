"""A committed token taken back (remasked, renoised or edited) is its own state on every view: the canvas,
the hover card, the heatmap and decode-order plots, and a trace saved before `Step.remasked` existed
still loads and replays."""

import json
import re

from llada_demo.engine.step import Step, Trace
from llada_demo.web import plots
from llada_demo.web.render import canvas_html, commits, losses

MASK = 2
TEXT = {5: "<b>cat</b>", 6: "dog", 7: "owl", 8: "fox"}


def step(index, tokens, committed, remasked=()):
    n = len(tokens)
    return Step(index=index, block=0, tokens=tuple(tokens), committed=tuple(committed), remasked=tuple(remasked),
                proposals=tuple(t if t != MASK else 7 for t in tokens), confidence=(None,) * n,
                probability=(0.8,) * n, top_ids=((7, 8),) * n, top_probs=((0.6, 0.3),) * n, entropy=(None,) * n,
                nfe=index + 1, elapsed=0.1 * (index + 1))


def revoking_trace():
    """Position 0 is committed, taken back, committed again; position 1 is edited from dog to fox."""
    steps = (step(0, [5, 6, MASK], [0, 1]),
             step(1, [MASK, 6, MASK], [], remasked=[0]),
             step(2, [7, 8, MASK], [0, 1], remasked=[1]),
             step(3, [7, 8, 6], [2]))
    return Trace(sampler="diffusion", prompt="p", settings={"steps": 4, "gen_length": 3, "block_length": 3},
                 mask_id=MASK, steps=steps, token_text=TEXT)


def chip(html, pos):
    """The HTML of one chip, from its opening tag to the next chip's."""
    start = html.rindex("<span", 0, html.index(f'data-pos="{pos}"'))
    nxt = html.find('<span class="ld-chip', start + 1)
    return html[start:nxt if nxt > 0 else None]


def states(html):
    return re.findall(r'data-state="(\w+)" data-pos="(\d+)"', html)


def test_a_chip_goes_committed_then_remasked_then_committed_again():
    trace = revoking_trace()
    seen = [dict((int(p), s) for s, p in states(canvas_html(trace, i)))[0] for i in range(4)]
    assert seen == ["new", "remasked", "new", "committed"]
    # A never-committed mask stays "masked", distinct from a remasked one.
    assert dict((int(p), s) for s, p in states(canvas_html(trace, 1)))[2] == "masked"


def test_the_card_names_the_lost_token_escaped():
    html = canvas_html(trace := revoking_trace(), 1)
    lost = chip(html, 0)
    assert "remasked at step 2" in lost and "&lt;b&gt;cat&lt;/b&gt;" in lost and "<b>cat</b>" not in lost
    edited = chip(canvas_html(trace, 2), 1)
    assert "ld-edited" in edited and "edited (it held dog)" in edited


def test_commits_and_losses_follow_the_latest_event():
    trace = revoking_trace()
    assert 0 not in commits(trace.steps, 1) and commits(trace.steps, 2)[0].step == 2
    assert losses(trace.steps, 1)[0].token == 5 and losses(trace.steps, 3)[1].token == 6


def test_plots_mark_remasking():
    trace = revoking_trace()
    heat = plots.confidence_heatmap(trace)
    crosses = [d for d in heat.data if d.name == "remasked"]
    assert len(crosses) == 1 and list(crosses[0].x) == [2, 3] and list(crosses[0].y) == [0, 1]
    order = plots.decode_order(trace)
    assert [d.name for d in order.data] == ["committed", "remasked"]
    assert dict(zip(order.data[0].x, order.data[0].y))[0] == 3  # its final commit, at step 3


def test_a_trace_saved_before_the_field_existed_still_loads_and_replays():
    data = json.loads(revoking_trace().to_json())
    for s in data["steps"]:
        del s["remasked"]
    old = Trace.from_json(json.dumps(data))
    assert all(s.remasked == () for s in old.steps)
    assert [s for s, _ in states(canvas_html(old, 3))] == ["committed", "committed", "new"]


def test_a_bad_remasked_field_is_refused():
    data = json.loads(revoking_trace().to_json())
    data["steps"][1]["remasked"] = [0, 0]
    try:
        Trace.from_json(json.dumps(data))
    except ValueError as err:
        assert "remasked" in str(err)
    else:
        raise AssertionError("a duplicated remasked position was accepted")
