#!/usr/bin/env bash
# Prints the spark-submit --conf arguments every spark-mim job needs, derived from the project's one source of
# JVM flags (conf/jvm.properties) and BLAS environment (bin/blas-env.sh), for the driver and the executors:
#
#   mapfile -t CONF < <(deploy/spark-conf.sh)
#   spark-submit "${CONF[@]}" --class org.sparkmim.job.Main <job jar> <command> [options]
#
# One argument per output line, so values with spaces (the flag list) survive.
# The executors' OPENBLAS_CORETYPE is detected on the submitting host; set MIM_OPENBLAS_CORETYPE when executor
# nodes differ (e.g. Haswell for AVX2-only nodes, SkylakeX for AVX-512 nodes).
set -euo pipefail
HOME_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=bin/blas-env.sh
source "$HOME_DIR/bin/blas-env.sh"
FLAGS="$(sed -n 's/^mim.jvm.flags=//p' "$HOME_DIR/conf/jvm.properties")"
printf '%s\n' --conf "spark.driver.extraJavaOptions=$FLAGS" --conf "spark.executor.extraJavaOptions=$FLAGS"
printf '%s\n' --conf "spark.executorEnv.OMP_WAIT_POLICY=$OMP_WAIT_POLICY"
printf '%s\n' --conf "spark.executorEnv.OPENBLAS_THREAD_TIMEOUT=$OPENBLAS_THREAD_TIMEOUT"
if [ -n "${OPENBLAS_CORETYPE:-}" ]; then printf '%s\n' --conf "spark.executorEnv.OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE"; fi
# the fused-kernel switch (MIM_KERNELS=nd4j: ND4J's ops instead of the Vector API kernels) reaches the executors too
if [ -n "${MIM_KERNELS:-}" ]; then printf '%s\n' --conf "spark.executorEnv.MIM_KERNELS=$MIM_KERNELS"; fi
true
