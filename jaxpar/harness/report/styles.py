"""The series styles every plot of the report shares, and the saving of a figure (PNG and
SVG, listed in the manifest first). matplotlib draws without a display (Agg)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from jaxpar import registry  # noqa: E402
from jaxpar.harness import results  # noqa: E402
from jaxpar.harness.report.format import series_name  # noqa: E402
from jaxpar.harness.sweep import IMPLEMENTATIONS  # noqa: E402

# Series styles, assigned in registry order (a new implementation, algorithm or workload
# gets the next one), and readable in greyscale: an implementation has a colour and a
# marker (and a hatch in bar charts), an algorithm a fill, a launch mode a line style.
COLORS = {impl: f"C{i % 10}" for i, impl in enumerate(IMPLEMENTATIONS)}
IMPL_MARKERS = {impl: "osD^vP*Xph"[i % 10] for i, impl in enumerate(IMPLEMENTATIONS)}
HATCHES = {impl: ["", "//", "..", "xx", "\\\\", "oo", "--", "++"][i % 8] for i, impl in enumerate(IMPLEMENTATIONS)}
LINESTYLES = {"mpirun": "-", "single-process": "--"}
_ALGORITHMS = list(dict.fromkeys(a for e in registry.ENTRIES for a in e.algorithms))
FILLS = {**{a: ("full", "none", "top", "left")[i % 4] for i, a in enumerate(_ALGORITHMS)}, None: "full"}
WORKLOAD_MARKERS = {w: "oDsv"[i % 4] for i, w in enumerate(registry.WORKLOADS)}
# The launch mode of an implementation's best run in the code-size plot: its marker's fill.
LAUNCH_FILLS = {"mpirun": "full", "single-process": "none"}


def style(impl, algorithm, launch) -> dict:
    return dict(color=COLORS[impl], marker=IMPL_MARKERS[impl], fillstyle=FILLS[algorithm],
                linestyle=LINESTYLES[launch], label=series_name(impl, algorithm, launch))


def _save(fig, outdir, stem) -> str:
    results.add_to_manifest(outdir, [f"{stem}.png", f"{stem}.svg"])  # listed before written
    fig.savefig(Path(outdir) / f"{stem}.png", dpi=110)
    # The layout the PNG got, kept for the SVG: constrained layout is solved again at every
    # save otherwise, and was a third of the report's time (default compare: 18 of 53 s
    # under cProfile)
    fig.set_layout_engine("none")
    fig.savefig(Path(outdir) / f"{stem}.svg")
    plt.close(fig)
    return stem
