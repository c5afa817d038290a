#!/usr/bin/env python3
"""The person pipeline of clseg (lib/person.c) written again in Python on LiteRT, as the reference its test
compares with: MediaPipe BlazePose "full" (models/pose_detection.tflite, models/pose_landmark_full.tflite) and
the rules of models/README.md.

  1. letterbox the RGB image into 224x224 (aspect kept, centred, zero border), scale to [-1, 1]; run the detector
  2. 2254 SSD anchors (strides 8, 16, 32 with 2, 2, 6 anchors a cell; centre ((x + .5) / grid, (y + .5) / grid)):
     box centre x, y, size w, h and 4 keypoints = regressor / 224 (+ the anchor centre for positions);
     score = sigmoid(clip(logit, -100, 100))
  3. weighted non-maximum suppression of the detections scoring >= 0.5: the best one, its score, box and
     keypoints replaced by the score-weighted mean over the detections overlapping it by IoU > 0.3
  4. back through the letterbox to image pixels; region of interest: centre = keypoint 0, a square of side
     2 |kp1 - kp0| x 1.25, rotation = pi / 2 - atan2(-(y1 - y0), x1 - x0) wrapped to [-pi, pi)
  5. that rotated square sampled bilinearly (pixel centres, zero outside the image) into 256x256, RGB / 255;
     run the landmark network
  6. landmarks (crop pixels) and the segmentation logits (bilinear, sigmoid) mapped back to the image; a person
     when the detector's score and the presence output are both >= 0.5

Writes, per photo, PHOTO_person.txt (found, the scores, the person share; when found the box, the region and the
33 landmarks: x y in image pixels, z, visibility and presence probabilities) and, when found, PHOTO_person_mask.npy
(uint8, 1 where the person probability is >= 0.5) into --out, and prints a summary line.
With --rotated, first writes OUT/astronaut_rotated.png: samples/astronaut.png mirrored and rotated by 30 degrees
(PIL, bilinear, at 256x256, the frame expanded with black), a second photo with a person, tilted, for the rotated crop.
Usage: python3 tools/person_reference.py [--out tests/fixtures/person] [--rotated] PHOTO...
"""
import argparse
import math
import os

import numpy as np
from PIL import Image
from ai_edge_litert.interpreter import Interpreter, OpResolverType

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DET, LMK = 224, 256
MIN_SCORE, NMS_IOU = 0.5, 0.3


def anchors():
    out = []
    for stride, per_cell in ((8, 2), (16, 2), (32, 6)):
        grid = DET // stride
        for y in range(grid):
            for x in range(grid):
                out += [((x + 0.5) / grid, (y + 0.5) / grid)] * per_cell
    return np.array(out, np.float64)


def run(model, x):
    it = Interpreter(model_path=os.path.join(ROOT, "models", model),
                     experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x[None].astype(np.float32))
    it.invoke()
    return [it.get_tensor(o["index"])[0].astype(np.float64) for o in it.get_output_details()]


def letterbox(img):
    """RGB HxWx3 uint8 -> 224x224x3 in [-1, 1], and the letterbox's scale and offsets (image pixels of the
    square's origin and its side)."""
    h, w = img.shape[:2]
    side = max(h, w)
    x0, y0 = (side - w) / 2.0, (side - h) / 2.0
    # sample the padded square at 224 pixel centres (bilinear, zero outside the image)
    u = (np.arange(DET) + 0.5) * side / DET - 0.5
    rgb = sample(img.astype(np.float64), (u - x0)[None, :].repeat(DET, 0), (u - y0)[:, None].repeat(DET, 1))
    return rgb / 127.5 - 1.0, side, x0, y0


def sample(img, sx, sy):
    """Bilinear samples of img (H x W x C float) at pixel-centre coordinates sx, sy (arrays); zero outside."""
    h, w = img.shape[:2]
    pad = np.zeros((h + 2, w + 2, img.shape[2]))
    pad[1:-1, 1:-1] = img
    fx, fy = np.floor(sx), np.floor(sy)
    ax, ay = sx - fx, sy - fy
    ix, iy = fx.astype(np.int64) + 1, fy.astype(np.int64) + 1
    ok = (ix >= 0) & (ix + 1 < w + 2) & (iy >= 0) & (iy + 1 < h + 2)
    ix, iy = np.clip(ix, 0, w), np.clip(iy, 0, h)
    v = (pad[iy, ix] * ((1 - ax) * (1 - ay))[..., None] + pad[iy, ix + 1] * (ax * (1 - ay))[..., None] +
         pad[iy + 1, ix] * ((1 - ax) * ay)[..., None] + pad[iy + 1, ix + 1] * (ax * ay)[..., None])
    return v * ok[..., None]


def detect(img):
    x, side, x0, y0 = letterbox(img)
    reg, logit = run("pose_detection.tflite", x)
    a = anchors()
    score = 1.0 / (1.0 + np.exp(-np.clip(logit[:, 0], -100, 100)))
    c = reg / DET
    boxes = np.stack([c[:, 0] + a[:, 0], c[:, 1] + a[:, 1], c[:, 2], c[:, 3]], 1)
    kps = np.stack([c[:, 4 + 2 * k:6 + 2 * k] + a for k in range(4)], 1)
    best = int(np.argmax(score))
    if score[best] < MIN_SCORE:
        return dict(score=float(score[best]))
    cand = np.where(score >= MIN_SCORE)[0]

    def corners(b):
        return b[..., 0] - b[..., 2] / 2, b[..., 1] - b[..., 3] / 2, b[..., 0] + b[..., 2] / 2, b[..., 1] + b[..., 3] / 2
    bx0, by0, bx1, by1 = corners(boxes[best])
    cx0, cy0, cx1, cy1 = corners(boxes[cand])
    inter = np.clip(np.minimum(bx1, cx1) - np.maximum(bx0, cx0), 0, None) * \
        np.clip(np.minimum(by1, cy1) - np.maximum(by0, cy0), 0, None)
    iou = inter / ((bx1 - bx0) * (by1 - by0) + (cx1 - cx0) * (cy1 - cy0) - inter)
    grp = cand[iou > NMS_IOU]
    wts = score[grp] / score[grp].sum()
    box = (boxes[grp] * wts[:, None]).sum(0)
    kp = (kps[grp] * wts[:, None, None]).sum(0)
    # back to image pixels: the square's normalised coordinates times its side, less the letterbox offsets
    to_img = lambda p: np.stack([p[..., 0] * side - x0, p[..., 1] * side - y0], -1)
    return dict(score=float(score[best]), box=np.array([box[0] * side - x0, box[1] * side - y0, box[2] * side,
                                                         box[3] * side]), kp=to_img(kp))


def roi(kp):
    (x0, y0), (x1, y1) = kp[0], kp[1]
    side = 2.0 * math.hypot(x1 - x0, y1 - y0) * 1.25
    rot = math.pi / 2 - math.atan2(-(y1 - y0), x1 - x0)
    rot = rot - 2 * math.pi * math.floor((rot + math.pi) / (2 * math.pi))
    return x0, y0, side, rot


def crop_coords(r, n):
    """Image pixel-centre coordinates of the n x n crop's pixel centres."""
    cx, cy, side, rot = r
    u = ((np.arange(n) + 0.5) / n - 0.5) * side
    dx, dy = np.meshgrid(u, u)
    c, s = math.cos(rot), math.sin(rot)
    return cx + dx * c - dy * s - 0.5, cy + dx * s + dy * c - 0.5


def person(img):
    d = detect(img)
    res = dict(detector_score=d["score"], presence=0.0, found=False)
    if "kp" not in d:
        res["mask"] = np.zeros(img.shape[:2])
        return res
    r = roi(d["kp"])
    sx, sy = crop_coords(r, LMK)
    crop = sample(img.astype(np.float64), sx, sy) / 255.0
    lm, pres, seg = run("pose_landmark_full.tflite", crop)[:3]
    lm = lm.reshape(39, 5)[:33]  # 33 body landmarks, then 6 auxiliary points (not reported)
    cx, cy, side, rot = r
    c, s = math.cos(rot), math.sin(rot)
    ux, uy = (lm[:, 0] / LMK - 0.5) * side, (lm[:, 1] / LMK - 0.5) * side
    sig = lambda v: 1.0 / (1.0 + np.exp(-v))
    land = np.stack([cx + ux * c - uy * s, cy + ux * s + uy * c, lm[:, 2] / LMK * side, sig(lm[:, 3]), sig(lm[:, 4])], 1)
    # mask: each image pixel centre into the crop's pixel coordinates (the inverse rotation), bilinear, sigmoid
    h, w = img.shape[:2]
    py, px = np.mgrid[0:h, 0:w] + 0.5
    dx, dy = px - cx, py - cy
    u = (dx * c + dy * s) / side * LMK + LMK / 2 - 0.5
    v = (-dx * s + dy * c) / side * LMK + LMK / 2 - 0.5
    inside = (u > -0.5) & (u < LMK - 0.5) & (v > -0.5) & (v < LMK - 0.5)
    logits = sample(seg, np.clip(u, 0, LMK - 1), np.clip(v, 0, LMK - 1))[..., 0]
    res.update(presence=float(pres[0]), found=bool(d["score"] >= MIN_SCORE and pres[0] >= 0.5),
               box=d["box"], roi=np.array(r), landmarks=land)
    res["mask"] = sig(logits) * inside if res["found"] else np.zeros((h, w))
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "person"))
    ap.add_argument("--rotated", action="store_true")
    ap.add_argument("photos", nargs="*")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    if a.rotated:
        src = Image.open(os.path.join(ROOT, "samples", "astronaut.png")).convert("RGB")
        src = src.resize((256, 256), Image.BILINEAR)  # small: a fixture
        rot = src.transpose(Image.FLIP_LEFT_RIGHT).rotate(30, resample=Image.BILINEAR, expand=True)
        rot.save(os.path.join(a.out, "astronaut_rotated.png"))
        a.photos.append(os.path.join(a.out, "astronaut_rotated.png"))
    for p in a.photos:
        img = np.asarray(Image.open(p).convert("RGB"))
        r = person(img)
        stem = os.path.splitext(os.path.basename(p))[0]
        with open(os.path.join(a.out, stem + "_person.txt"), "w") as f:
            f.write("# tools/person_reference.py on %s: found detector_score presence person_share, then (when\n"
                    "# found) box cx cy w h, roi cx cy side rotation, and 33 landmarks x y z visibility presence\n"
                    % os.path.basename(p))
            f.write("%d %.6f %.6f %.6f\n" % (r["found"], r["detector_score"], r["presence"],
                                               float((r["mask"] >= 0.5).mean())))
            if r["found"]:
                f.write("%.4f %.4f %.4f %.4f\n" % tuple(r["box"]))
                f.write("%.4f %.4f %.4f %.6f\n" % tuple(r["roi"]))
                for lm in r["landmarks"]:
                    f.write("%.4f %.4f %.4f %.6f %.6f\n" % tuple(lm))
        if r["found"]:  # the mask at 0.5, one byte a pixel
            np.save(os.path.join(a.out, stem + "_person_mask.npy"), (r["mask"] >= 0.5).astype(np.uint8))
        print("%s: detector %.3f presence %.3f found %s person share %.1f%%" % (
            stem, r["detector_score"], r["presence"], r["found"], 100 * float((r["mask"] >= 0.5).mean())))


if __name__ == "__main__":
    main()
