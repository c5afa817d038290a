"""clseg_torch: the clseg networks in PyTorch, with the C library's parameter names, and export() to the
.safetensors model files that clseg_model_load() reads. Train in PyTorch, export, run with clseg."""
from .export import export, read_safetensors, write_safetensors
from .models import (CBAM, DANet, FCN, SCSE, AttentionGate, DeepLabV3Plus, NonLocal, ResNet, SegFormer, UNet,
                     build)

__all__ = ["export", "read_safetensors", "write_safetensors", "UNet", "FCN", "DeepLabV3Plus", "DANet",
           "SegFormer", "ResNet", "CBAM", "SCSE", "AttentionGate", "NonLocal", "build"]
__version__ = "0.1.0"
