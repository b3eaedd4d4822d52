#!/usr/bin/python3
"""ONNX Runtime reference for bench/run.sh: the random-weight BERT-base as ONNX
graphs, fp32 and int8.

    onnx_export.py MODEL_DIR OUT_DIR

OUT_DIR/bert-fp32.onnx: bench/torch_reference.py's forward (HuggingFace's
operations, the same model.safetensors scivec loads) exported with
torch.onnx.export (opset 14): inputs input_ids, token_type_ids,
attention_mask [batch, tokens] int64, output last_hidden_state.

OUT_DIR/bert-int8.onnx: that graph as onnxruntime's
quantize_dynamic(per_channel=True, weight_type=QInt8) builds it
(onnxruntime's Python package is not in Debian; Debian's python3-onnx is, so
the rewrite is done here, for the one pattern that graph has): every MatMul
whose B is a constant weight [K, N] becomes

    x -> DynamicQuantizeLinear -> (x_u8, x_scale, x_zp)
    MatMulInteger(x_u8, W_s8, x_zp, W_zp=0[N]) -> int32 -> Cast(float)
    Mul(x_scale, W_scale[N]) -> Mul(product, that)

with W quantised symmetrically per output column (scale = max|W[:, n]| /
127). The activation matmuls of attention stay fp32 ("MatMulConstBOnly",
as quantize_dynamic does for transformer graphs), as scivec's int8 keeps
attention in fp32. ORT fuses the pattern into DynamicQuantizeMatMul when it
optimises the session.
"""
import os
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def export_fp32(model_dir, path):
    import json
    import torch
    import torch_reference as tr
    cfg = json.load(open(f"{model_dir}/config.json"))
    w = tr.load_safetensors(f"{model_dir}/model.safetensors")

    class Bert(torch.nn.Module):
        def __init__(self):
            super().__init__()
            # parameters, so that the exporter stores them as initializers
            self.p = torch.nn.ParameterDict({k.replace(".", "__"): torch.nn.Parameter(v, requires_grad=False)
                                             for k, v in w.items()})

        def forward(self, ids, types, mask):
            weights = {k.replace("__", "."): v for k, v in self.p.items()}
            return tr.bert_forward(weights, cfg, ids, types, mask)

    ids = torch.ones((2, 8), dtype=torch.long)
    axes = {0: "batch", 1: "tokens"}
    with torch.no_grad():
        torch.onnx.export(Bert(), (ids, torch.zeros_like(ids), torch.ones_like(ids)), path,
                          input_names=["input_ids", "token_type_ids", "attention_mask"],
                          output_names=["last_hidden_state"], opset_version=14,
                          dynamic_axes={"input_ids": axes, "token_type_ids": axes,
                                        "attention_mask": axes, "last_hidden_state": {0: "batch", 1: "tokens"}})


def quantize_dynamic(src, dst):
    model = onnx.load(src)
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    # a weight may reach MatMul through a Transpose of an initializer (F.linear)
    producers = {o: n for n in graph.node for o in n.output}
    nodes, n_quantised = [], 0
    dropped = set()
    for node in graph.node:
        b = node.input[1] if node.op_type == "MatMul" else None
        weight = None
        if b in inits:
            weight = numpy_helper.to_array(inits[b])
        elif b in producers and producers[b].op_type == "Transpose" and producers[b].input[0] in inits:
            t = producers[b]
            perm = [a.ints for a in t.attribute if a.name == "perm"]
            weight = numpy_helper.to_array(inits[t.input[0]])
            weight = weight.transpose(perm[0]) if perm else weight.T
            dropped.add(t.name)
        if weight is None or weight.ndim != 2:
            nodes.append(node)
            continue
        n_quantised += 1
        name = node.name or node.output[0]
        scale = np.abs(weight).max(axis=0) / 127.0
        scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
        q = np.clip(np.rint(weight / scale), -127, 127).astype(np.int8)
        graph.initializer.extend([
            numpy_helper.from_array(q, f"{name}_W_quantized"),
            numpy_helper.from_array(scale, f"{name}_W_scale"),
            numpy_helper.from_array(np.zeros(scale.shape, np.int8), f"{name}_W_zero_point")])
        x = node.input[0]
        nodes += [
            helper.make_node("DynamicQuantizeLinear", [x], [f"{x}_quantized", f"{x}_scale", f"{x}_zero_point"],
                             name=f"{name}_x_quant"),
            helper.make_node("MatMulInteger", [f"{x}_quantized", f"{name}_W_quantized", f"{x}_zero_point",
                                               f"{name}_W_zero_point"], [f"{name}_int32"], name=f"{name}_int"),
            helper.make_node("Cast", [f"{name}_int32"], [f"{name}_float"], to=TensorProto.FLOAT,
                             name=f"{name}_cast"),
            helper.make_node("Mul", [f"{x}_scale", f"{name}_W_scale"], [f"{name}_scale"], name=f"{name}_scale_mul"),
            helper.make_node("Mul", [f"{name}_float", f"{name}_scale"], [node.output[0]], name=f"{name}_out_mul"),
        ]
    # a Transpose used only by quantised weights goes (its input stays, unused initializers removed below)
    nodes = [n for n in nodes if n.name not in dropped
             or any(n.output[0] in m.input for m in nodes if m is not n)]
    del graph.node[:]
    graph.node.extend(nodes)
    used = {i for n in graph.node for i in n.input}
    keep = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)
    # one per input of DynamicQuantizeLinear may repeat (Q, K, V share x): dedupe by output
    seen, unique = set(), []
    for n in graph.node:
        if n.op_type == "DynamicQuantizeLinear" and n.output[0] in seen:
            continue
        seen.update(n.output)
        unique.append(n)
    del graph.node[:]
    graph.node.extend(unique)
    if not any(o.domain in ("", "ai.onnx") and o.version >= 11 for o in model.opset_import):
        raise SystemExit("quantize: the graph's opset is below 11 (DynamicQuantizeLinear)")
    onnx.checker.check_model(model)
    onnx.save(model, dst)
    return n_quantised


def main():
    model_dir, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    fp32, int8 = os.path.join(out_dir, "bert-fp32.onnx"), os.path.join(out_dir, "bert-int8.onnx")
    export_fp32(model_dir, fp32)
    n = quantize_dynamic(fp32, int8)
    print(f"onnx_export: {fp32}, {int8} ({n} MatMuls quantised)")


if __name__ == "__main__":
    main()
