#!/usr/bin/env bash
# Evaluate on N processes with torchrun (one GPU per process with NCCL; on a machine without GPUs, N CPU
# processes with gloo):
#   bash tools/dist_test.sh CONFIG N [tools/test.py options]
#   bash tools/dist_test.sh CONFIG CHECKPOINT N [options]     (mmseg's order; the checkpoint is optional here)
# Options are passed on quoted, so values with spaces survive ("--cfg-options model.class_names='[a b, c]'").
CONFIG=$1
if [[ $# -ge 3 && $3 =~ ^[0-9]+$ && ! $2 =~ ^[0-9]+$ ]]; then
    CHECKPOINT=("$2")
    GPUS=$3
    shift 3
else
    CHECKPOINT=()
    GPUS=$2
    shift 2
fi
if [[ ! $GPUS =~ ^[0-9]+$ ]]; then
    echo "usage: bash tools/dist_test.sh CONFIG [CHECKPOINT] N [tools/test.py options]; N must be a number" >&2
    exit 2
fi
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}

PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
$PYTHON -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" \
    --master_port="$PORT" \
    "$(dirname "$0")/test.py" \
    "$CONFIG" \
    "${CHECKPOINT[@]}" \
    --launcher pytorch \
    "$@"
