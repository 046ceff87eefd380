"""A tiny YOLOv5-style detector for the torch tests: what YOLOv5's ``ComputeLoss`` reads from a
model (``model.hyp``, ``model.model[-1]`` the Detect layer with ``nc, na, nl, anchors`` in grid
units and ``stride``) and the training-mode output (a list of ``[bs, na, ny, nx, 5 + nc]``)."""

from __future__ import annotations

import torch
import torch.nn as nn

ANCHORS_PX = [[10, 13, 16, 30, 33, 23], [30, 61, 62, 45, 59, 119], [116, 90, 156, 198, 373, 326]]
STRIDES = (8.0, 16.0, 32.0)

#: A YOLOv5 hyp file's keys: training settings besides the loss's (which ComputeLoss ignores).
HYP = {"lr0": 0.01, "lrf": 0.01, "momentum": 0.937, "weight_decay": 0.0005,
       "warmup_epochs": 3.0, "box": 0.07, "cls": 0.4, "cls_pw": 1.3, "obj": 0.8,
       "obj_pw": 1.6, "iou_t": 0.2, "anchor_t": 3.5, "fl_gamma": 0.0, "hsv_h": 0.015,
       "mosaic": 1.0, "mixup": 0.0, "label_smoothing": 0.05}
LOSS_KEYS = ("box", "cls", "cls_pw", "obj", "obj_pw", "anchor_t", "fl_gamma", "label_smoothing")


def anchors_grid(dtype=torch.float32):
    """YOLOv5s anchors in grid units, ``[3, 3, 2]``, as the Detect layer holds them."""
    return torch.tensor([[v / s for v in layer] for layer, s in zip(ANCHORS_PX, STRIDES)],
                        dtype=dtype).view(3, 3, 2)


class Detect(nn.Module):
    """YOLOv5's Detect head in training mode: one 1x1 conv per layer, output reshaped to
    ``[bs, na, ny, nx, no]``."""

    def __init__(self, nc, ch, anchors=None, strides=STRIDES):
        super().__init__()
        anchors = anchors_grid() if anchors is None else anchors
        self.nc, self.no = nc, nc + 5
        self.nl, self.na = anchors.shape[0], anchors.shape[1]
        self.register_buffer("anchors", anchors)
        self.register_buffer("stride", torch.tensor(strides, dtype=torch.float32))
        self.m = nn.ModuleList(nn.Conv2d(c, self.na * self.no, 1) for c in ch)

    def forward(self, xs):
        out = []
        for conv, x in zip(self.m, xs):
            y = conv(x)
            bs, _, ny, nx = y.shape
            out.append(y.view(bs, self.na, self.no, ny, nx).permute(0, 1, 3, 4, 2).contiguous())
        return out


class Backbone(nn.Module):
    """Three feature maps at strides 8, 16, 32."""

    def __init__(self, width=8):
        super().__init__()

        def block(cin, cout):
            return nn.Sequential(nn.Conv2d(cin, cout, 3, 2, 1), nn.SiLU())

        self.s8 = nn.Sequential(block(3, width), block(width, width), block(width, width))
        self.s16 = block(width, width)
        self.s32 = block(width, width)

    def forward(self, x):
        a = self.s8(x)
        b = self.s16(a)
        return [a, b, self.s32(b)]


class Model(nn.Module):
    """``model.hyp`` and ``model.model[-1]`` (the Detect layer), as YOLOv5's Model has them."""

    def __init__(self, nc=3, hyp=None, width=8, anchors=None):
        super().__init__()
        self.hyp = dict(HYP if hyp is None else hyp)
        self.model = nn.Sequential(Backbone(width), Detect(nc, (width,) * 3, anchors))

    def forward(self, x):
        return self.model[1](self.model[0](x))
