#!/usr/bin/python3
# Writes tests/fixtures/cli/: tiny hand-made class masks for tests/test_cli_run.sh (clseg eval).
# Run with Debian's /usr/bin/python3 and its python3-numpy + python3-pil:  /usr/bin/python3 tools/make_cli_fixtures.py
# The expected metrics are worked out by hand in tests/test_cli_run.sh next to the checks that use them.
import os
import shutil

import numpy as np
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "cli")


def save(rel, rows, mode):
    """Saves a class mask: mode 'L' (8-bit gray values) or 'P' (palette indices, VOC-like colours)."""
    path = os.path.join(ROOT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    img = Image.fromarray(np.array(rows, dtype=np.uint8), mode="L")
    if mode == "P":
        img = img.convert("P")  # a gray-to-palette copy keeps the values as indices
        palette = [0, 0, 0, 128, 0, 0, 0, 128, 0] + [0] * (3 * 253)
        palette[3 * 255:3 * 256] = [224, 224, 192]
        img.putpalette(palette)
    img.save(path)


def main():
    shutil.rmtree(ROOT, ignore_errors=True)
    # two pairs, 3 classes; prediction a as a palette PNG named like `clseg run` output, the rest mixed
    save("eval/truth/a.png", [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 2, 2]], "L")
    save("eval/pred/a_mask.png", [[0, 1, 1, 1], [0, 0, 1, 0], [2, 2, 0, 2]], "P")
    save("eval/truth/b.png", [[1, 1], [2, 0]], "P")
    save("eval/pred/b.png", [[1, 2], [2, 0]], "L")
    # an ignored truth label (255, PASCAL VOC's "void")
    save("ignore/truth/c.png", [[0, 255, 1]], "L")
    save("ignore/pred/c.png", [[0, 1, 0]], "P")
    # a prediction 5x3 against a truth 4x3
    save("size/truth/d.png", [[0, 0, 1, 1]] * 3, "L")
    save("size/pred/d_mask.png", [[0, 0, 1, 1, 1]] * 3, "P")
    with open(os.path.join(ROOT, "README.md"), "w") as f:
        f.write("# CLI fixtures\n\nTiny class masks for `tests/test_cli_run.sh` (clseg eval). Do not edit by hand: "
                "regenerate with\n\n    /usr/bin/python3 tools/make_cli_fixtures.py\n")


if __name__ == "__main__":
    main()
