"""What stops a baseline run spending: the --max-cost guard, and a judge known to be unusable."""

from __future__ import annotations


class CostStop(Exception):
    pass


class JudgesUnusable(Exception):
    """A judge keeps answering ERROR: every further question would be paid for and scored as a
    failed check, so the run stops spending (what was answered is kept for a resume)."""


# A judge is stopped early once this process has asked it this many questions and the 95% Wilson
# interval of its ERROR share lies wholly above eval.max_judge_errors: not a bad streak, a judge
# that cannot answer. Fewer answers decide nothing early; the end-of-run check still applies.
EARLY_STOP_MIN = 12


class CostGuard:
    """--max-cost: spent + the worst case of every call in flight must stay under the cap."""

    def __init__(self, cap: float | None, spent: float):
        self.cap, self.spent, self.reserved = cap, spent, 0.0
        self.stopped = False

    def reserve(self, price, messages: list[dict], max_out: int) -> float:
        if self.cap is None or price.local or not price.known:
            return 0.0
        chars = sum(len(m.get("content") or "") for m in messages)
        worst = (chars / 3) * price.input_per_token + max_out * price.output_per_token  # ~3 chars a token: generous
        if self.spent + self.reserved + worst > self.cap:
            self.stopped = True
            raise CostStop(f"--max-cost {self.cap:g}: spent ${self.spent:.4f}, ${self.reserved:.4f} in flight; "
                           "the next call could pass the cap")
        self.reserved += worst
        return worst

    def settle(self, reserved: float, cost: float | None) -> None:
        self.reserved -= reserved
        self.spent += cost or 0.0
