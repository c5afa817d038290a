"""The clseg networks in PyTorch, with exactly the parameter names of the C builders (include/clseg_models.h).

Train these, save them with clseg_torch.export(), load the file in C with clseg_model_load(). Every network
keeps its constructor arguments in ``self.config`` (the keys of the C config struct) and its name in
``self.network``; export() writes both into the file's metadata.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .segformer import SegFormer

__all__ = ["UNet", "FCN", "DeepLabV3Plus", "DANet", "SegFormer", "ResNet", "CBAM", "SCSE", "AttentionGate",
           "NonLocal", "build"]


def _hidden(channels, reduction):
    """The MLP width of SE / CBAM: channels // reduction, at least one (as the C graph)."""
    return max(channels // reduction, 1)


def _up(x, size):
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


# ---- attention blocks (the parameter names clseg_graph.h documents) ----
class ChannelGate(nn.Module):
    """A shared two-layer MLP on global pools (average, and max for CBAM), sigmoid, scale."""

    def __init__(self, channels, reduction, use_max):
        super().__init__()
        hidden = _hidden(channels, reduction)
        self.fc1, self.fc2, self.use_max = nn.Linear(channels, hidden), nn.Linear(hidden, channels), use_max

    def forward(self, x):
        def mlp(v):
            return self.fc2(F.relu(self.fc1(v.flatten(1))))
        s = mlp(F.adaptive_avg_pool2d(x, 1))
        if self.use_max:
            s = s + mlp(F.adaptive_max_pool2d(x, 1))
        return x * torch.sigmoid(s)[:, :, None, None]


class SpatialGate(nn.Module):
    """CBAM's spatial gate: channel max and mean, 7x7 conv (no bias), batchnorm, sigmoid, scale."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, 7, padding=3, bias=False)
        self.bn = nn.BatchNorm2d(1)

    def forward(self, x):
        pooled = torch.cat((x.max(1, keepdim=True)[0], x.mean(1, keepdim=True)), 1)
        return x * torch.sigmoid(self.bn(self.conv(pooled)))


class CBAM(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        self.channel = ChannelGate(channels, reduction, True)
        self.spatial = SpatialGate()

    def forward(self, x):
        return self.spatial(self.channel(x))


class SCSE(nn.Module):
    """Concurrent spatial and channel squeeze-excitation: cse(x) + x * sigmoid(1x1 conv(x))."""

    def __init__(self, channels, reduction=16):
        super().__init__()
        self.cse = ChannelGate(channels, reduction, False)
        self.sse = nn.Conv2d(channels, 1, 1)

    def forward(self, x):
        return self.cse(x) + x * torch.sigmoid(self.sse(x))


class AttentionGate(nn.Module):
    """Attention U-Net's additive gate; theta is a strided conv without bias, W an output conv + BN."""

    def __init__(self, x_channels, g_channels, inter, theta_stride=2):
        super().__init__()
        s = theta_stride
        self.theta = nn.Conv2d(x_channels, inter, s, stride=s, bias=False)
        self.phi = nn.Conv2d(g_channels, inter, 1)
        self.psi = nn.Conv2d(inter, 1, 1)
        self.out = nn.Conv2d(x_channels, x_channels, 1)
        self.out_bn = nn.BatchNorm2d(x_channels)

    def forward(self, x, g):
        theta = self.theta(x)
        a = torch.sigmoid(self.psi(F.relu(theta + _up(self.phi(g), theta.shape[2:]))))
        return self.out_bn(self.out(x * _up(a, x.shape[2:])))


# ---- ResNet backbones (torchvision's names) ----
def _conv_bn(cin, cout, k, stride=1, dilation=1):
    conv = nn.Conv2d(cin, cout, k, stride, dilation * (k - 1) // 2, dilation, bias=False)
    return conv, nn.BatchNorm2d(cout)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride, dilation, downsample):
        super().__init__()
        self.conv1, self.bn1 = _conv_bn(cin, planes, 3, stride, dilation)
        self.conv2, self.bn2 = _conv_bn(planes, planes, 3, 1, dilation)  # both convs dilated
        self.downsample = downsample

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + (self.downsample(x) if self.downsample is not None else x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride, dilation, downsample):
        super().__init__()
        self.conv1, self.bn1 = _conv_bn(cin, planes, 1)
        self.conv2, self.bn2 = _conv_bn(planes, planes, 3, stride, dilation)
        self.conv3, self.bn3 = _conv_bn(planes, planes * 4, 1)
        self.downsample = downsample

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return F.relu(y + (self.downsample(x) if self.downsample is not None else x))


_BLOCKS = {18: (BasicBlock, (2, 2, 2, 2)), 34: (BasicBlock, (3, 4, 6, 3)),
           50: (Bottleneck, (3, 4, 6, 3)), 101: (Bottleneck, (3, 4, 23, 3))}


class ResNet(nn.Module):
    """Returns (layer1 features, last stage features). output_stride 8 / 16 dilates layers 3-4 / 4."""

    def __init__(self, depth=50, output_stride=32, width=64, in_channels=3):
        super().__init__()
        if depth not in _BLOCKS or output_stride not in (8, 16, 32):
            raise ValueError("ResNet depth %r, output stride %r" % (depth, output_stride))
        block, counts = _BLOCKS[depth]
        self.conv1, self.bn1 = _conv_bn(in_channels, width, 7, 2)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.channels, self.dilation = width, 1
        dilate = (False, False, output_stride == 8, output_stride <= 16)
        for i in range(4):
            layer = self._stage(block, width << i, counts[i], 1 if i == 0 else 2, dilate[i])
            setattr(self, "layer%d" % (i + 1), layer)
            if i == 0:
                self.layer1_channels = self.channels
        self.out_channels = self.channels

    def _stage(self, block, planes, count, stride, dilate):
        previous = self.dilation
        if dilate:
            self.dilation, stride = self.dilation * stride, 1
        out = planes * block.expansion
        down = None
        if stride != 1 or self.channels != out:
            down = nn.Sequential(*_conv_bn(self.channels, out, 1, stride))
        blocks = [block(self.channels, planes, stride, previous, down)]
        blocks += [block(out, planes, 1, self.dilation, None) for _ in range(count - 1)]
        self.channels = out
        return nn.Sequential(*blocks)

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        low = self.layer1(x)
        return low, self.layer4(self.layer3(self.layer2(low)))


def _depth(backbone):
    if isinstance(backbone, str):
        return int(backbone.replace("resnet", ""))
    return int(backbone)


# ---- U-Net ----
class _EncoderStage(nn.Module):
    def __init__(self, cin, ch, cbam, reduction):
        super().__init__()
        self.conv1, self.bn1 = _conv_bn(cin, ch, 3)
        self.conv2, self.bn2 = _conv_bn(ch, ch, 3)
        self.cbam = CBAM(ch, reduction) if cbam else None

    def forward(self, x):
        x = F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))
        return self.cbam(x) if self.cbam is not None else x


class _DecoderStage(nn.Module):
    def __init__(self, cin, ch, bilinear, gate, scse, reduction):
        super().__init__()
        self.bilinear = bilinear
        self.up = nn.Conv2d(cin, ch, 1) if bilinear else nn.ConvTranspose2d(cin, ch, 2, stride=2)
        self.gate = AttentionGate(ch, cin, max(ch // 2, 1)) if gate else None
        self.conv1, self.bn1 = _conv_bn(2 * ch, ch, 3)
        self.conv2, self.bn2 = _conv_bn(ch, ch, 3)
        self.scse = SCSE(ch, reduction) if scse else None

    def forward(self, x, skip):
        if self.gate is not None:
            skip = self.gate(skip, x)  # gated by the coarser decoder features
        if self.bilinear:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        x = torch.cat((skip, self.up(x)), 1)
        x = F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))
        return self.scse(x) if self.scse is not None else x


class UNet(nn.Module):
    network = "unet"

    def __init__(self, in_channels=3, classes=1, depth=4, base=32, bilinear=False, attention="none",
                 reduction=16):
        super().__init__()
        if attention not in ("none", "cbam", "gate", "scse", "combined"):
            raise ValueError("attention %r: none, cbam, gate, scse or combined" % (attention,))
        # "combined": CBAM in the encoder, gates on the skips and scSE in the decoder at once
        use = lambda kind: attention in (kind, "combined")  # noqa: E731
        self.config = dict(in_channels=in_channels, classes=classes, depth=depth, base=base,
                           bilinear=int(bool(bilinear)), attention=attention, reduction=reduction)
        self.encoder = nn.ModuleList(
            _EncoderStage(in_channels if i == 0 else base << (i - 1), base << i, use("cbam"), reduction)
            for i in range(depth + 1))
        self.decoder = nn.ModuleList(
            _DecoderStage(base << (depth - j), base << (depth - 1 - j), bilinear, use("gate"), use("scse"),
                          reduction)
            for j in range(depth))
        self.head = nn.Conv2d(base, classes, 1)

    def forward(self, x):
        skips = []
        for i, stage in enumerate(self.encoder):
            x = stage(F.max_pool2d(x, 2) if i else x)
            skips.append(x)
        for j, stage in enumerate(self.decoder):
            x = stage(x, skips[-2 - j])
        return self.head(x)


# ---- FCN (torchvision's fcn_resnet* without aux) ----
class FCN(nn.Module):
    network = "fcn"

    def __init__(self, in_channels=3, classes=21, backbone="resnet50", output_stride=8, width=64):
        super().__init__()
        self.config = dict(in_channels=in_channels, classes=classes, backbone="resnet%d" % _depth(backbone),
                           output_stride=output_stride, width=width)
        self.backbone = ResNet(_depth(backbone), output_stride, width, in_channels)
        c = self.backbone.out_channels
        inter = max(c // 4, 1)
        self.classifier = nn.Sequential(nn.Conv2d(c, inter, 3, padding=1, bias=False), nn.BatchNorm2d(inter),
                                        nn.ReLU(), nn.Dropout(0.1), nn.Conv2d(inter, classes, 1))

    def forward(self, x):
        return _up(self.classifier(self.backbone(x)[1]), x.shape[2:])


# ---- DeepLabV3+ ----
def _cbr(cin, cout, k, dilation=1):
    return [*_conv_bn(cin, cout, k, 1, dilation), nn.ReLU()]


class ASPP(nn.Module):
    """torchvision's ASPP layout: convs.0 1x1, convs.1-3 dilated 3x3, convs.4 image pooling, project."""

    def __init__(self, cin, ch, rates):
        super().__init__()
        branches = [nn.Sequential(*_cbr(cin, ch, 1))]
        branches += [nn.Sequential(*_cbr(cin, ch, 3, r)) for r in rates]
        branches.append(nn.Sequential(nn.AdaptiveAvgPool2d(1), *_cbr(cin, ch, 1)))
        self.convs = nn.ModuleList(branches)
        self.project = nn.Sequential(*_cbr(5 * ch, ch, 1), nn.Dropout(0.5))

    def forward(self, x):
        outs = [b(x) for b in self.convs]
        outs[-1] = _up(outs[-1], x.shape[2:])
        return self.project(torch.cat(outs, 1))


class _DeepLabDecoder(nn.Module):
    def __init__(self, high, low, low_ch, ch, cbam, reduction):
        super().__init__()
        self.low_level = nn.Sequential(*_cbr(low, low_ch, 1))
        self.fuse = nn.Sequential(*_cbr(high + low_ch, ch, 3), *_cbr(ch, ch, 3))
        self.cbam = CBAM(ch, reduction) if cbam else None

    def forward(self, high, low):
        low = self.low_level(low)
        x = self.fuse(torch.cat((_up(high, low.shape[2:]), low), 1))
        return self.cbam(x) if self.cbam is not None else x


class DeepLabV3Plus(nn.Module):
    network = "deeplabv3plus"

    def __init__(self, in_channels=3, classes=21, backbone="resnet50", output_stride=16, rates=(6, 12, 18),
                 aspp_channels=256, low_level_channels=48, decoder_channels=256, width=64, cbam=False,
                 reduction=16):
        super().__init__()
        if output_stride not in (8, 16):
            raise ValueError("output stride %r: 8 or 16" % (output_stride,))
        self.config = dict(in_channels=in_channels, classes=classes, backbone="resnet%d" % _depth(backbone),
                           output_stride=output_stride, rates=list(rates), aspp_channels=aspp_channels,
                           low_level_channels=low_level_channels, decoder_channels=decoder_channels,
                           width=width, cbam=int(bool(cbam)), reduction=reduction)
        self.backbone = ResNet(_depth(backbone), output_stride, width, in_channels)
        self.aspp = ASPP(self.backbone.out_channels, aspp_channels, rates)
        self.decoder = _DeepLabDecoder(aspp_channels, self.backbone.layer1_channels, low_level_channels,
                                       decoder_channels, cbam, reduction)
        self.classifier = nn.Conv2d(decoder_channels, classes, 1)

    def forward(self, x):
        low, high = self.backbone(x)
        return _up(self.classifier(self.decoder(self.aspp(high), low)), x.shape[2:])


# ---- non-local block and DANet: attention written as the authors' code does (bmm, softmax) ----
class NonLocal(nn.Module):
    """Non-local block, embedded Gaussian, no sub-sampling (the authors' NONLocalBlock2D names)."""

    def __init__(self, channels, inter=None):
        super().__init__()
        inter = inter or max(channels // 2, 1)
        self.g, self.theta, self.phi = (nn.Conv2d(channels, inter, 1) for _ in range(3))
        self.W = nn.Sequential(nn.Conv2d(inter, channels, 1), nn.BatchNorm2d(channels))

    def forward(self, x):
        b, _, h, w = x.shape
        g = self.g(x).flatten(2).transpose(1, 2)  # B, HW, inter
        theta = self.theta(x).flatten(2).transpose(1, 2)
        phi = self.phi(x).flatten(2)  # B, inter, HW
        f = torch.softmax(theta @ phi, dim=-1)
        y = (f @ g).transpose(1, 2).reshape(b, -1, h, w)
        return self.W(y) + x


class PAM(nn.Module):
    """DANet's position attention module (PAM_Module)."""

    def __init__(self, channels):
        super().__init__()
        self.query_conv = nn.Conv2d(channels, max(channels // 8, 1), 1)
        self.key_conv = nn.Conv2d(channels, max(channels // 8, 1), 1)
        self.value_conv = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        b, c, h, w = x.shape
        query = self.query_conv(x).view(b, -1, h * w).permute(0, 2, 1)
        energy = torch.bmm(query, self.key_conv(x).view(b, -1, h * w))
        attention = torch.softmax(energy, dim=-1)
        out = torch.bmm(self.value_conv(x).view(b, -1, h * w), attention.permute(0, 2, 1))
        return self.gamma * out.view(b, c, h, w) + x


class CAM(nn.Module):
    """DANet's channel attention module (CAM_Module)."""

    def __init__(self):
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        b, c, h, w = x.shape
        flat = x.view(b, c, -1)
        energy = torch.bmm(flat, flat.permute(0, 2, 1))
        energy_new = torch.max(energy, -1, keepdim=True)[0].expand_as(energy) - energy
        out = torch.bmm(torch.softmax(energy_new, dim=-1), flat)
        return self.gamma * out.view(b, c, h, w) + x


class DANetHead(nn.Module):
    def __init__(self, cin, classes):
        super().__init__()
        inter = max(cin // 4, 1)
        self.conv5a, self.conv5c = nn.Sequential(*_cbr(cin, inter, 3)), nn.Sequential(*_cbr(cin, inter, 3))
        self.sa, self.sc = PAM(inter), CAM()
        self.conv51, self.conv52 = nn.Sequential(*_cbr(inter, inter, 3)), nn.Sequential(*_cbr(inter, inter, 3))
        self.conv8 = nn.Conv2d(inter, classes, 1)  # the reference's conv8 without its dropout

    def forward(self, x):
        sa = self.conv51(self.sa(self.conv5a(x)))
        sc = self.conv52(self.sc(self.conv5c(x)))
        return self.conv8(sa + sc)


class DANet(nn.Module):
    network = "danet"

    def __init__(self, in_channels=3, classes=21, backbone="resnet50", output_stride=8, width=64):
        super().__init__()
        self.config = dict(in_channels=in_channels, classes=classes, backbone="resnet%d" % _depth(backbone),
                           output_stride=output_stride, width=width)
        self.backbone = ResNet(_depth(backbone), output_stride, width, in_channels)
        self.head = DANetHead(self.backbone.out_channels, classes)

    def forward(self, x):
        return _up(self.head(self.backbone(x)[1]), x.shape[2:])


_NETWORKS = {"unet": UNet, "fcn": FCN, "deeplabv3plus": DeepLabV3Plus, "danet": DANet, "segformer": SegFormer}


def build(network, config):
    """The network named as in a clseg file's metadata, from its config dict."""
    if network not in _NETWORKS:
        raise ValueError("network %r: one of %s" % (network, ", ".join(_NETWORKS)))
    return _NETWORKS[network](**config)
