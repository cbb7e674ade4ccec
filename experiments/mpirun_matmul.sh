#!/usr/bin/env bash
# Strong scaling of one matmul configuration on one node, with mpirun.
#   experiments/mpirun_matmul.sh [N] [max ranks] [dtype]
# Each rank pins itself to one core (python -m jaxpar.run does it); records
# are appended to results/mpirun_matmul.jsonl.
set -euo pipefail
N=${1:-2048}
MAX_RANKS=${2:-$(nproc)}
DTYPE=${3:-float64}
OUT=results/mpirun_matmul.jsonl
mkdir -p results
for P in $(seq 1 "$MAX_RANKS"); do
  for VARIANT in "c_mpi summa" "c_mpi allgather" "mpi4py summa" "mpi4py allgather" \
                 "jax summa" "jax allgather" "jax_pmap summa" "jax_pmap allgather" "jax_auto"; do
    set -- $VARIANT
    ALG=${2:+--algorithm $2}
    echo "== P=$P $VARIANT"
    mpirun -n "$P" python -m jaxpar.run matmul --impl "$1" $ALG --m "$N" --k "$N" --n "$N" \
      --dtype "$DTYPE" --repeats 5 --output "$OUT" > /dev/null || echo "   failed (see stderr)"
  done
done
echo "records in $OUT"
