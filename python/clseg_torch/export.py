"""Writing a trained network as a clseg model: a .safetensors file with the clseg metadata.

The format is written here directly (the safetensors package is not needed): an 8-byte little-endian
header length, a JSON header (tensor name -> dtype, shape, data_offsets; "__metadata__" -> strings), padded
with spaces to a multiple of 8, then the raw little-endian float32 data of each tensor.
"""
import json
import struct

import numpy as np
import torch

__all__ = ["export", "write_safetensors", "read_safetensors"]


def _state(model):
    """state_dict without batchnorm step counters, as contiguous float32 numpy arrays."""
    out = {}
    for name, t in model.state_dict().items():
        if name.endswith(".num_batches_tracked"):
            continue
        out[name] = t.detach().to("cpu", torch.float32).contiguous().numpy()
    return out


def write_safetensors(path, tensors, metadata=None):
    """tensors: name -> float32 numpy array (written in sorted name order); metadata: str -> str."""
    header, offset = {}, 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    names = sorted(tensors)
    for name in names:
        a = np.ascontiguousarray(tensors[name], dtype="<f4")
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as fp:
        fp.write(struct.pack("<Q", len(text)))
        fp.write(text)
        for name in names:
            fp.write(np.ascontiguousarray(tensors[name], dtype="<f4").tobytes())


def read_safetensors(path):
    """(tensors, metadata) of a float32 .safetensors file, for checks and round trips."""
    with open(path, "rb") as fp:
        data = fp.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    base, tensors = 8 + n, {}
    for name, e in header.items():
        if e["dtype"] != "F32":
            raise ValueError("%s: %s is %s; only F32 is read here" % (path, name, e["dtype"]))
        b, en = e["data_offsets"]
        tensors[name] = np.frombuffer(data[base + b:base + en], dtype="<f4").reshape(e["shape"])
    return tensors, meta


def export(model, path, network=None, config=None, classes=None, mean=None, std=None, input_size=None):
    """Writes model's weights and the metadata clseg_model_load() reads.

    network and config default to the model's own (the clseg_torch networks carry them); classes is a
    list of class names (one per output channel), mean and std the per-channel normalisation of inputs
    scaled to [0, 1], input_size [H, W] the training size.
    """
    network = network or getattr(model, "network", None)
    config = dict(config if config is not None else getattr(model, "config", {}))
    if not network:
        raise ValueError("export: name the network (unet, fcn, deeplabv3plus, danet or segformer)")
    meta = {"clseg.network": network, "clseg.config": json.dumps(config, sort_keys=True),
            "clseg.format": "1"}
    if classes is not None:
        n = config.get("classes")
        if n is not None and len(classes) != n:
            raise ValueError("export: %d class names for %d classes" % (len(classes), n))
        meta["clseg.classes"] = json.dumps([str(c) for c in classes])
    for key, value, count in (("clseg.mean", mean, 0), ("clseg.std", std, 0), ("clseg.input_size", input_size, 2)):
        if value is not None:
            value = [float(v) if key != "clseg.input_size" else int(v) for v in value]
            if count and len(value) != count:
                raise ValueError("export: %s needs %d values" % (key, count))
            meta[key] = json.dumps(value)
    write_safetensors(path, _state(model), meta)
    return path
