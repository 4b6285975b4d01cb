"""The reversal experiment's held-out items as questions: each fact or couplet asked forwards and backwards,
with its candidates and how an answer is judged. Plain data from the tiny world, no torch, so that the page
can list the items before any model is loaded.

What it is not: no model runs, no scoring (evaluate.py asks the models and counts).
"""

from __future__ import annotations

from dataclasses import dataclass

from llada_demo.tinyworld import corpus


def first_word(text: str) -> str:
    words = text.replace(".", " ").replace(",", " ").split()
    return words[0] if words else ""


@dataclass(frozen=True)
class Case:
    """One held-out reversal item, asked forwards and backwards."""

    kind: str  # "facts" or "couplets"
    forward_prompt: str
    forward_answer: str
    reverse_prompt: str
    reverse_answer: str
    template: str  # the forward text with "{}" where the first item stands
    candidates: tuple[str, ...]
    length: int  # tokens to generate for an answer

    def text_with(self, first: str) -> str:
        return self.template.replace("{}", first, 1)

    def correct(self, generated: str, answer: str) -> bool:
        if self.kind == "facts":
            return first_word(generated) == answer
        return generated.split("\n")[0].strip() == answer


def reversal_cases(world, limit: int | None = None) -> list[Case]:
    facts = [Case("facts", f.forward_prompt, f.forward_answer, f.reverse_prompt, f.reverse_answer,
                  f.masked_template, tuple(f.candidates), 8) for f in corpus.held_out_facts(world)[:limit]]
    couplets = [Case("couplets", c.line1 + "\n", c.line2, c.line2 + "\n", c.line1, "{}\n" + c.line2,
                     tuple(c.candidates), 24) for c in corpus.held_out_couplets(world)[:limit]]
    return facts + couplets
