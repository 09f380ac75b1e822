"""One way to print a rate, an interval, money and a token count, so the CLI, the app and the
report can never show one run's numbers three ways."""

from __future__ import annotations

from typing import Sequence


def pct(x: float | None) -> str:
    """A rate as a whole percentage; never '0%' or '100%' for a rate that is neither."""
    if x is None:
        return "–"
    v = round(x * 100)
    if v == 0 and x > 0:
        return "<1%"
    if v == 100 and x < 1:
        return ">99%"
    return f"{v}%"


def pct_interval(interval: Sequence[float] | None) -> str:
    """A 95% interval as 'lo–hi%' (the bounds rounded as pct rounds them), or 'no interval'."""
    if interval is None:
        return "no interval"
    lo, hi = interval
    return f"{pct(lo).rstrip('%')}–{pct(hi)}"


def money(x: float | None) -> str:
    """Dollars: 'unknown' for an unknown price (never $0), '$0' for a true zero (a local model),
    cents from a cent up, four places below a cent so a small figure is not shown as nothing."""
    if x is None:
        return "unknown"
    if x == 0:
        return "$0"
    return f"${x:,.2f}" if x >= 0.01 else f"${x:.4f}"


def tokens(n: float | int | None) -> str:
    """A token count: exact below 10,000, then thousands and millions to one place."""
    if n is None:
        return "unknown"
    if n >= 1_000_000:
        return f"{n / 1e6:,.1f}M"
    return f"{n / 1000:.1f}K" if n >= 10_000 else f"{n:,.0f}"
