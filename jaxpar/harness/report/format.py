"""The report's formatting: its Table and Report, the cell formats of times, rates,
percentages and bytes, series names, and a Table as markdown."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Table:
    title: str
    header: list
    rows: list = field(default_factory=list)
    note: str = ""


@dataclass
class Report:
    tables: list          # Tables, in report order
    plots: list           # file stems; each has .png and .svg
    markdown: str
    verdicts: Table | None = None   # the talk's claims judged on this run (printed last)


# ---------------------------------------------------------------- formatting

def fmt_time(seconds) -> str:
    if seconds is None:
        return "—"
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def fmt_signed(seconds) -> str:
    return "-" + fmt_time(-seconds) if seconds < 0 else fmt_time(seconds)


def fmt(value, spec=".3g", suffix="") -> str:
    return "—" if value is None else f"{value:{spec}}{suffix}"


def fmt_pct(value) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


def series_name(impl, algorithm, launch) -> str:
    return f"{impl}{'/' + algorithm if algorithm else ''} ({launch})"


def fmt_bytes(nbytes, prefix="") -> str:
    """Bytes in binary units, 3 significant digits ("12.5 MiB"); — for None."""
    if nbytes is None:
        return "—"
    for unit, scale in (("GiB", 2 ** 30), ("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if abs(nbytes) >= scale:
            return f"{prefix}{nbytes / scale:.3g} {unit}"
    return f"{prefix}{nbytes} B"


def markdown_table(table: Table) -> str:
    escape = lambda v: str(v).replace("|", "\\|").replace("\n", " ")
    lines = ["| " + " | ".join(table.header) + " |", "|" + "---|" * len(table.header)]
    lines += ["| " + " | ".join(escape(v) for v in row) + " |" for row in table.rows]
    return "\n".join(lines)
