#!/usr/bin/env bash
# Submit a spark-mim job to YARN (cluster deploy mode).
#   deploy/submit-yarn.sh JOB_JAR pretrain --conf conf/cluster/yarn.conf --run-dir hdfs:///mim/runs/mae-base [...]
# Sizing: see deploy/submit-common.sh (MIM_EXECUTORS, MIM_EXECUTOR_CORES, MIM_EXECUTOR_OFFHEAP, ...).
# Set SPARK_SUBMIT to the spark-submit binary (default: spark-submit on PATH). DRY_RUN=1 prints the command.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/submit-common.sh"
JAR="${1:?usage: submit-yarn.sh JOB_JAR COMMAND [options]}"; shift
CMD=("${SPARK_SUBMIT:-spark-submit}" --master yarn --deploy-mode cluster "${SUBMIT_ARGS[@]}"
  --conf "spark.yarn.maxAppAttempts=1"   # a scheduler retries with resume = auto; YARN must not double-run
  "$JAR" "$@" "${MIM_JOB_SETS[@]}")
if [ -n "${DRY_RUN:-}" ]; then printf '%q ' "${CMD[@]}"; echo; else exec "${CMD[@]}"; fi
