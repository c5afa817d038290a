#!/usr/bin/env python3
"""How the plans clseg makes for GPUs fit them, checked without a GPU (stdlib only).

For each GPU device profile (CLSEG_AS_DEVICE) and each model, `clseg info --kernels --json` lists the programs
the plan builds with that profile's tuning rows; ../shared/tools/gpu-static compiles them for the profile's
architecture (LLVM's NVPTX / AMDGPU back ends, NVIDIA's ptxas) and reports registers, spills, lanes used,
occupancy and local memory per kernel. This prints one row per (profile, kernel, options) and the criteria of
issue 16: zero spilled bytes, work-groups that fill whole warps/waves, occupancy >= 25%, local memory <= 48 KiB.

usage: gpu_fit.py [--clseg BIN] [--gpu-static PATH] [--profiles a,b] [--size WxH] [--markdown FILE]
                  [--fail-on spill|all] [--full] MODEL[@WxH]...
Exit status: 0, or 1 when --fail-on finds a violation; 77 when gpu-static is missing or not set up (a test skip).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = {"nvidia-sm80": "sm_80", "nvidia-sm90": "sm_90", "amd-gfx906": "gfx906", "amd-gfx90a": "gfx90a",
          "amd-gfx1030": "gfx1030"}
LOCAL_LIMIT = 48 * 1024


def plan_jobs(clseg, profile, model, size):
    if "@" in model:  # MODEL@WxH: this model's own size
        model, size = model.rsplit("@", 1)
    env = dict(os.environ, CLSEG_AS_DEVICE=profile)
    cmd = [clseg, "info", "-m", model, "--kernels", "--json"] + (["--size", size] if size else [])
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("gpu_fit: %s failed: %s" % (" ".join(cmd), r.stderr.strip()))
    return json.loads(r.stdout)


def analyse(gpu_static, jobs, target, cache):
    """gpu-static's results for jobs. Its result cache is keyed by options and target but not by file, so two
    files built with the same options would share results: each file gets a cache folder of its own (under
    ours), which shares the tool's ptxas download."""
    out = []
    for fname in sorted({j["file"] for j in jobs}):
        own = os.path.join(os.path.expanduser("~/.cache/clseg-gpu-fit"), fname.replace("/", "_"))
        os.makedirs(own, exist_ok=True)
        if not os.path.exists(os.path.join(own, "nvidia")):
            os.symlink(os.path.join(cache, "nvidia"), os.path.join(own, "nvidia"))
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump([dict(j, file=os.path.join(ROOT, j["file"])) for j in jobs if j["file"] == fname], f)
        try:
            r = subprocess.run([gpu_static, "--targets", target, "--jobs", f.name, "--json"], capture_output=True,
                               text=True, env=dict(os.environ, GPU_STATIC_CACHE=own))
        finally:
            os.remove(f.name)
        got = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
        if not got:
            sys.exit("gpu_fit: gpu-static gave no result for %s: %s" % (fname, r.stderr.strip() or r.stdout.strip()))
        out += got
    return out


def verdict(r):
    bad = []
    if "error" in r:
        return ["compile error: " + r["error"]]
    if r["spill"] > 0:
        bad.append("spills %d B" % r["spill"])
    if r["lanes"] < 1.0:
        bad.append("lanes %.0f%%" % (100 * r["lanes"]))
    if r["occupancy"] < 0.25:
        bad.append("occupancy %.0f%%" % (100 * r["occupancy"]))
    if r["local_mem"] > LOCAL_LIMIT:
        bad.append("local %d B" % r["local_mem"])
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--clseg", default=os.path.join(ROOT, "build", "apps", "clseg"))
    ap.add_argument("--gpu-static", default=os.environ.get("GPU_STATIC",
                                                           os.path.join(ROOT, "..", "shared", "tools", "gpu-static")))
    ap.add_argument("--profiles", default=",".join(TARGET))
    ap.add_argument("--size", help="input size for models of free size (WxH)")
    ap.add_argument("--markdown", help="write the report as Markdown")
    ap.add_argument("--fail-on", choices=["spill", "all"], help="exit 1 on spills, or on any criterion")
    ap.add_argument("--full", action="store_true", help="one row per kernel build (options) instead of per kernel")
    a = ap.parse_args()
    cache = os.path.expanduser(os.environ.get("GPU_STATIC_CACHE", "~/.cache/gpu-static"))
    if not os.access(a.gpu_static, os.X_OK) or not os.path.isdir(os.path.join(cache, "nvidia")):
        print("gpu_fit: %s missing or not set up (gpu-static --setup); skipped" % a.gpu_static)
        return 77
    rows, seen = [], set()
    for profile in a.profiles.split(","):
        jobs = {}
        for model in a.models:
            for j in plan_jobs(a.clseg, profile, model, a.size):
                jobs.setdefault((j["file"], j["options"]), j)
        used = {(os.path.basename(f), o): {k["name"] for k in j["kernels"]} for (f, o), j in jobs.items()}
        for r in analyse(a.gpu_static, list(jobs.values()), TARGET[profile], cache):
            key = (profile, r.get("kernel"), r.get("options"))
            names = used.get((os.path.basename(r.get("file", "")), r.get("options")))
            if key in seen or ("kernel" in r and names is not None and r["kernel"] not in names):
                continue  # a kernel of the file that the plan does not launch
            seen.add(key)
            rows.append(dict(r, profile=profile))
    nspill = nbad = 0
    for r in rows:
        bad = verdict(r)
        nbad += bool(bad)
        nspill += "error" in r or r.get("spill", 0) > 0
    if a.full:
        lines = ["| profile | kernel | wg | lanes | regs | spill B | local B | occupancy | verdict | options |",
                 "|---|---|---|---|---|---|---|---|---|---|"]
        for r in sorted(rows, key=lambda r: (r["profile"], r.get("kernel", ""), r.get("options", ""))):
            bad = verdict(r)
            if "error" in r:
                lines.append("| %s | %s | - | - | - | - | - | - | %s | `%s` |" % (
                    r["profile"], r.get("file"), "; ".join(bad), r.get("options", "")))
                continue
            lines.append("| %s | %s | %s | %.0f%% | %d | %d | %d | %.0f%% | %s | `%s` |" % (
                r["profile"], r["kernel"], r["wg"] or "?", 100 * r["lanes"], r["regs"], r["spill"],
                r["local_mem"], 100 * r["occupancy"], "; ".join(bad) or "ok", r["options"]))
    else:  # one line per (profile, kernel): the worst of its builds
        lines = ["| profile | kernel | builds | wg | lanes (min) | regs (max) | spill B (max) | local B (max) | "
                 "occupancy (min) | verdict |", "|---|---|---|---|---|---|---|---|---|---|"]
        groups = {}
        for r in rows:
            groups.setdefault((r["profile"], r.get("kernel", r.get("file"))), []).append(r)
        for (prof, kern), rs in sorted(groups.items()):
            ok = [r for r in rs if "error" not in r]
            bad = sorted({b for r in rs for b in verdict(r)})
            if not ok:
                lines.append("| %s | %s | %d | - | - | - | - | - | - | %s |" % (prof, kern, len(rs), "; ".join(bad)))
                continue
            wgs = sorted({str(r["wg"] or "?") for r in ok})
            lines.append("| %s | %s | %d | %s | %.0f%% | %d | %d | %d | %.0f%% | %s |" % (
                prof, kern, len(rs), ",".join(wgs), 100 * min(r["lanes"] for r in ok), max(r["regs"] for r in ok),
                max(r["spill"] for r in ok), max(r["local_mem"] for r in ok),
                100 * min(r["occupancy"] for r in ok), "; ".join(bad) or "ok"))
    summary = "%d kernel builds over %d profiles: %d meet every criterion, %d spill or fail to compile" % (
        len(rows), len(a.profiles.split(",")), len(rows) - nbad, nspill)
    print("\n".join(lines))
    print("\n" + summary)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write("\n".join(lines) + "\n\n" + summary + "\n")
    if a.fail_on == "spill" and nspill:
        return 1
    if a.fail_on == "all" and nbad:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
