"""The tiny world that trains the shipped pair: a generated corpus with held-out facts and couplets, its
word-level tokenizer, training, evaluation, the quick probe, and the model cards.
"""
