#!/usr/bin/env bash
# Submit a spark-mim job to a Spark standalone master (client deploy mode). Used by the cluster test on
# 127.0.0.x, and usable on any standalone cluster whose nodes see this checkout at the same path.
#   MASTER=spark://127.0.0.1:7077 deploy/submit-standalone.sh pretrain --run-dir file:///shared/runs/x
# Without a Spark distribution (SPARK_SUBMIT unset) it runs org.apache.spark.deploy.SparkSubmit from the jars the
# build resolved (spark-job/target/classpath.txt), and executors load the same classpath.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/submit-common.sh"
: "${MASTER:?set MASTER=spark://host:port}"
CP="$HOME_DIR/spark-job/target/classes:$(cat "$HOME_DIR/spark-job/target/classpath.txt")"
if [ -n "${SPARK_SUBMIT:-}" ]; then SUBMIT=("$SPARK_SUBMIT"); else
  # shellcheck disable=SC2206
  SUBMIT=(java ${MIM_SUBMIT_JAVA_OPTS:--Xmx${MIM_DRIVER_MEMORY}} $FLAGS -cp "$CP" org.apache.spark.deploy.SparkSubmit)
fi
CMD=("${SUBMIT[@]}" --master "$MASTER" --deploy-mode client "${SUBMIT_ARGS[@]}"
  --conf "spark.executor.extraClassPath=$CP" --conf "spark.driver.extraClassPath=$CP"
  --conf "spark.cores.max=$(( MIM_EXECUTORS * MIM_EXECUTOR_CORES ))"
  "$HOME_DIR/spark-job/target/spark-job-0.1.0-SNAPSHOT.jar" "$@" "${MIM_JOB_SETS[@]}")
if [ -n "${DRY_RUN:-}" ]; then printf '%q ' "${CMD[@]}"; echo; else exec "${CMD[@]}"; fi
