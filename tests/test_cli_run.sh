#!/usr/bin/env bash
# End-to-end checks of `clseg run` and `clseg eval` on the sample images and tests/fixtures/cli/ masks:
# outputs, their sizes and contents, JSON, folders and stdin lists, tiling, several workers, error paths.
# Usage: test_cli_run.sh CLSEG_BINARY SOURCE_ROOT; $CLSEG_TEST_DEVICE (meson: pocl) is passed as -d.
# Needs only bash, cmp and python3's standard library (PNGs are decoded with zlib below).
set -u
clseg=$1
src=$2
dev=${CLSEG_TEST_DEVICE:-auto}
samples=$src/samples
fix=$src/tests/fixtures/cli
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clseg-cli-run.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fails=0; passes=0

pass() { passes=$((passes+1)); }
fail() { echo "FAIL $1"; [ -n "${2:-}" ] && echo "$2"; fails=$((fails+1)); }
check() { # check NAME EXPECTED_EXIT COMMAND... ; stdout+stderr in $out, stdout alone in $stdout
  local name=$1 want=$2; shift 2
  "$@" >"$tmp/stdout" 2>"$tmp/stderr"; local rc=$?
  stdout=$(cat "$tmp/stdout"); out=$(cat "$tmp/stdout" "$tmp/stderr")
  if [ "$rc" -ne "$want" ]; then fail "$name: exit $rc, wanted $want; output:" "$out"; return 1; fi
  pass; return 0
}
contains() { # contains NAME TEXT: $out holds TEXT
  if grep -qF -- "$2" <<<"$out"; then pass; else fail "$1: no '$2' in:" "$out"; fi
}
py() { # py NAME PYTHON_CODE ARGS...: a check written in python (assert); stdin is passed on
  local name=$1 code=$2; shift 2
  local msg
  if msg=$(python3 -c "import sys; sys.path.insert(0, '$tmp'); from pngtool import *
$code" "$@" 2>&1); then pass; else fail "$name" "$msg"; fi
}
absent() { # absent NAME FILE...: none of the files exists
  local f
  for f in "${@:2}"; do
    if [ -e "$f" ]; then fail "$1: $f should not exist"; return; fi
  done
  pass
}

# A small PNG reader and writer (8-bit and 16-bit, gray, RGB, palette; not interlaced) for the checks.
cat >"$tmp/pngtool.py" <<'EOF'
import json, struct, zlib

def png_read(path):
    """(width, height, bit_depth, colour_type, rows as lists of samples)"""
    b = open(path, 'rb').read()
    assert b[:8] == b'\x89PNG\r\n\x1a\n', path + ': not a PNG'
    pos, idat, w = 8, b'', None
    while pos < len(b):
        n, t = struct.unpack('>I4s', b[pos:pos + 8])
        d = b[pos + 8:pos + 8 + n]
        if t == b'IHDR':
            w, h, depth, ctype, _, _, interlace = struct.unpack('>IIBBBBB', d)
            assert interlace == 0 and depth in (8, 16), path + ': unsupported layout'
        elif t == b'IDAT':
            idat += d
        pos += 12 + n
    ch = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]
    bpp = ch * depth // 8
    raw, stride, rows, prev = zlib.decompress(idat), w * bpp, [], bytearray(w * bpp)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            c = prev[i - bpp] if i >= bpp else 0
            p = a + prev[i] - c
            pred = [0, a, prev[i], (a + prev[i]) // 2,
                    a if abs(p - a) <= abs(p - prev[i]) and abs(p - a) <= abs(p - c)
                    else prev[i] if abs(p - prev[i]) <= abs(p - c) else c][f]
            line[i] = (line[i] + pred) & 255
        rows.append(list(struct.unpack('>%dH' % (stride // 2), line)) if depth == 16 else list(line))
        prev = line
    return w, h, depth, ctype, rows

def png_size(path):
    b = open(path, 'rb').read(24)
    assert b[:8] == b'\x89PNG\r\n\x1a\n' and b[12:16] == b'IHDR', path + ': not a PNG'
    return struct.unpack('>II', b[16:24])

def png_write_rgb(path, w, h, rows):
    def chunk(t, d):
        return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d))
    raw = b''.join(b'\0' + bytes(r) for r in rows)
    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0)) +
                chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))

def png_write(path, w, h, depth, ctype, raw_rows):
    """raw_rows: each row's bytes (big-endian samples for 16 bits), unfiltered"""
    def chunk(t, d):
        return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d))
    z = zlib.compressobj(1)
    idat = b''.join(z.compress(b'\0' + r) for r in raw_rows) + z.flush()
    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, depth, ctype, 0, 0, 0)) +
                chunk(b'IDAT', idat) + chunk(b'IEND', b''))

def npy_shape(path):
    b = open(path, 'rb').read()
    assert b[:6] == b'\x93NUMPY', path + ': not a .npy'
    n = struct.unpack('<H', b[8:10])[0]
    hdr = eval(b[10:10 + n].decode('latin1'))
    assert hdr['descr'] == '<f4' and not hdr['fortran_order'], hdr
    count = 1
    for d in hdr['shape']:
        count *= d
    assert len(b) - 10 - n == 4 * count, 'data size'
    return hdr['shape']

def near(a, b):
    assert a is not None and abs(a - b) <= 1e-6, '%r != %r' % (a, b)
EOF

# ---- clseg run ----
astro=$samples/astronaut.png
fcn3="$src/tests/fixtures/models/fcn_resnet18_os8.safetensors"  # 3 classes, fixed 32x32
if check run-astronaut 0 "$clseg" run -d "$dev" --overlay -q -o "$tmp/one" "$astro"; then
  py run-astronaut-sizes 'w, h, d, t, _ = png_read(sys.argv[1]); assert (w, h, d, t) == (512, 512, 8, 3), (w, h, d, t)
assert png_size(sys.argv[2]) == (512, 512)' "$tmp/one/astronaut_mask.png" "$tmp/one/astronaut_overlay.png"
  # the selfie model finds the astronaut: a sizeable but not total share of class 1, only classes 0 and 1
  py run-astronaut-person 'rows = png_read(sys.argv[1])[4]; px = [v for r in rows for v in r]
assert set(px) <= {0, 1}, set(px); f = px.count(1) / len(px); assert 0.2 < f < 0.8, f' "$tmp/one/astronaut_mask.png"
fi

if check run-json 0 "$clseg" run -d "$dev" --json -o "$tmp/json" "$astro"; then
  py run-json-lines 'lines = [json.loads(l) for l in sys.stdin.read().splitlines()]
assert len(lines) == 2, lines; img, s = lines
assert img["ok"] and img["width"] == 512 and img["height"] == 512 and img["mask"].endswith("astronaut_mask.png"), img
assert s["summary"]["images"] == 1 and s["summary"]["failed"] == 0, s' <<<"$stdout"
fi

if check run-folder 0 "$clseg" run -d "$dev" -m selfie -q -o "$tmp/folder" "$samples"; then
  py run-folder-sizes 'd = sys.argv[1]
for n, size in (("astronaut", (512, 512)), ("chelsea", (451, 300)), ("coffee", (600, 400))):
    assert png_size("%s/%s_mask.png" % (d, n)) == size, n' "$tmp/folder"
fi

if check run-stdin 0 "$clseg" run -d "$dev" -q -o "$tmp/stdin" - < <(printf '%s\n\n%s\n' "$samples/chelsea.png" "$samples/coffee.png"); then
  py run-stdin-outputs 'import os; assert sorted(os.listdir(sys.argv[1])) == ["chelsea_mask.png", "coffee_mask.png"]' "$tmp/stdin"
fi

if check run-probs 0 "$clseg" run -d "$dev" -q --probs -o "$tmp/probs" "$astro"; then
  # 16-bit gray, and the threshold rule holds: mask 1 exactly where the probability is >= 0.5
  py run-probs-16bit 'w, h, d, t, p = png_read(sys.argv[1]); assert (w, h, d, t) == (512, 512, 16, 0), (w, h, d, t)
m = png_read(sys.argv[2])[4]
bad = sum((p[y][x] >= 32768) != (m[y][x] == 1) for y in range(h) for x in range(w))
assert bad <= w * h // 1000, bad' "$tmp/probs/astronaut_prob.png" "$tmp/probs/astronaut_mask.png"
fi

if check run-npy 0 "$clseg" run -d "$dev" -m selfie -q --npy "$tmp/out.npy" -o "$tmp/npy" "$astro"; then
  py run-npy-shape 'assert tuple(npy_shape(sys.argv[1])) == (1, 1, 256, 256)' "$tmp/out.npy"
fi
check run-npy-two-inputs 2 "$clseg" run -d "$dev" -m selfie --npy "$tmp/two.npy" -o "$tmp/npy" "$astro" "$astro"

# a 700x500 image made by tiling the astronaut; --tile 256 covers it with 3 x 3 tiles
py make-large 'w, h, _, _, rows = png_read(sys.argv[1])
png_write_rgb(sys.argv[2], 700, 500, [[rows[y % h][(x % (3 * w))] for x in range(3 * 700)] for y in range(500)])' \
  "$astro" "$tmp/large.png"
if check run-tile 0 "$clseg" run -d "$dev" -m selfie --json --tile 256 --overlap 32 -o "$tmp/tile" "$tmp/large.png"; then
  py run-tile-size 'assert png_size(sys.argv[1]) == (700, 500)
r = json.loads(sys.stdin.readline()); assert r["tiles"] == 9 and r["input_size"] == [256, 256], r' \
    "$tmp/tile/large_mask.png" <<<"$stdout"
fi
check run-tile-wrong-size 2 "$clseg" run -d "$dev" -m selfie --tile 128 -o "$tmp/tile2" "$tmp/large.png" && contains run-tile-wrong-size "--tile 256"

# devices
check run-no-device 1 "$clseg" run -d no-such-device -o "$tmp/nodev" "$astro" && contains run-no-device "the devices are"
if check run-two-workers 0 "$clseg" run -d "$dev,$dev" -m selfie -q -o "$tmp/two" "$samples"; then
  same=1
  for n in astronaut chelsea coffee; do cmp -s "$tmp/folder/${n}_mask.png" "$tmp/two/${n}_mask.png" || same=0; done
  [ "$same" = 1 ] && pass || fail "run-two-workers: masks differ from one worker's"
fi

# bad inputs
# the default: the person pipeline. The astronaut: a person of 40-60% of the picture, 33 landmarks; the cat: no
# person (exit 0, an empty mask); two networks: no --tile, no --npy, and not for the one-network commands
if check run-person-json 0 "$clseg" run -d "$dev" --json --overlay -o "$tmp/person" "$astro"; then
  py run-person-fields 'r = json.loads(sys.stdin.readline()); p = r["person"]
assert p["found"] and p["detector_score"] > 0.5 and p["presence"] > 0.5, p
assert 0.40 < p["mask_share"] < 0.60 and len(p["landmarks"]) == 33 and len(p["box"]) == 4, p
assert all(0 <= l[0] < 512 and 0 <= l[1] < 512 for l in p["landmarks"][:11]), p["landmarks"][:11]
parts = [r[k] for k in ("decode_ms", "network_ms", "pre_post_ms", "encode_ms")]
assert all(v >= 0 for v in parts) and sum(parts) <= r["ms"] * 1.01 + 0.1, r' <<<"$stdout"
  py run-person-files 'assert png_size(sys.argv[1]) == png_size(sys.argv[2]) == (512, 512)' "$tmp/person/astronaut_mask.png" "$tmp/person/astronaut_overlay.png"
fi
check run-person-cat 0 "$clseg" run -d "$dev" -o "$tmp/person" "$samples/chelsea.png" && contains run-person-cat "no person found (detector score 0.19"
# images of every kind the person pipeline must take: 8x8 (no person, an 8x8 mask), gray (the astronaut still
# found), 16-bit RGB (v * 257: the same mask as the 8-bit file's), 10000x8000 (letterboxed: no person, a full-size
# mask, under 1.5 GB of memory), and one whose header claims 20000x20000 (refused, naming the file and the limit)
py make-kinds 'w, h, _, _, rows = png_read(sys.argv[1]); d = sys.argv[2]
png_write(d + "/tiny.png", 8, 8, 8, 2, [bytes([200, 120, 40] * 8)] * 8)
png_write(d + "/gray.png", w, h, 8, 0, [bytes((r[3 * x] * 30 + r[3 * x + 1] * 59 + r[3 * x + 2] * 11) // 100 for x in range(w)) for r in rows])
png_write(d + "/deep.png", w, h, 16, 2, [struct.pack(">%dH" % (3 * w), *[v * 257 for v in r]) for r in rows])
W, H = 10000, 8000
png_write(d + "/huge.png", W, H, 8, 0, [bytes(range(256)) * (W // 256) + bytes(W % 256)] * H)
png_write(d + "/giant.png", 20000, 20000, 8, 0, [bytes(20000)] * 2)' "$astro" "$tmp"
if check run-tiny 0 "$clseg" run -d "$dev" --overlay -o "$tmp/kinds" "$tmp/tiny.png"; then
  contains run-tiny-no-person "no person found"
  py run-tiny-mask 'w, h, _, _, rows = png_read(sys.argv[1]); assert (w, h) == (8, 8) and not any(v for r in rows for v in r), rows' "$tmp/kinds/tiny_mask.png"
fi
check run-tiny-selfie 0 "$clseg" run -d "$dev" -m selfie -o "$tmp/kinds_selfie" "$tmp/tiny.png" && py run-tiny-selfie-mask 'assert png_size(sys.argv[1]) == (8, 8)' "$tmp/kinds_selfie/tiny_mask.png"
if check run-gray 0 "$clseg" run -d "$dev" --json -o "$tmp/kinds" "$tmp/gray.png"; then
  py run-gray-person 'r = json.loads(sys.stdin.readline()); p = r["person"]
assert r["width"] == 512 and p["found"] and 0.35 < p["mask_share"] < 0.65, p' <<<"$stdout"
fi
if check run-16bit 0 "$clseg" run -d "$dev" -o "$tmp/kinds" "$tmp/deep.png"; then
  cmp -s "$tmp/kinds/deep_mask.png" "$tmp/person/astronaut_mask.png" && pass || fail "run-16bit: the mask differs from the 8-bit file's"
fi
py run-huge-memory 'import resource, subprocess
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
assert rss < 1536, "peak %.0f MB" % rss' "$clseg" run -d "$dev" -o "$tmp/kinds" "$tmp/huge.png"
py run-huge-mask 'assert png_size(sys.argv[1]) == (10000, 8000)' "$tmp/kinds/huge_mask.png"
rm -f "$tmp/huge.png" "$tmp/kinds/huge_mask.png"
check run-giant 1 "$clseg" run -d "$dev" -o "$tmp/kinds" "$tmp/giant.png" && contains run-giant "giant.png': image size 20000x20000 is over the limit of 268435456 pixels"
absent run-giant-no-output "$tmp/kinds/giant_mask.png"
check run-person-tile 2 "$clseg" run -d "$dev" --tile 256 -o "$tmp/person" "$astro" && contains run-person-tile "--tile: the person pipeline"
check run-person-npy 2 "$clseg" run -d "$dev" --npy "$tmp/p.npy" -o "$tmp/person" "$astro" && contains run-person-npy "--npy"
check info-person 1 "$clseg" info -m person && contains info-person "only \`clseg run\` takes it"
check models-list 0 "$clseg" models && contains models-list "person" && contains models-list "selfie-landscape"
check run-missing-file 1 "$clseg" run -d "$dev" -o "$tmp/missing" "$tmp/nope.png" "$astro" && contains run-missing-file "nope.png"
# the batch went on: the readable image was segmented
if [ -f "$tmp/missing/astronaut_mask.png" ] && [ ! -e "$tmp/missing/nope_mask.png" ]; then passes=$((passes+1)); else echo "FAIL run-missing-file-continues"; fails=$((fails+1)); fi
mkdir -p "$tmp/collide"; cp "$astro" "$tmp/collide/astronaut.png"
check run-name-collision 2 "$clseg" run -d "$dev" -o "$tmp/coll" "$astro" "$tmp/collide/astronaut.png" && contains run-name-collision "would both write"
check run-empty-stdin 2 "$clseg" run -d "$dev" -o "$tmp/empty" - </dev/null && contains run-empty-stdin "empty"
check run-threshold-zero 2 "$clseg" run -d "$dev" -o "$tmp/thr" --threshold 0 "$astro"
mkdir -p "$tmp/batch"
head -c 3000 "$astro" >"$tmp/batch/a_truncated.png"
cp "$astro" "$tmp/batch/b_good.png"
echo "not an image" >"$tmp/batch/c_text.png"
if check run-batch-failures 1 "$clseg" run -d "$dev" -o "$tmp/bout" "$tmp/batch"; then
  contains run-batch-truncated "a_truncated.png"
  contains run-batch-text "c_text.png"
  contains run-batch-count "2 of 3 images failed"
  py run-batch-good 'assert png_size(sys.argv[1]) == (512, 512)' "$tmp/bout/b_good_mask.png"
  absent run-batch-no-partial "$tmp/bout/a_truncated_mask.png" "$tmp/bout/c_text_mask.png" $(compgen -G "$tmp/bout/*.tmp*")
fi
# several images through the pipeline (decoded and encoded on other threads while the device runs), a bad one in
# the middle: results in input order, the same with two workers; the bad file named, exit 1, no file of it
mkdir -p "$tmp/mixed"
for n in 1 2 3; do cp "$samples/chelsea.png" "$tmp/mixed/c$n.png"; cp "$astro" "$tmp/mixed/e$n.png"; done
head -c 5000 "$samples/coffee.png" >"$tmp/mixed/d_cut.png"
order=("$tmp/mixed/e1.png" "$tmp/mixed/c1.png" "$tmp/mixed/e2.png" "$tmp/mixed/d_cut.png" "$tmp/mixed/c2.png" "$tmp/mixed/e3.png" "$tmp/mixed/c3.png")
for spec in "$dev" "$dev,$dev"; do
  if check "run-pipeline-order $spec" 1 "$clseg" run -d "$spec" -m selfie --json --overlay -o "$tmp/mixed_out" "${order[@]}"; then
    py "run-pipeline-order-json $spec" 'lines = [json.loads(l) for l in sys.stdin.read().splitlines()]
got = [l["input"] for l in lines[:-1]]; assert got == sys.argv[1:], got
assert [l["ok"] for l in lines[:-1]] == [True, True, True, False, True, True, True], lines
assert "d_cut.png" in lines[3]["error"], lines[3]
s = lines[-1]["summary"]; assert s["images"] == 6 and s["failed"] == 1 and s["images_per_second"] > 0 and 0 < s["first_result_seconds"] <= s["seconds"], s' "${order[@]}" <<<"$stdout"
    contains "run-pipeline-named $spec" "d_cut.png"
    contains "run-pipeline-count $spec" "1 of 7 images failed"
    absent "run-pipeline-no-partial $spec" "$tmp/mixed_out/d_cut_mask.png" "$tmp/mixed_out/d_cut_overlay.png" $(compgen -G "$tmp/mixed_out/*.tmp*")
  fi
done
# the masks equal those of one image at a time
same=1
for n in c1 c2 c3; do cmp -s "$tmp/mixed_out/${n}_mask.png" "$tmp/mixed_out/c1_mask.png" || same=0; done
for n in e1 e2 e3; do cmp -s "$tmp/mixed_out/${n}_mask.png" "$tmp/folder/astronaut_mask.png" || same=0; done
[ "$same" = 1 ] && pass || fail "run-pipeline-same: masks differ between copies of one image"
if check run-pipeline-text 1 "$clseg" run -d "$dev" -m selfie -o "$tmp/mixed_txt" "${order[@]}"; then
  py run-pipeline-text-order 'got = [l.split()[0] for l in sys.stdin.read().splitlines() if not l.startswith("segmented") and not l.startswith("device")]
want = [p for p in sys.argv[1:] if "d_cut" not in p]; assert got == want, (got, want)' "${order[@]}" <<<"$stdout"
fi
# --batch 3: up to three images of one input size in one network run (a fixed-size model: any sizes), the bad one
# passed on alone; the same masks as one by one and probabilities within 2 / 65535; the 3-class FCN too
for m in selfie "$fcn3"; do
  name=$(basename "$m" .safetensors)
  if check "run-batch3-$name" 1 "$clseg" run -d "$dev" -m "$m" --batch 3 --probs --json -o "$tmp/b3_$name" "${order[@]}" &&
     check "run-batch1-$name" 1 "$clseg" run -d "$dev" -m "$m" --probs -o "$tmp/b1_$name" "${order[@]}"; then
    py "run-batch-same-$name" 'import os, struct
a, b = sys.argv[1], sys.argv[2]
assert sorted(os.listdir(a)) == sorted(os.listdir(b)) and len(os.listdir(a)) == 12, (os.listdir(a), os.listdir(b))
for f in os.listdir(a):
    if f.endswith("_mask.png"):
        assert open(a + "/" + f, "rb").read() == open(b + "/" + f, "rb").read(), f
    elif f.endswith("_prob.png"):
        p, q = png_read(a + "/" + f)[4], png_read(b + "/" + f)[4]
        assert max(abs(x - y) for r, s in zip(p, q) for x, y in zip(r, s)) <= 2, f
    else:
        assert npy_shape(a + "/" + f) == npy_shape(b + "/" + f), f
        p, q = open(a + "/" + f, "rb").read(), open(b + "/" + f, "rb").read()
        h = 10 + struct.unpack("<H", p[8:10])[0]; n = (len(p) - h) // 4
        p, q = struct.unpack("<%df" % n, p[h:]), struct.unpack("<%df" % n, q[h:])
        assert max(abs(x - y) for x, y in zip(p, q)) <= 1e-5, f' "$tmp/b3_$name" "$tmp/b1_$name"
  fi
done
check run-batch-person 2 "$clseg" run -d "$dev" --batch 2 -o "$tmp/bp" "$astro" && contains run-batch-person "--batch: the person pipeline"
check run-batch-zero 2 "$clseg" run -d "$dev" -m selfie --batch 0 -o "$tmp/bp" "$astro"
# --fail-fast with the bad image in the middle: those before it are written, none after it (even in flight)
if check run-pipeline-fail-fast 1 "$clseg" run -d "$dev" -m selfie --fail-fast -o "$tmp/mixed_ff" "${order[@]}"; then
  py run-pipeline-fail-fast-files 'import os; assert sorted(os.listdir(sys.argv[1])) == ["c1_mask.png", "e1_mask.png", "e2_mask.png"], os.listdir(sys.argv[1])' "$tmp/mixed_ff"
fi

if check run-fail-fast 1 "$clseg" run -d "$dev" --fail-fast -o "$tmp/ff" "$tmp/batch"; then
  contains run-fail-fast-names "a_truncated.png"
  absent run-fail-fast-stopped "$tmp/ff/b_good_mask.png" "$tmp/ff/a_truncated_mask.png"
fi
echo "a model? no" >"$tmp/model.safetensors"
check run-bad-model 1 "$clseg" run -d "$dev" -m "$tmp/model.safetensors" -o "$tmp/bm" "$astro" && contains run-bad-model "model.safetensors"
check run-unwritable 1 "$clseg" run -d "$dev" -o /dev/null/x "$astro" && contains run-unwritable "/dev/null/x"
check run-overlap-no-tile 2 "$clseg" run -d "$dev" --overlap 16 -o "$tmp/u" "$astro" && contains run-overlap-no-tile "--overlap needs --tile"
check run-threshold-range 2 "$clseg" run -d "$dev" --threshold 1.5 -o "$tmp/u" "$astro" && contains run-threshold-range "--threshold"
check run-threshold-text 2 "$clseg" run -d "$dev" --threshold abc -o "$tmp/u" "$astro"
check run-no-input 2 "$clseg" run -d "$dev" -o "$tmp/u" && contains run-no-input "no input"
check run-help 0 "$clseg" run --help && contains run-help "--tile SIZE"

# ---- clseg eval on hand-made masks ----
# tests/fixtures/cli/eval: pairs a (4x3) and b (2x2), 16 pixels, confusion (rows truth, columns predicted):
#   truth 0: [4, 1, 0]   truth 1: [1, 4, 1]   truth 2: [1, 0, 4]    columns sum to 6, 5, 5
# class 0: TP 4, FP 2, FN 1 -> IoU 4/7, Dice 8/11, precision 4/6, recall 4/5
# class 1: TP 4, FP 1, FN 2 -> IoU 4/7, Dice 8/11, precision 4/5, recall 4/6
# class 2: TP 4, FP 1, FN 1 -> IoU 4/6, Dice 8/10, precision 4/5, recall 4/5
# mean IoU (4/7 + 4/7 + 4/6) / 3 = 38/63; pixel accuracy 12/16
# F2 = 5 TP / (5 TP + 4 FN + FP): 20/26, 20/29, 20/25
if check eval-json 0 "$clseg" eval --pred "$fix/eval/pred" --truth "$fix/eval/truth" --json; then
  py eval-json-values 'r = json.loads(sys.stdin.read())
assert r["pairs"] == 2 and r["classes"] == 3 and r["pixels"] == 16, r
assert r["confusion"] == [[4, 1, 0], [1, 4, 1], [1, 0, 4]], r["confusion"]
c = r["per_class"]
for k, (iou, dice, p, rc) in enumerate([(4/7, 8/11, 4/6, 4/5), (4/7, 8/11, 4/5, 4/6), (4/6, 8/10, 4/5, 4/5)]):
    near(c[k]["iou"], iou); near(c[k]["dice"], dice); near(c[k]["fbeta"], dice)
    near(c[k]["precision"], p); near(c[k]["recall"], rc)
near(r["mean"]["iou"], 38/63); near(r["mean"]["dice"], (8/11 + 8/11 + 8/10) / 3); near(r["pixel_accuracy"], 0.75)' <<<"$stdout"
fi
if check eval-beta 0 "$clseg" eval --pred "$fix/eval/pred" --truth "$fix/eval/truth" --beta 2 --json; then
  py eval-beta-values 'r = json.loads(sys.stdin.read()); f = [c["fbeta"] for c in r["per_class"]]
near(f[0], 20/26); near(f[1], 20/29); near(f[2], 20/25); near(r["mean"]["fbeta"], (20/26 + 20/29 + 20/25) / 3)' <<<"$stdout"
fi
if check eval-table 0 "$clseg" eval --pred "$fix/eval/pred" --truth "$fix/eval/truth"; then
  contains eval-table-header "precision"
  contains eval-table-mean "0.6032"
  contains eval-table-matrix "confusion matrix"
fi
# tests/fixtures/cli/ignore: truth [0, 255, 1], prediction [0, 1, 0]; with --ignore 255 two pixels count:
# (truth 0, pred 0) and (truth 1, pred 0): classes 2; class 0 IoU 1/2, class 1 IoU 0; mean 1/4; accuracy 1/2
if check eval-ignore 0 "$clseg" eval --pred "$fix/ignore/pred" --truth "$fix/ignore/truth" --ignore 255 --json; then
  py eval-ignore-values 'r = json.loads(sys.stdin.read())
assert r["classes"] == 2 and r["pixels"] == 2 and r["ignore"] == 255, r
near(r["per_class"][0]["iou"], 0.5); near(r["per_class"][1]["iou"], 0.0); near(r["mean"]["iou"], 0.25)
near(r["pixel_accuracy"], 0.5)' <<<"$stdout"
fi
check eval-label-too-big 1 "$clseg" eval --pred "$fix/ignore/pred" --truth "$fix/ignore/truth" --classes 2 && contains eval-label-too-big "label 255"
check eval-classes-too-few 1 "$clseg" eval --pred "$fix/eval/pred" --truth "$fix/eval/truth" --classes 2
if check eval-size-mismatch 1 "$clseg" eval --pred "$fix/size/pred" --truth "$fix/size/truth"; then
  contains eval-size-pred "d_mask.png is 5x3"
  contains eval-size-truth "d.png is 4x3"
fi
mkdir -p "$tmp/truth_a"
cp "$fix/eval/truth/a.png" "$tmp/truth_a/"
check eval-missing-truth 1 "$clseg" eval --pred "$fix/eval/pred" --truth "$tmp/truth_a" && contains eval-missing-truth "b.png: no truth file"
check eval-missing-pred 1 "$clseg" eval --pred "$tmp/truth_a" --truth "$fix/eval/truth" && contains eval-missing-pred "b.png: no prediction file"
check eval-missing-dir 1 "$clseg" eval --pred "$tmp/nodir" --truth "$fix/eval/truth" && contains eval-missing-dir "nodir"
mkdir -p "$tmp/corrupt"
cp "$fix/eval/truth/a.png" "$tmp/corrupt/a.png"
head -c 40 "$fix/eval/truth/b.png" >"$tmp/corrupt/b.png"
check eval-corrupt 1 "$clseg" eval --pred "$fix/eval/pred" --truth "$tmp/corrupt" && contains eval-corrupt "corrupt/b.png"
mkdir -p "$tmp/dup"
cp "$fix/eval/pred/b.png" "$tmp/dup/b.png"
cp "$fix/eval/pred/b.png" "$tmp/dup/b_mask.png"
check eval-duplicate-key 1 "$clseg" eval --pred "$tmp/dup" --truth "$fix/eval/truth" && contains eval-duplicate-key "both pair as 'b'"
check eval-no-truth-opt 2 "$clseg" eval --pred "$fix/eval/pred"
check eval-pred-and-images 2 "$clseg" eval --pred "$fix/eval/pred" --images "$samples" --truth "$fix/eval/truth"
check eval-bad-beta 2 "$clseg" eval --pred "$fix/eval/pred" --truth "$fix/eval/truth" --beta -1
check eval-extra-arg 2 "$clseg" eval --pred "$fix/eval/pred" --truth "$fix/eval/truth" extra
check eval-help 0 "$clseg" eval --help && contains eval-help "--truth DIR"

# ---- clseg eval -m: segment the samples and score against masks `clseg run` wrote for them: all exact ----
if check eval-model 0 "$clseg" eval -d "$dev" --images "$samples" --truth "$tmp/folder" --json; then
  py eval-model-exact 'r = json.loads(sys.stdin.read())
assert r["pairs"] == 3 and r["classes"] == 2 and r["pixels"] == 512 * 512 + 451 * 300 + 600 * 400, r
assert r["per_class"][1]["name"] == "foreground", r["per_class"][1]
near(r["mean"]["iou"], 1.0); near(r["pixel_accuracy"], 1.0)' <<<"$stdout"
fi
# the same images at another threshold: still a valid score, now below 1 (assumes some pixels lie between)
if check eval-model-threshold 0 "$clseg" eval -d "$dev" --images "$samples" --truth "$tmp/folder" --threshold 0.05 --json; then
  py eval-model-threshold-lower 'r = json.loads(sys.stdin.read()); assert r["mean"]["iou"] < 1.0, r["mean"]' <<<"$stdout"
fi
check eval-model-threshold-zero 2 "$clseg" eval -d "$dev" --images "$samples" --truth "$tmp/folder" --threshold 0
check eval-model-missing-truth 1 "$clseg" eval -d "$dev" --images "$samples" --truth "$tmp/stdin" && contains eval-model-missing-truth "astronaut.png: no truth file"

# ONNX models: a symbolic input size needs --size; unsupported operators are all named at once
onnx="$src/tests/fixtures/onnx"
check onnx-dynamic-no-size 1 "$clseg" run -d "$dev" -m "$onnx/unet_dynamic_op17.onnx" -o "$tmp/onnx" "$astro" && contains onnx-dynamic-no-size "--size"
check onnx-dynamic-size 0 "$clseg" run -d "$dev" -m "$onnx/unet_dynamic_op17.onnx" --size 64x64 -o "$tmp/onnx" "$astro"
check onnx-unsupported 1 "$clseg" info -d "$dev" -m "$onnx/unsupported_ops.onnx" && contains onnx-unsupported "Det" && contains onnx-unsupported "Einsum" && contains onnx-unsupported "FusedConv"
check onnx-cycle 1 "$clseg" info -d "$dev" -m "$onnx/cycle_op13.onnx" && contains onnx-cycle "node 1 (Add 'cyc_a'): is on a cycle"
# ONNX attributes end to end (tests/test_onnx_attrs.c runs them all): ConvTranspose auto_pad SAME_UPPER on a
# raw tensor against onnxruntime's output; a refused Pad mode names node, attribute and value
attrs="$src/tests/fixtures/onnx_attrs"
if check onnx-convt-same-upper 0 "$clseg" run -d "$dev" -q -m "$attrs/convt_0_op11.onnx" --input-npy "$attrs/convt_0_op11.input.npy" --npy "$tmp/convt.npy"; then
  py onnx-convt-same-upper-values 'import struct
def load(p):
    b = open(p, "rb").read(); n = struct.unpack("<H", b[8:10])[0]
    return npy_shape(p), struct.unpack("<%df" % ((len(b) - 10 - n) // 4), b[10 + n:])
(s1, got), (s2, ref) = load(sys.argv[1]), load(sys.argv[2])
assert tuple(s1) == tuple(s2) == (1, 3, 10, 14), (s1, s2)
worst = max(abs(a - b) for a, b in zip(got, ref))
assert worst <= 1e-5, worst' "$tmp/convt.npy" "$attrs/convt_0_op11.ort.npy"
fi
# a model with three outputs: --npy FILE writes FILE (the main output) and FILE's stem .i.NAME.npy for the others,
# each equal to onnxruntime's; clseg info lists them
ops="$src/tests/fixtures/onnx_ops"
if check onnx-multi-output 0 "$clseg" run -d "$dev" -q -m "$ops/multi_output.onnx" --input-npy "$ops/multi_output.input.npy" --npy "$tmp/multi.npy"; then
  py onnx-multi-output-values 'import struct
def load(p):
    b = open(p, "rb").read(); n = struct.unpack("<H", b[8:10])[0]
    return npy_shape(p), struct.unpack("<%df" % ((len(b) - 10 - n) // 4), b[10 + n:])
d, ops = sys.argv[1], sys.argv[2]
for i, f in enumerate(["multi.npy", "multi.1.score.npy", "multi.2.features.npy"]):
    (s1, got), (s2, ref) = load(d + "/" + f), load("%s/multi_output.ort%d.npy" % (ops, i))
    assert tuple(s1) == tuple(s2), (f, s1, s2)
    assert max(abs(a - b) for a, b in zip(got, ref)) <= 1e-5, f' "$tmp" "$ops"
fi
check onnx-multi-output-info 0 "$clseg" info -d "$dev" -m "$ops/multi_output.onnx" && contains onnx-multi-output-info "2 features" && contains onnx-multi-output-info "OUT.2.features.npy"
check onnx-pad-wrap 1 "$clseg" info -d "$dev" -m "$attrs/pad_wrap_op19.onnx" && contains onnx-pad-wrap "node 0 (Pad 'n_pad_wrap_op19'): mode 'wrap' is unsupported"
check run-bad-size 2 "$clseg" run -d "$dev" --size 64 "$astro"
check run-size-fixed-model 2 "$clseg" run -d "$dev" -m selfie --size 64x32 -o "$tmp/fixed" "$astro" && contains run-size-fixed-model "fixed 256x256"
check info-size-fixed-model 2 "$clseg" info -d "$dev" --size 64x32 && contains info-size-fixed-model "fixed 256x256"
check bench-size-fixed-model 2 "$clseg" bench -d "$dev" --size 64x32 --runs 1 && contains bench-size-fixed-model "fixed 256x256"

# a class model (3 classes) gets a legend on its overlay: a panel darkened to a quarter in the top-left
# corner with white text on it, one swatch per class present other than 0 in its palette colour (VOC: class 1
# (128, 0, 0), class 2 (0, 128, 0)); --labels names them and must name every class
printf 'background\nsky\nground\n\n' >"$tmp/labels3.txt"
if check run-legend 0 "$clseg" run -d "$dev" -q --overlay --labels "$tmp/labels3.txt" -m "$fcn3" -o "$tmp/legend" "$astro"; then
  py run-legend-panel 'm = png_read(sys.argv[1])[4]; o = png_read(sys.argv[2])[4]
present = sorted(set(v for r in m for v in r) - {0}); assert present, "no class other than 0"
s = 2  # the legend scale for a 512x512 image: 1 + 512 // 400
colours = {1: [128, 0, 0], 2: [0, 128, 0]}
for r, k in enumerate(present):  # the swatch inside its white frame
    y, x = 3 * s + r * 11 * s + 3 * s, 3 * s + 3 * s
    assert o[y][3 * x:3 * x + 3] == colours[k], (k, o[y][3 * x:3 * x + 3])
    assert o[3 * s + r * 11 * s][3 * 3 * s:3 * 3 * s + 3] == [255, 255, 255], "frame"
text = [o[y][3 * x] for y in range(3 * s, 3 * s + 8 * s) for x in range(14 * s, 14 * s + 30 * s)]
assert text.count(255) > 50, text.count(255)' "$tmp/legend/astronaut_mask.png" "$tmp/legend/astronaut_overlay.png"
fi
printf 'one\ntwo\n' >"$tmp/labels2.txt"
check run-labels-count 2 "$clseg" run -d "$dev" --overlay --labels "$tmp/labels2.txt" -m "$fcn3" -o "$tmp/legend2" "$astro" && contains run-labels-count "names 2 classes; the model has 3"
check run-labels-binary 2 "$clseg" run -d "$dev" -m selfie --labels "$tmp/labels2.txt" -o "$tmp/legend2" "$astro" && contains run-labels-binary "more than two classes"
check run-labels-missing 1 "$clseg" run -d "$dev" --labels "$tmp/nolabels.txt" -m "$fcn3" -o "$tmp/legend2" "$astro" && contains run-labels-missing "nolabels.txt"
absent run-labels-no-output "$tmp/legend2/astronaut_mask.png"

# --low-memory: the same segmentation from the smaller-weight conv variants (outputs checked by test_graph)
fcn="$src/tests/fixtures/models/fcn_resnet18_os8.safetensors"
check run-low-memory 0 "$clseg" run -d "$dev" --low-memory -m "$fcn" -o "$tmp/lowmem" "$astro"
[ -s "$tmp/lowmem/astronaut_mask.png" ] || { echo "FAIL run-low-memory: no mask"; fails=$((fails + 1)); }
check bench-low-memory 0 "$clseg" bench -d "$dev" --low-memory -m "$fcn" --runs 1 --warmup 0 && contains bench-low-memory "warm"

# a U-Net with CBAM, attention gates and scSE at once (attention "combined"), straight from its clseg_torch export
# with no other flag: its layers, a mask, and on the fixture's own batch-2 input PyTorch's output (atol = rtol = 1e-4,
# as test_models)
comb="$src/tests/fixtures/models/unet_combined"
check info-unet-combined 0 "$clseg" info -d "$dev" -m "$comb.safetensors" --layers && contains info-unet-combined "encoder.2.cbam.spatial" && contains info-unet-combined "decoder.0.gate" && contains info-unet-combined "decoder.1.scse"
if check run-unet-combined 0 "$clseg" run -d "$dev" -q -m "$comb.safetensors" -o "$tmp/comb" "$astro"; then
  py run-unet-combined-mask 'w, h, _, _, rows = png_read(sys.argv[1]); assert (w, h) == (512, 512), (w, h)
assert set(v for r in rows for v in r) <= {0, 1}' "$tmp/comb/astronaut_mask.png"
fi
clsf_arrays='import struct
def clsf(p):  # tests/fixtures/README.md: "CLSF", version, params text, then named float32 arrays
    b = open(p, "rb").read(); pos = 12 + struct.unpack("<I", b[8:12])[0]; out = {}
    count, pos = struct.unpack("<I", b[pos:pos + 4])[0], pos + 4
    for _ in range(count):
        n = struct.unpack("<I", b[pos:pos + 4])[0]; name = b[pos + 4:pos + 4 + n].decode(); pos += 4 + n
        nd = struct.unpack("<I", b[pos:pos + 4])[0]; shape = struct.unpack("<%dq" % nd, b[pos + 4:pos + 4 + 8 * nd])
        pos += 4 + 8 * nd; count = 1
        for d in shape:
            count *= d
        out[name] = shape, b[pos:pos + 4 * count]; pos += 4 * count
    return out
'
py unet-combined-input "$clsf_arrays"'shape, data = clsf(sys.argv[1])["x"]
hdr = "{\x27descr\x27: \x27<f4\x27, \x27fortran_order\x27: False, \x27shape\x27: %r, }" % (tuple(shape),)
hdr += " " * (63 - (10 + len(hdr)) % 64) + "\n"
open(sys.argv[2], "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + data)' "$comb.clsf" "$tmp/comb_x.npy"
if check run-unet-combined-npy 0 "$clseg" run -d "$dev" -q -m "$comb.safetensors" --input-npy "$tmp/comb_x.npy" --npy "$tmp/comb_y.npy"; then
  py run-unet-combined-values "$clsf_arrays"'shape, ref = clsf(sys.argv[1])["y"]; b = open(sys.argv[2], "rb").read()
assert tuple(npy_shape(sys.argv[2])) == tuple(shape) == (2, 2, 16, 32), (npy_shape(sys.argv[2]), shape)
got, ref = struct.unpack("<%df" % (len(ref) // 4), b[-len(ref):]), struct.unpack("<%df" % (len(ref) // 4), ref)
bad = [(i, g, r) for i, (g, r) in enumerate(zip(got, ref)) if abs(g - r) > 1e-4 + 1e-4 * abs(r)]
assert not bad, bad[:5]' "$comb.clsf" "$tmp/comb_y.npy"
fi

# SegFormer (B0's depths, heads and spatial reductions at small widths) and DANet (ResNet-18 width 4) the same way:
# straight from their clseg_torch exports, layers named as clseg_torch's modules, a mask, and PyTorch's output on
# the fixture's batch-2 input (atol = rtol = 1e-4, as test_models)
for spec in "segformer_b0_tiny backbone.block4.1.attn decode_head.linear_c1.proj" \
            "danet_resnet18_os8 head.sa head.conv52.0"; do
  read -r net layer1 layer2 <<<"$spec"
  nf="$src/tests/fixtures/models/$net"
  check "info-$net" 0 "$clseg" info -d "$dev" -m "$nf.safetensors" --layers && contains "info-$net" "$layer1" && contains "info-$net" "$layer2"
  if check "run-$net" 0 "$clseg" run -d "$dev" -q -m "$nf.safetensors" -o "$tmp/$net" "$astro"; then
    py "run-$net-mask" 'w, h, _, _, rows = png_read(sys.argv[1]); assert (w, h) == (512, 512), (w, h)
assert set(v for r in rows for v in r) <= {0, 1}' "$tmp/$net/astronaut_mask.png"
  fi
  py "$net-input" "$clsf_arrays"'shape, data = clsf(sys.argv[1])["x"]
hdr = "{\x27descr\x27: \x27<f4\x27, \x27fortran_order\x27: False, \x27shape\x27: %r, }" % (tuple(shape),)
hdr += " " * (63 - (10 + len(hdr)) % 64) + "\n"
open(sys.argv[2], "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + data)' "$nf.clsf" "$tmp/${net}_x.npy"
  if check "run-$net-npy" 0 "$clseg" run -d "$dev" -q -m "$nf.safetensors" --input-npy "$tmp/${net}_x.npy" --npy "$tmp/${net}_y.npy"; then
    py "run-$net-values" "$clsf_arrays"'shape, ref = clsf(sys.argv[1])["y"]; b = open(sys.argv[2], "rb").read()
assert tuple(npy_shape(sys.argv[2])) == tuple(shape) and shape[0] == 2, (npy_shape(sys.argv[2]), shape)
got, ref = struct.unpack("<%df" % (len(ref) // 4), b[-len(ref):]), struct.unpack("<%df" % (len(ref) // 4), ref)
bad = [(i, g, r) for i, (g, r) in enumerate(zip(got, ref)) if abs(g - r) > 1e-4 + 1e-4 * abs(r)]
assert not bad, bad[:5]' "$nf.clsf" "$tmp/${net}_y.npy"
  fi
done

# clseg tune: writes the device's tuning file in the cache folder (a fresh one here, so that the other tests keep
# the shipped rows), which devices --verbose then names, and which later plans read; refused under a profile.
unet="$src/tests/fixtures/models/unet_cbam_bilinear.safetensors"
tcache="$tmp/tune-cache"
tfile=""; kept=""
if check tune-json 0 env CLSEG_CACHE_DIR="$tcache" "$clseg" tune -d "$dev" -m "$unet" --size 32x32 --budget 20 --runs 2 --rounds 1 --json; then
  py tune-json-fields 'r = json.loads(sys.stdin.read())
assert r["shapes"] > 0 and r["measured"] > 0 and r["candidates"] > 0 and r["rejected"] == 0, r
assert r["net_ms_rows"] > 0 and r["net_ms_tuned"] > 0 and r["file"].startswith(sys.argv[1]), r
import os
# the file is kept only when the network ran faster with it; else it is as before (here: none)
assert (open(r["file"]).readline().startswith("# clseg tuning file v1") if r["kept"] or r["tuned"] == 0
        else not os.path.exists(r["file"])), r' "$tcache" <<<"$stdout"
  tfile=$(python3 -c 'import json, sys; print(json.loads(sys.stdin.read())["file"])' <<<"$stdout")
  kept=$(python3 -c 'import json, os, sys; print(os.path.exists(json.loads(sys.stdin.read())["file"]))' <<<"$stdout")
fi
check tune-devices-file 0 env CLSEG_CACHE_DIR="$tcache" "$clseg" devices --verbose && contains tune-devices-file "$tfile" && contains tune-devices-file "conv2d_vec"
[ "$kept" = True ] && contains tune-devices-file "(present)"
check tune-profile-refused 1 env CLSEG_CACHE_DIR="$tcache" CLSEG_AS_DEVICE=cpu-avx2 "$clseg" tune -d "$dev" -m "$unet" --size 32x32 && contains tune-profile-refused "unset CLSEG_AS_DEVICE"
check tune-bad-budget 2 "$clseg" tune -d "$dev" -m "$unet" --budget soon && contains tune-bad-budget "--budget 'soon'"
printf 'conv2d_vec\t*\tMR=4\tBOGUS=1\n' >"${tfile:-$tcache/missing.tsv}"
check tune-file-malformed 1 env CLSEG_CACHE_DIR="$tcache" "$clseg" info -d "$dev" -m "$unet" --size 32x32 && contains tune-file-malformed ":1: unknown key 'BOGUS' for conv2d_vec"
check tune-file-off 0 env CLSEG_CACHE_DIR="$tcache" CLSEG_TUNING=off "$clseg" info -d "$dev" -m "$unet" --size 32x32

# the plan's kernel list: every program with its options and local sizes, as JSON gpu-static reads; a GPU
# profile plans GPU rows
if check info-kernels-json 0 env CLSEG_AS_DEVICE=nvidia-sm90 "$clseg" info -d "$dev" -m "$unet" --size 32x32 --kernels --json; then
  py info-kernels-json-list 'jobs = json.loads(sys.stdin.read())
assert jobs and all(j["file"].startswith("cl/") and "options" in j and j["kernels"] for j in jobs), jobs
assert any(j["file"] == "cl/conv_gemm.cl" and "-DMWG=" in j["options"] for j in jobs), jobs
assert all(k["local_size"][0] > 0 for j in jobs for k in j["kernels"]), jobs' <<<"$stdout"
fi
check info-layers-tuning 0 "$clseg" info -d "$dev" -m "$unet" --size 32x32 --layers && contains info-layers-tuning "tuning  cl/tuning/conv.tsv:"

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
