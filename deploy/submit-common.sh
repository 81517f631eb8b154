#!/usr/bin/env bash
# Shared by submit-yarn.sh, submit-k8s.sh and submit-standalone.sh: builds SUBMIT_ARGS, the spark-submit options
# every spark-mim job needs. Sourced, not run. Sizing comes from the environment (defaults in brackets):
#
#   MIM_EXECUTORS [2]            training workers; must equal mim.spark.workers (checked below)
#   MIM_EXECUTOR_CORES [4]       cores per executor; spark.task.cpus is set to the same value so each executor
#                                runs exactly one training task (DL4J keeps one model per executor JVM)
#   MIM_EXECUTOR_HEAP [8g]       JVM heap per executor (images, Spark buffers)
#   MIM_EXECUTOR_OFFHEAP [12g]   ND4J/JavaCPP off-heap budget (weights, activations, Aeron buffers): becomes
#                                -Dorg.bytedeco.javacpp.maxbytes and, with 2g of slack, maxphysicalbytes
#   MIM_OVERHEAD [auto]          spark.executor.memoryOverhead; default = off-heap + 2g, so YARN/K8s do not kill
#                                the container when ND4J's native memory grows (deeplearning4j#2401, #2186)
#   MIM_DRIVER_MEMORY [8g]
#   MIM_AERON_PORT [40123]       must equal mim.spark.port
set -euo pipefail
DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
HOME_DIR="$(cd "$DEPLOY_DIR/.." && pwd)"

g_to_mb() { local v="${1,,}"; case "$v" in *g) echo $(( ${v%g} * 1024 ));; *m) echo "${v%m}";; *) echo "$v";; esac; }

MIM_EXECUTORS="${MIM_EXECUTORS:-2}"
MIM_EXECUTOR_CORES="${MIM_EXECUTOR_CORES:-4}"
MIM_EXECUTOR_HEAP="${MIM_EXECUTOR_HEAP:-8g}"
MIM_EXECUTOR_OFFHEAP="${MIM_EXECUTOR_OFFHEAP:-12g}"
MIM_DRIVER_MEMORY="${MIM_DRIVER_MEMORY:-8g}"
MIM_AERON_PORT="${MIM_AERON_PORT:-40123}"
OFFHEAP_MB="$(g_to_mb "$MIM_EXECUTOR_OFFHEAP")"
MIM_OVERHEAD="${MIM_OVERHEAD:-$(( OFFHEAP_MB + 2048 ))m}"
PHYS_MB=$(( $(g_to_mb "$MIM_EXECUTOR_HEAP") + OFFHEAP_MB + 2048 ))

mapfile -t BASE_CONF < <("$DEPLOY_DIR/spark-conf.sh")
# spark-conf.sh's executor JVM options + the JavaCPP off-heap limits (one -D list, so re-emit it whole)
FLAGS="$(sed -n 's/^mim.jvm.flags=//p' "$HOME_DIR/conf/jvm.properties")"
EXEC_OPTS="$FLAGS -Dorg.bytedeco.javacpp.maxbytes=${OFFHEAP_MB}m -Dorg.bytedeco.javacpp.maxphysicalbytes=${PHYS_MB}m"

SUBMIT_ARGS=(
  "${BASE_CONF[@]}"
  --conf "spark.executor.extraJavaOptions=$EXEC_OPTS"
  --num-executors "$MIM_EXECUTORS"
  --executor-cores "$MIM_EXECUTOR_CORES"
  --executor-memory "$MIM_EXECUTOR_HEAP"
  --driver-memory "$MIM_DRIVER_MEMORY"
  --conf "spark.task.cpus=$MIM_EXECUTOR_CORES"
  --conf "spark.executor.memoryOverhead=$MIM_OVERHEAD"
  --conf "spark.dynamicAllocation.enabled=false"
  --conf "spark.serializer=org.apache.spark.serializer.KryoSerializer"
  --conf "spark.kryo.registrator=org.nd4j.kryo.Nd4jRegistrator"
  --conf "spark.kryoserializer.buffer.max=512m"
  # Spark's own RPC and block transfers are authenticated and encrypted; Aeron (gradient sharing) is NOT, so the
  # executors and the driver must share a private network (see deploy/README.md).
  --conf "spark.authenticate=true"
  --conf "spark.network.crypto.enabled=true"
  --conf "spark.executorEnv.OMP_NUM_THREADS=$MIM_EXECUTOR_CORES"
  --class org.sparkmim.job.Main
)
# The job must agree with the cluster shape: pass these so config and submit line cannot drift apart.
MIM_JOB_SETS=(--set "spark.workers=$MIM_EXECUTORS" --set "spark.port=$MIM_AERON_PORT")
