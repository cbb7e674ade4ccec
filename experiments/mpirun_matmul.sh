#!/usr/bin/env bash
# Strong scaling of one matmul configuration on one node, with mpirun.
#   experiments/mpirun_matmul.sh [N] [max ranks] [dtype]
# Every implementation and algorithm of the registry (python -m jaxpar.registry
# matmul); each rank pins itself to one core (python -m jaxpar.run does it).
# Records are appended to results/mpirun_matmul.jsonl.
set -euo pipefail
N=${1:-2048}
MAX_RANKS=${2:-$(nproc)}
DTYPE=${3:-float64}
OUT=results/mpirun_matmul.jsonl
mkdir -p results
VARIANTS=$(python -m jaxpar.registry matmul)
for P in $(seq 1 "$MAX_RANKS"); do
  while read -r IMPL ALG; do
    echo "== P=$P $IMPL $ALG"
    mpirun -n "$P" python -m jaxpar.run matmul --impl "$IMPL" ${ALG:+--algorithm "$ALG"} \
      --m "$N" --k "$N" --n "$N" --dtype "$DTYPE" --repeats 5 --output "$OUT" > /dev/null \
      || echo "   failed (see stderr)"
  done <<< "$VARIANTS"
done
echo "records in $OUT"
