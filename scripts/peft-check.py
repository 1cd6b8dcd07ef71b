#!/usr/bin/env python3
"""Checks a LoRA adapter written by `stable-alignment train --lora-rank` against PEFT itself.

    python3 scripts/peft-check.py --adapter <out>/adapter [--merged <out>/model] [--tolerance 1e-4]

Loads the base named by the adapter's base_model_name_or_path with transformers, wraps it with
`PeftModel.from_pretrained(base, adapter)`, and checks that:
  1. every lora_A / lora_B tensor in adapter_model.safetensors was loaded into the PEFT model, value
     for value (PEFT only warns about names it does not place, so this catches a naming mistake);
  2. the PEFT model's logits on a fixed token sequence differ from the base model's (the adapter acts);
  3. with --merged, the merged checkpoint's logits (loaded with transformers) equal the PEFT model's
     within --tolerance (default 1e-4), scale-relative.
Prints one line per check and exits 0 when all pass, 1 when one fails, and 2 with one line when
torch, transformers or peft is not installed (nothing was checked).
"""
import argparse
import json
import os
import sys


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--adapter", required=True, help="adapter directory (adapter_config.json, adapter_model.safetensors)")
    parser.add_argument("--merged", help="the run's merged model directory (train --merge), compared with PEFT")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    arguments = parser.parse_args()

    missing = []
    for module in ("torch", "transformers", "peft", "safetensors"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        print("peft-check: not run: %s not installed (pip install torch transformers peft safetensors)" % ", ".join(missing))
        return 2

    import torch
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    with open(os.path.join(arguments.adapter, "adapter_config.json")) as handle:
        config = json.load(handle)
    base_path = config["base_model_name_or_path"]
    if not os.path.isabs(base_path):
        base_path = os.path.join(arguments.adapter, base_path)
    base = AutoModelForCausalLM.from_pretrained(base_path, torch_dtype=torch.float32)
    base.eval()
    vocabulary = base.config.vocab_size
    tokens = torch.tensor([[(index * 37 + 11) % vocabulary for index in range(16)]])
    with torch.no_grad():
        base_logits = base(tokens).logits.double()

    model = PeftModel.from_pretrained(base, arguments.adapter)
    model.eval()
    failures = 0

    saved = load_file(os.path.join(arguments.adapter, "adapter_model.safetensors"))
    loaded = {}
    for name, tensor in model.state_dict().items():
        if ".lora_A." in name or ".lora_B." in name:
            # PEFT inserts the adapter name ("default") before ".weight"; the saved names omit it.
            loaded[name.replace(".default.weight", ".weight")] = tensor
    absent = [name for name in saved if name not in loaded]
    unequal = [name for name in saved if name in loaded and not torch.equal(saved[name], loaded[name].to(saved[name].dtype))]
    ok = not absent and not unequal and len(saved) > 0
    failures += not ok
    print("%s tensors: %d saved, %d not placed by PEFT%s, %d loaded with other values" % (
        "ok  " if ok else "FAIL", len(saved), len(absent), (" (e.g. %s)" % absent[0]) if absent else "", len(unequal)))

    with torch.no_grad():
        peft_logits = model(tokens).logits.double()
    moved = (peft_logits - base_logits).abs().max().item()
    failures += not moved > 0
    print("%s the adapter changes the base's logits by up to %.3g" % ("ok  " if moved > 0 else "FAIL", moved))

    if arguments.merged:
        merged = AutoModelForCausalLM.from_pretrained(arguments.merged, torch_dtype=torch.float32)
        merged.eval()
        with torch.no_grad():
            merged_logits = merged(tokens).logits.double()
        scale = max(peft_logits.abs().max().item(), 1e-3)
        error = (merged_logits - peft_logits).abs().max().item() / scale
        ok = error <= arguments.tolerance
        failures += not ok
        print("%s merged checkpoint vs PeftModel: scale-relative logit error %.3g (tolerance %g)" % (
            "ok  " if ok else "FAIL", error, arguments.tolerance))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
