"""SegFormer (MiT-B0/B1/B2 encoder + all-MLP decoder) on NCHW maps, with the parameter names of the C builder
(lib/models/segformer.c) and of the reference (NVlabs mix_transformer.py, mmseg's SegFormerHead).

The Linear layers are 1x1 convs and the LayerNorms normalise channels, so that the C graph needs no token
reshapes; the attention itself is computed here with the usual token math (flatten, split heads, matmul,
softmax, matmul), so the C fused attention is checked against the formula, not a copy of itself. A reference
checkpoint converts by reshaping each Linear weight [out, in] to [out, in, 1, 1].
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["SegFormer", "VARIANTS"]

# dims, depths, decoder width; heads (1, 2, 5, 8), spatial reduction (8, 4, 2, 1) and MLP ratio 4 for all
VARIANTS = {"b0": ((32, 64, 160, 256), (2, 2, 2, 2), 256),
            "b1": ((64, 128, 320, 512), (2, 2, 2, 2), 256),
            "b2": ((64, 128, 320, 512), (3, 4, 6, 3), 768)}
BLOCK_EPS = 1e-6  # the reference's norm_layer: blocks' norm1 / norm2 and each stage's closing norm
EMBED_EPS = 1e-5  # nn.LayerNorm's default: patch embeddings and spatial reductions, as the reference


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an NCHW map: a token LayerNorm at every position."""

    def forward(self, x):
        return F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias,
                            self.eps).permute(0, 3, 1, 2)


class Attention(nn.Module):
    """Efficient self-attention: keys and values from a map reduced by a conv of kernel = stride = sr."""

    def __init__(self, dim, heads, sr):
        super().__init__()
        self.heads, self.scale = heads, (dim // heads) ** -0.5
        self.q = nn.Conv2d(dim, dim, 1)
        self.kv = nn.Conv2d(dim, 2 * dim, 1)
        self.proj = nn.Conv2d(dim, dim, 1)
        if sr > 1:
            self.sr = nn.Conv2d(dim, dim, sr, stride=sr)
            self.norm = LayerNorm2d(dim, eps=EMBED_EPS)
        else:
            self.sr = None

    def forward(self, x):
        b, c, h, w = x.shape
        heads, dk = self.heads, c // self.heads
        q = self.q(x).flatten(2).transpose(1, 2).reshape(b, h * w, heads, dk).transpose(1, 2)  # B, heads, L, dk
        r = self.norm(self.sr(x)) if self.sr is not None else x
        kv = self.kv(r).flatten(2).transpose(1, 2)  # B, L', 2C: keys first, then values
        kv = kv.reshape(b, -1, 2, heads, dk).permute(2, 0, 3, 1, 4)
        k, v = kv[0], kv[1]  # B, heads, L', dk
        attn = (q @ k.transpose(-2, -1)) * self.scale
        out = attn.softmax(dim=-1) @ v  # B, heads, L, dk
        out = out.transpose(1, 2).reshape(b, h * w, c).transpose(1, 2).reshape(b, c, h, w)
        return self.proj(out)


class MixFFN(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Conv2d(dim, hidden, 1)
        self.dwconv = nn.Module()
        self.dwconv.dwconv = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)  # the reference's DWConv
        self.fc2 = nn.Conv2d(hidden, dim, 1)

    def forward(self, x):
        return self.fc2(F.gelu(self.dwconv.dwconv(self.fc1(x))))


class Block(nn.Module):
    def __init__(self, dim, heads, sr, mlp_ratio):
        super().__init__()
        self.norm1 = LayerNorm2d(dim, eps=BLOCK_EPS)
        self.attn = Attention(dim, heads, sr)
        self.norm2 = LayerNorm2d(dim, eps=BLOCK_EPS)
        self.mlp = MixFFN(dim, mlp_ratio * dim)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    """Overlapping patch embedding: conv k x k, stride s, padding k // 2, then a channel LayerNorm."""

    def __init__(self, cin, dim, k, stride):
        super().__init__()
        self.proj = nn.Conv2d(cin, dim, k, stride, k // 2)
        self.norm = LayerNorm2d(dim, eps=EMBED_EPS)

    def forward(self, x):
        return self.norm(self.proj(x))


class MixTransformer(nn.Module):
    """MiT: four stages (patch_embedI, blockI, normI) returning the four feature maps."""

    def __init__(self, in_channels, dims, depths, heads, sr_ratios, mlp_ratio):
        super().__init__()
        for i in range(4):
            cin = in_channels if i == 0 else dims[i - 1]
            setattr(self, "patch_embed%d" % (i + 1), PatchEmbed(cin, dims[i], 7 if i == 0 else 3, 4 if i == 0 else 2))
            setattr(self, "block%d" % (i + 1),
                    nn.ModuleList(Block(dims[i], heads[i], sr_ratios[i], mlp_ratio) for _ in range(depths[i])))
            setattr(self, "norm%d" % (i + 1), LayerNorm2d(dims[i], eps=BLOCK_EPS))

    def forward(self, x):
        feats = []
        for i in range(1, 5):
            x = getattr(self, "patch_embed%d" % i)(x)
            for blk in getattr(self, "block%d" % i):
                x = blk(x)
            x = getattr(self, "norm%d" % i)(x)
            feats.append(x)
        return feats


class _Proj(nn.Module):
    """mmseg's MLP (a Linear to the decoder width) as a 1x1 conv named proj."""

    def __init__(self, cin, cout):
        super().__init__()
        self.proj = nn.Conv2d(cin, cout, 1)

    def forward(self, x):
        return self.proj(x)


class _ConvBNReLU(nn.Module):
    """mmseg's ConvModule with BN: conv (no bias), bn, ReLU."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class SegFormerHead(nn.Module):
    def __init__(self, dims, width, classes):
        super().__init__()
        for i in range(4):
            setattr(self, "linear_c%d" % (i + 1), _Proj(dims[i], width))
        self.linear_fuse = _ConvBNReLU(4 * width, width)
        self.linear_pred = nn.Conv2d(width, classes, 1)

    def forward(self, feats):
        size = feats[0].shape[2:]
        outs = [F.interpolate(getattr(self, "linear_c%d" % (i + 1))(feats[i]), size=size, mode="bilinear",
                              align_corners=False) for i in (3, 2, 1, 0)]  # deepest first, as the reference
        return self.linear_pred(self.linear_fuse(torch.cat(outs, 1)))


class SegFormer(nn.Module):
    """Logits at 1/4 of the input, resized bilinearly (align_corners false) to the input, as the C graph."""
    network = "segformer"

    def __init__(self, variant="b0", in_channels=3, classes=150, dims=None, depths=None, heads=None,
                 sr_ratios=None, mlp_ratio=4, decoder_channels=None):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError("variant %r: b0, b1 or b2" % (variant,))
        vd, vdepths, vdec = VARIANTS[variant]
        pick = lambda given, default: [g or d for g, d in zip(given or (0,) * 4, default)]  # noqa: E731  0: default
        dims, depths = pick(dims, vd), pick(depths, vdepths)
        heads, sr_ratios = pick(heads, (1, 2, 5, 8)), pick(sr_ratios, (8, 4, 2, 1))
        mlp_ratio, decoder_channels = mlp_ratio or 4, decoder_channels or vdec
        if any(d % h for d, h in zip(dims, heads)):
            raise ValueError("segformer: heads %r must divide the widths %r" % (heads, dims))
        self.config = dict(variant=variant, in_channels=in_channels, classes=classes, dims=dims, depths=depths,
                           heads=heads, sr_ratios=sr_ratios, mlp_ratio=mlp_ratio,
                           decoder_channels=decoder_channels)
        self.backbone = MixTransformer(in_channels, dims, depths, heads, sr_ratios, mlp_ratio)
        self.decode_head = SegFormerHead(dims, decoder_channels, classes)

    def forward(self, x):
        y = self.decode_head(self.backbone(x))
        return F.interpolate(y, size=x.shape[2:], mode="bilinear", align_corners=False)
