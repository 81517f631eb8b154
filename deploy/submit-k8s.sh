#!/usr/bin/env bash
# Submit a spark-mim job to Kubernetes (cluster deploy mode) with GPU executors.
#   K8S_MASTER=k8s://https://api.example:6443 MIM_IMAGE=registry/spark-mim:0.1.0 \
#     deploy/submit-k8s.sh pretrain --conf conf/cluster/k8s.conf --run-dir s3a://bucket/mim/runs/mae-base
# The job jar is inside the image (deploy/Dockerfile) at /opt/spark-mim/spark-mim-job.jar.
# Sizing: see deploy/submit-common.sh. DRY_RUN=1 prints the command instead of running it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/submit-common.sh"
: "${K8S_MASTER:?set K8S_MASTER=k8s://https://<api-server>}"
: "${MIM_IMAGE:?set MIM_IMAGE to the image built from deploy/Dockerfile}"
CMD=("${SPARK_SUBMIT:-spark-submit}" --master "$K8S_MASTER" --deploy-mode cluster "${SUBMIT_ARGS[@]}"
  --conf "spark.kubernetes.container.image=$MIM_IMAGE"
  --conf "spark.kubernetes.namespace=${K8S_NAMESPACE:-spark-mim}"
  --conf "spark.kubernetes.authenticate.driver.serviceAccountName=${K8S_SERVICE_ACCOUNT:-spark-mim}"
  --conf "spark.kubernetes.executor.podTemplateFile=$DEPLOY_DIR/k8s/executor-pod-template.yaml"
  --conf "spark.kubernetes.driver.podTemplateFile=$DEPLOY_DIR/k8s/driver-pod-template.yaml"
  --conf "spark.executor.resource.gpu.amount=1"
  --conf "spark.executor.resource.gpu.vendor=nvidia.com"
  --conf "spark.executor.resource.gpu.discoveryScript=/opt/spark/examples/src/main/scripts/getGpusResources.sh"
  local:///opt/spark-mim/spark-mim-job.jar "$@" "${MIM_JOB_SETS[@]}")
if [ -n "${DRY_RUN:-}" ]; then printf '%q ' "${CMD[@]}"; echo; else exec "${CMD[@]}"; fi
