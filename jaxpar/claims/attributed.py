"""The attribution of a run's gap to c_mpi, in words, for the claims that cite it: the
report's "Where the time goes" split (harness/attribution.py) of two verified records."""
from jaxpar.harness import alphabeta, attribution


def _rows(ctx):
    """The attribution rows of the run, by record id (computed once per Context)."""
    return ctx.derived("attribution", lambda: {row["id"]: row for row in attribution.rows(
        ctx.records, alphabeta.fits(ctx.records), ctx.meta.get("hardware", {}).get("pingpong"))})


def shares_text(ctx, record) -> str:
    """'L% local compute, C% priced communication, R% the rest' of one record's time."""
    row = _rows(ctx).get(record["id"])
    if not row or row["comm"] is None:
        return ""
    parts = (("local compute", row["local"]), ("priced communication", row["comm"]), ("the rest", row["rest"]))
    return ", ".join(f"{100 * part / row['measured']:.0f}% {name}" for name, part in parts)


def gap_text(ctx, record, base) -> str:
    """record's time against base's (c_mpi), in points of base's time per part."""
    rows = _rows(ctx)
    row, ref = rows.get(record["id"]), rows.get(base["id"])
    if not row or not ref or row["comm"] is None or ref["comm"] is None:
        return ""
    g = attribution.gap(row, ref)
    return (f"a gap of {g['gap']:+.0f}% of c_mpi's time: local kernel {g['local']:+.0f} points, "
            f"transport {g['comm']:+.0f}, the rest {g['rest']:+.0f}")
