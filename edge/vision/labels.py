"""The model's classes: the ten digits, then "not a digit"."""

from __future__ import annotations

NUM_DIGITS = 10
NOT_A_DIGIT = 10
LABELS: tuple[str, ...] = (*(str(d) for d in range(NUM_DIGITS)), "not_a_digit")
NUM_CLASSES = len(LABELS)
