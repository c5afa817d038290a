#!/usr/bin/python3
# Runs on Debian's /usr/bin/python3 with python3-numpy and python3-pil (apt-get install python3-numpy python3-pil).
# Writes the tiny image and array fixtures of tests/test_io.c into tests/fixtures/images/, and expected.txt
# with the values a correct decoder must produce.
#
# PNGs are encoded here by hand (zlib + CRC, every filter type, Adam7 interlacing), because PIL cannot write
# 16-bit colour, interlaced or low-bit-depth palette files; each one is then decoded by PIL as an independent
# check of this encoder. JPEGs are written by PIL and their expected pixels are PIL's own decode, compared by
# the test with a tolerance (JPEG_TOL) because two libjpeg builds may round the IDCT differently.
#
#   /usr/bin/python3 tools/make_image_fixtures.py
import io
import os
import struct
import sys
import zlib

import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'fixtures', 'images')
JPEG_TOL = 2
MAX_TOTAL = 50 * 1024
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # PNG colour type -> samples per pixel


def chunk(kind, data):
    body = kind + data
    return struct.pack('>I', len(data)) + body + struct.pack('>I', zlib.crc32(body) & 0xffffffff)


def pack_row(samples, depth):
    """One row of samples (flattened) to PNG bytes: big-endian 16-bit, or bits packed MSB first."""
    if depth == 16:
        return b''.join(struct.pack('>H', int(s)) for s in samples)
    if depth == 8:
        return bytes(int(s) for s in samples)
    out, acc, nbits = bytearray(), 0, 0
    for s in samples:
        acc = (acc << depth) | int(s)
        nbits += depth
        if nbits == 8:
            out.append(acc)
            acc, nbits = 0, 0
    if nbits:
        out.append(acc << (8 - nbits))
    return bytes(out)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def filter_row(kind, row, prev, bpp):
    """Applies PNG filter `kind` so that every filter type is exercised by the decoder."""
    out = bytearray([kind])
    for i, x in enumerate(row):
        a = row[i - bpp] if i >= bpp else 0
        b = prev[i] if prev is not None else 0
        c = prev[i - bpp] if prev is not None and i >= bpp else 0
        pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][kind]
        out.append((x - pred) & 0xff)
    return bytes(out)


def image_data(px, depth, bpp):
    """Filtered scanlines of one (sub)image px[h, w, ch]."""
    out, prev = b'', None
    for y in range(px.shape[0]):
        row = pack_row(px[y].reshape(-1), depth)
        out += filter_row(y % 5, row, prev, bpp)
        prev = row
    return out


def encode_png(px, ctype, depth, plte=None, trns=None, interlace=False):
    h, w = px.shape[:2]
    bpp = max(1, CHANNELS[ctype] * depth // 8)
    if interlace:
        raw = b''
        for x0, y0, dx, dy in ADAM7:
            sub = px[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                raw += image_data(sub, depth, bpp)
    else:
        raw = image_data(px, depth, bpp)
    out = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, depth, ctype, 0, 0, int(interlace)))
    if plte is not None:
        out += chunk(b'PLTE', bytes(int(v) for v in plte.reshape(-1)))
    if trns is not None:
        out += chunk(b'tRNS', trns)
    return out + chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b'')


def scale16(v):
    """What a decoder must give for a 16-bit sample: round(v * 255 / 65535), exactly."""
    return (v.astype(np.int64) * 510 + 65535) // 131070


def expand_bits(v, depth):
    return v * (255 // ((1 << depth) - 1))


class Writer:
    def __init__(self):
        self.lines, self.total = [], 0

    def file(self, name, data):
        with open(os.path.join(OUT, name), 'wb') as f:
            f.write(data)
        self.total += len(data)

    def image(self, name, data, expect, depth, tol=0):
        self.file(name, data)
        h, w, ch = expect.shape
        hexdata = expect.astype(np.uint8).tobytes().hex()
        self.lines.append(f'image {name} {w} {h} {ch} {depth} {tol} {hexdata}')

    def mask(self, name, indices):
        h, w = indices.shape
        self.lines.append(f'mask {name} {w} {h} {indices.astype(np.uint8).tobytes().hex()}')


def check_with_pil(data, want):
    """PIL's decode of our PNG must match the pixels we encoded (16-bit colour: PIL keeps the high byte)."""
    im = Image.open(io.BytesIO(data))
    im.load()
    got = np.asarray(im).astype(np.int64)
    if im.mode == 'RGBA' and want.ndim == 3 and want.shape[2] == 2:  # PIL widens 16-bit gray+alpha to RGBA
        got = got[..., [0, 3]]
    assert got.reshape(-1).tolist() == want.reshape(-1).tolist(), (im.mode, got, want)


def pngs(wr, rng):
    w, h = 7, 5
    specials = np.array([0, 65535, 128, 129, 32767, 32768, 25828], dtype=np.int64)  # rounding edges
    for ctype, tag in [(0, 'gray'), (4, 'graya'), (2, 'rgb'), (6, 'rgba')]:
        ch = CHANNELS[ctype]
        for depth in (8, 16):
            px = rng.integers(0, 1 << depth, size=(h, w, ch), dtype=np.int64)
            if depth == 16:
                px[0, :, 0] = specials
            data = encode_png(px, ctype, depth)
            want = px >> 8 if depth == 16 and ch > 1 else px  # PIL keeps 16-bit gray, narrows the rest
            check_with_pil(data, want[..., 0] if ch == 1 else want)
            wr.image(f'{tag}{depth}.png', data, scale16(px) if depth == 16 else px, depth)
    for depth in (1, 2, 4):  # low-bit gray: expanded by replication to 0..255
        px = rng.integers(0, 1 << depth, size=(3, 9, 1), dtype=np.int64)
        data = encode_png(px, 0, depth)
        wr.image(f'gray{depth}.png', data, expand_bits(px, depth), depth)
        wr.mask(f'gray{depth}.png', px[..., 0])
    palette(wr, rng)
    trns_and_interlace(wr, rng)


def palette(wr, rng):
    plte = rng.integers(0, 256, size=(16, 3), dtype=np.int64)
    plte[0] = 0
    for depth in (4, 8):
        idx = rng.integers(0, 16, size=(4, 6, 1), dtype=np.int64)
        data = encode_png(idx, 3, depth, plte=plte)
        check_with_pil(data, idx[..., 0])
        wr.image(f'pal{depth}.png', data, plte[idx[..., 0]], depth)
        wr.mask(f'pal{depth}.png', idx[..., 0])
    idx = rng.integers(0, 16, size=(4, 6, 1), dtype=np.int64)
    alpha = np.full(16, 255, dtype=np.int64)
    alpha[:5] = [0, 64, 128, 200, 255]  # tRNS shorter than PLTE: the rest stay opaque
    data = encode_png(idx, 3, 8, plte=plte, trns=bytes(int(a) for a in alpha[:5]))
    rgba = np.concatenate([plte[idx[..., 0]], alpha[idx[..., 0]][..., None]], axis=2)
    check_with_pil(data, idx[..., 0])
    assert np.asarray(Image.open(io.BytesIO(data)).convert('RGBA')).tolist() == rgba.tolist()
    wr.image('pal8_trns.png', data, rgba, 8)


def trns_and_interlace(wr, rng):
    px = rng.integers(0, 4, size=(4, 5, 3), dtype=np.int64) * 85  # few colours, so the key colour occurs
    key = (85, 0, 170)
    px[1, 2] = key
    data = encode_png(px, 2, 8, trns=struct.pack('>HHH', *key))
    alpha = np.where((px == key).all(axis=2), 0, 255)[..., None]
    wr.image('rgb8_trns.png', data, np.concatenate([px, alpha], axis=2), 8)
    px = rng.integers(0, 256, size=(9, 11, 3), dtype=np.int64)  # 11x9: every Adam7 pass, some partial
    data = encode_png(px, 2, 8, interlace=True)
    check_with_pil(data, px)
    wr.image('rgb8_interlaced.png', data, px, 8)
    px = rng.integers(0, 65536, size=(5, 3, 1), dtype=np.int64)  # 3x5: passes 2 and 4 are empty
    data = encode_png(px, 0, 16, interlace=True)
    check_with_pil(data, px[..., 0])
    wr.image('gray16_interlaced.png', data, scale16(px), 16)
    # Valid headers claiming huge images over a few bytes of data: both must be refused before allocating,
    # 12000x12000 as impossible for its data size, 20000x20000 as over CLSEG_IMAGE_MAX_PIXELS.
    for name, side in [('huge_claim.png', 12000), ('over_limit.png', 20000)]:
        ihdr = chunk(b'IHDR', struct.pack('>IIBBBBB', side, side, 8, 0, 0, 0, 0))
        wr.file(name, b'\x89PNG\r\n\x1a\n' + ihdr + chunk(b'IDAT', zlib.compress(b'\0' * 64)) +
                chunk(b'IEND', b''))


def jpegs(wr, rng):
    y, x = np.mgrid[0:13, 0:17]
    rgb = np.stack([x * 15, y * 19, 255 - x * 7 - y * 5], axis=2) + rng.integers(0, 20, size=(13, 17, 3))
    rgb = np.clip(rgb, 0, 255).astype(np.uint8)
    cases = [('gray.jpg', Image.fromarray(rgb[..., 0]), {}), ('rgb.jpg', Image.fromarray(rgb), {}),
             ('rgb_progressive.jpg', Image.fromarray(rgb), {'progressive': True}),
             ('rgb444.jpg', Image.fromarray(rgb), {'subsampling': 0})]
    for name, im, opts in cases:
        buf = io.BytesIO()
        im.save(buf, 'JPEG', quality=90, **opts)
        dec = np.asarray(Image.open(io.BytesIO(buf.getvalue())))
        wr.image(name, buf.getvalue(), dec.reshape(dec.shape[0], dec.shape[1], -1), 8, JPEG_TOL)
    buf = io.BytesIO()
    Image.fromarray(rgb).convert('CMYK').save(buf, 'JPEG', quality=90)
    wr.file('cmyk.jpg', buf.getvalue())


def npys(wr):
    base = (np.arange(6, dtype=np.float64).reshape(2, 3) - 2.5) / 4
    for dt in ('<f4', '<f8', '<f2'):
        a = base.astype(dt)
        buf = io.BytesIO()
        np.save(buf, a)
        wr.file(f'{dt[1:]}.npy', buf.getvalue())
    half = np.array([1.0, -2.0, 65504.0, 6e-8, np.inf, -0.0], dtype='<f2')  # max, subnormal, inf, -0
    buf = io.BytesIO()
    np.save(buf, half)
    wr.file('f2_special.npy', buf.getvalue())
    buf = io.BytesIO()
    np.lib.format.write_array(buf, base.astype('<f4'), version=(2, 0))
    wr.file('f4_v2.npy', buf.getvalue())
    for name, a in [('scalar.npy', np.array(3.5, dtype='<f4')), ('empty.npy', np.zeros((0, 4), '<f4')),
                    ('fortran.npy', np.asfortranarray(base.astype('<f4'))), ('i4.npy', np.arange(4, dtype='<i4')),
                    ('be_f4.npy', base.astype('>f4'))]:
        buf = io.BytesIO()
        np.save(buf, a)
        wr.file(name, buf.getvalue())


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith(('.png', '.jpg', '.npy', '.txt')):
            os.remove(os.path.join(OUT, f))
    rng = np.random.default_rng(20240611)
    wr = Writer()
    pngs(wr, rng)
    jpegs(wr, rng)
    npys(wr)
    head = ['# Written by tools/make_image_fixtures.py; do not edit. Lines:',
            '#   image FILE W H CHANNELS SOURCE_BIT_DEPTH TOLERANCE HEX(row-major interleaved 8-bit pixels)',
            '#   mask FILE W H HEX(class indices)']
    with open(os.path.join(OUT, 'expected.txt'), 'w') as f:
        f.write('\n'.join(head + wr.lines) + '\n')
    total = wr.total + os.path.getsize(os.path.join(OUT, 'expected.txt'))
    print(f'{len(wr.lines)} expectations, {total} bytes in {OUT}')
    if total > MAX_TOTAL:
        sys.exit(f'fixtures are {total} bytes, over the {MAX_TOTAL} limit')


if __name__ == '__main__':
    main()
