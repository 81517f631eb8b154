"""Interop check for `spark-mim export` (test tooling, not part of the product).

timm builds the encoder from the JSON beside the export, loads the safetensors strictly, and computes the pooled
features of the probe images that the Java test wrote; they must match this product's evaluate features.

usage: timm_interop.py WEIGHTS.safetensors WEIGHTS.json PROBE.safetensors   (PROBE holds x [B,C,H,W], features [B,D]
       and, for a fine-tuned export, probs [B,K])
prints one JSON line; exit 0 when the largest absolute difference is within 1e-4.
"""
import json
import sys

import timm
import torch
import torch.nn as nn
from safetensors.torch import load_file

weights, side, probe = sys.argv[1:4]
meta = json.load(open(side))
# the name picks timm's class (VisionTransformer, or ResNet's block and depth); timm_args set the architecture
model = timm.create_model(meta.get("timm_model", "vit_small_patch16_224"), pretrained=False, **meta["timm_args"])
# a ResNet timm's constructor cannot build as is: the export's module replacements (stem, first blocks of stages)
exec("\n".join(meta.get("timm_adapt", [])), {"model": model, "nn": nn, "timm": timm})
model.load_state_dict(load_file(weights), strict=True)
model.eval()
t = load_file(probe)
with torch.no_grad():
    f = model.forward_head(model.forward_features(t["x"]), pre_logits=True)
    # a fine-tuned export carries its classifier: timm's logits, softmaxed, against this product's probabilities
    probs = model(t["x"]).softmax(-1) if "probs" in t else None
diff = (f - t["features"]).abs().max().item()
out = {"timm": timm.__version__, "torch": torch.__version__, "images": int(t["x"].shape[0]),
       "dim": int(f.shape[1]), "max_abs_diff": diff, "feature_abs_max": t["features"].abs().max().item()}
ok = diff <= 1e-4
if probs is not None:
    pdiff = (probs - t["probs"]).abs().max().item()
    out.update({"classes": int(probs.shape[1]), "probs_max_abs_diff": pdiff,
                "argmax_agree": float((probs.argmax(-1) == t["probs"].argmax(-1)).float().mean().item())})
    ok = ok and pdiff <= 1e-4
print(json.dumps(out))
sys.exit(0 if ok else 1)
