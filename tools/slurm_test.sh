#!/usr/bin/env bash
# Evaluate on a Slurm cluster: bash tools/slurm_test.sh PARTITION JOB_NAME CONFIG [CHECKPOINT] [tools/test.py options]
# GPUS (total tasks), GPUS_PER_NODE, CPUS_PER_TASK and SRUN_ARGS come from the environment, as in mmseg.
# Options are passed on quoted, so values with spaces survive.
set -x

PARTITION=$1
JOB_NAME=$2
CONFIG=$3
shift 3
GPUS=${GPUS:-4}
GPUS_PER_NODE=${GPUS_PER_NODE:-4}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
PYTHON=${PYTHON:-python}

PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
srun -p "${PARTITION}" \
    --job-name="${JOB_NAME}" \
    --gres=gpu:"${GPUS_PER_NODE}" \
    --ntasks="${GPUS}" \
    --ntasks-per-node="${GPUS_PER_NODE}" \
    --cpus-per-task="${CPUS_PER_TASK}" \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS} \
    $PYTHON -u "$(dirname "$0")/test.py" "${CONFIG}" --launcher="slurm" "$@"
