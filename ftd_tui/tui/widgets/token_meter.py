"""The token-budget meter in the status line: the p95 conversation against the budget."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

TIER_STYLE = {"cheapest": "green", "cost-effective": "green", "expensive": "yellow", "very expensive": "bold red"}


def _k(n: int) -> str:
    # the meter's own compact form (one decimal from a thousand): core.format.tokens is exact
    # below 10,000, which a one-line meter at 80 columns has no room for
    return f"{n / 1000:.1f}K" if n >= 1000 else str(n)


def meter_text(est, wide: bool = True) -> Text:
    """▕████░░░░░░▏ p95 6.9K/16.4K ≈ cost-effective: the p95 conversation against the budget,
    the context window when there is room, the tier as a word and a colour, ≈ when approximate."""
    p95 = est.transcript_tokens["p95"]
    budget = est.max_transcript_tokens
    approx = "" if est.exact else "≈"
    out = Text(" ")
    if not budget:
        out.append(f"p95 {approx}{_k(p95)} · no budget ", style="yellow")
        return out
    width = 10 if wide else 6
    filled = min(width, round(width * p95 / budget))
    over = p95 > budget
    style = "bold red" if over else TIER_STYLE.get(est.tier, "")
    out.append("▕")
    out.append("█" * filled, style=style)
    out.append("░" * (width - filled), style="dim")
    out.append("▏")
    out.append(f"{' p95 ' if wide else ''}{approx}{_k(p95)}/{_k(budget)}", style="bold red" if over else "")
    if over:
        out.append(" OVER", style="bold red")
    if wide and est.context_window:
        out.append(f" ctx {_k(est.context_window)}", style="dim")
    out.append(f" {est.tier} ", style=style)
    if wide:
        out.append(est.tokenizer.split(",")[0].lstrip("≈ ") + " ", style="dim")
    return out


class TokenMeter(Static):
    def __init__(self, *, id: str = "meter") -> None:
        super().__init__("", id=id)

    def show(self, counter, estimate, *, wide: bool) -> None:
        """``counter`` None: the tokenizer is still loading; ``estimate`` None: the project has no
        estimate yet (the tokens screen says why)."""
        if counter is None:
            self.update(Text(" tokens: counting… ", style="dim"))
        elif estimate is None:
            self.update(Text(" tokens: no estimate (t for why) ", style="dim"))
        else:
            self.update(meter_text(estimate, wide=wide))
