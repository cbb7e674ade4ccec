"""Claims of the talk this suite does not test, each with the reason in one line: a verdict
of "not measured", never silence. A claim that a run could test (an accelerator's) says why
this run did not."""
from jaxpar.claims.verdict import NOT_MEASURED, Verdict

SECTION = "The claims' figures"

FIXED = (
    ("vmap", "jax.pmap and jax.vmap ... jax.vmap makes the tasks run in a line. Using them together "
     "makes things very fast.",
     "No workload here batches a per-example function: every implementation is written on whole "
     "arrays, so vmap has nothing to vectorise that the code does not already."),
    ("learning_curve", "The shift from traditional imperative programming paradigms to JAX's more "
     "functional approach can be daunting. However, this learning curve is often outweighed by the benefits",
     "A learning curve is a property of people, not of runs: code size is measured, the hours a "
     "person takes to write it are not."),
    ("keras_20_percent", "Sometimes, it can even make things run up to 20% faster.",
     "Keras's multi-backend speed-up needs other backends (TensorFlow, PyTorch) to compare with; "
     "jaxpar runs Keras on JAX only."),
    ("keras_multi_backend", "It can work with different systems like JAX, TensorFlow, and PyTorch. "
     "This means developers can easily change the system they're using without starting from scratch.",
     "Only the JAX backend is installed and run; switching backends is not exercised."),
)


def accelerators(ctx) -> Verdict:
    """JAX on GPUs and TPUs: measured only where a record ran on one."""
    platforms = sorted({(r.get("details") or {}).get("platform") or "cpu" for r in ctx.ok})
    v = Verdict("accelerators", "You can use it on different machines, whether they are CPUs, "
                "GPUs, or TPUs.", "the JAX forms run unchanged on each platform", SECTION)
    v.summary = ("No GPU or TPU ran in this run (platforms of its verified records: "
                 f"{', '.join(platforms) or 'none'}); on the CPU every JAX form ran unchanged.")
    v.deciding = "no accelerator in this run"
    return v


def verdicts(ctx) -> list[Verdict]:
    out = []
    for claim, quote, reason in FIXED:
        v = Verdict(claim, quote, "—", SECTION, verdict=NOT_MEASURED, summary=reason,
                    deciding="not testable here")
        out.append(v)
    out.append(accelerators(ctx))
    return out
