# Sourced by bin/spark-mim, .ci/run and deploy/ scripts: choose the OpenBLAS kernel, its idle-thread timeout and the OpenMP wait policy.
#
# ND4J bundles OpenBLAS 0.3.19, which does not recognise recent CPUs (Zen 4/5) and falls back to old SSE2
# kernels. We pick the newest kernel family that is both supported and right (measured: bin/spark-mim bench, see
# docs/PERFORMANCE.md). Not Cooperlake, although avx512_bf16 CPUs qualify: 0.3.19's Cooperlake DGEMM returns wrong
# results for ordinary shapes (BlasKernelTest), and its SGEMM measured no faster than SkylakeX's.
# Set MIM_OPENBLAS_CORETYPE to override.
if [ -n "${MIM_OPENBLAS_CORETYPE:-}" ]; then
  export OPENBLAS_CORETYPE="$MIM_OPENBLAS_CORETYPE"
elif [ -r /proc/cpuinfo ]; then
  _flags=$(grep -m1 '^flags' /proc/cpuinfo)
  case "$_flags" in
    *avx512f*avx512bw*|*avx512bw*avx512f*) export OPENBLAS_CORETYPE=SkylakeX ;;
    *avx2*) export OPENBLAS_CORETYPE=Haswell ;;
  esac
  unset _flags
fi
# libnd4j's OpenMP threads and OpenBLAS's threads spin against each other on few cores unless waits are passive.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
# OpenBLAS's idle worker thread otherwise spins in sched_yield for 2^28 cycles (~0.1 s) after every matrix product:
# 405,000 yields a second in a 2-core executor, where it took CPU from the training thread's other helpers.
# 2^4 cycles makes it sleep at once and be woken for the next product (docs/PERFORMANCE.md: +8% Spark, +4% JVM).
export OPENBLAS_THREAD_TIMEOUT="${OPENBLAS_THREAD_TIMEOUT:-4}"
