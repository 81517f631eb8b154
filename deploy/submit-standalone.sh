#!/usr/bin/env bash
# Submit a spark-mim job to a Spark standalone master (client deploy mode). Used by the cluster test on
# 127.0.0.x, and usable on any standalone cluster whose nodes see this checkout at the same path.
#   MASTER=spark://127.0.0.1:7077 deploy/submit-standalone.sh pretrain --run-dir file:///shared/runs/x
# Without a Spark distribution (SPARK_SUBMIT unset) it runs org.apache.spark.deploy.SparkSubmit from the jars the
# build resolved (spark-job/target/classpath.txt), and executors load the same classpath; so the application
# "jar" is spark-internal (no jar to ship: driver and executors already have target/classes + the jars).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/submit-common.sh"
: "${MASTER:?set MASTER=spark://host:port}"
# spark.authenticate is on (submit-common.sh). YARN and Kubernetes generate the shared secret; a standalone cluster
# cannot (Spark 3.5 reads it only from the spark.authenticate.secret property there), so the Master, the Workers and
# every job share one properties file, readable only by the cluster's user, holding spark.authenticate=true and
# spark.authenticate.secret=...; the daemons get it as --properties-file, jobs through MIM_SPARK_PROPERTIES. A file,
# not --conf, so the secret never shows in `ps`.
: "${MIM_SPARK_PROPERTIES:?set MIM_SPARK_PROPERTIES=<the standalone cluster properties file with spark.authenticate.secret>}"
grep -q '^spark.authenticate.secret=' "$MIM_SPARK_PROPERTIES" 2>/dev/null || {
  echo "MIM_SPARK_PROPERTIES=$MIM_SPARK_PROPERTIES: not a readable file with a spark.authenticate.secret= line" >&2; exit 2; }
CP="$HOME_DIR/spark-job/target/classes:$(cat "$HOME_DIR/spark-job/target/classpath.txt")"
if [ -n "${SPARK_SUBMIT:-}" ]; then SUBMIT=("$SPARK_SUBMIT"); else
  # shellcheck disable=SC2206
  SUBMIT=(java ${MIM_SUBMIT_JAVA_OPTS:--Xmx${MIM_DRIVER_MEMORY}} $FLAGS -cp "$CP" org.apache.spark.deploy.SparkSubmit)
fi
CMD=("${SUBMIT[@]}" --master "$MASTER" --deploy-mode client --properties-file "$MIM_SPARK_PROPERTIES" "${SUBMIT_ARGS[@]}"
  --conf "spark.executor.extraClassPath=$CP" --conf "spark.driver.extraClassPath=$CP"
  --conf "spark.cores.max=$(( MIM_EXECUTORS * MIM_EXECUTOR_CORES ))"
  spark-internal "$@" "${MIM_JOB_SETS[@]}")
if [ -n "${DRY_RUN:-}" ]; then printf '%q ' "${CMD[@]}"; echo; else exec "${CMD[@]}"; fi
