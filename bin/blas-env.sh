# Sourced by bin/spark-mim, .ci/run and deploy/ scripts: choose the OpenBLAS kernel and the OpenMP wait policy.
#
# ND4J bundles OpenBLAS 0.3.19, which does not recognise recent CPUs (Zen 4/5) and falls back to old SSE2
# kernels; this machine's environment forces Haswell (AVX2 only). We pick the newest kernel the CPU supports
# (measured: bin/spark-mim bench, see docs/PERFORMANCE.md). Set MIM_OPENBLAS_CORETYPE to override.
if [ -n "${MIM_OPENBLAS_CORETYPE:-}" ]; then
  export OPENBLAS_CORETYPE="$MIM_OPENBLAS_CORETYPE"
elif [ -r /proc/cpuinfo ]; then
  _flags=$(grep -m1 '^flags' /proc/cpuinfo)
  case "$_flags" in
    *avx512_bf16*) export OPENBLAS_CORETYPE=Cooperlake ;;
    *avx512f*avx512bw*|*avx512bw*avx512f*) export OPENBLAS_CORETYPE=SkylakeX ;;
    *avx2*) export OPENBLAS_CORETYPE=Haswell ;;
  esac
  unset _flags
fi
# libnd4j's OpenMP threads and OpenBLAS's threads spin against each other on few cores unless waits are passive.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
