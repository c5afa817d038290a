#!/usr/bin/env python3
"""Prints which lib/ source files call into which others; fails on a dependency cycle (stdlib only).

usage: deps.py [--nm NM] [BUILD_DIR]      (BUILD_DIR defaults to ./build; NM to $NM, else nm)

How the edges are found: from the compiled objects, not from the sources. BUILD_DIR/compile_commands.json
names each lib/**/*.c file and its object; `nm -P` of each object lists the global symbols it defines
and the ones it leaves undefined. File A depends on file B when A leaves undefined a symbol that B
defines: a call, or the address of a function or table taken. Static functions and inline helpers from
headers make no edges, which is what we want (they link no two .c files); macros are invisible, and so
is a call the compiler removed as dead code. A `#include "x.c"` between lib files counts as an edge too.
The objects must be built first (the meson test `deps` depends on the library).

Output: one line per lib file, `file -> dep, dep` (`-> (none)` for leaves), sorted. Exit status 1,
naming each cycle with the symbols on every edge of it, when the files do not depend one way (an
acyclic graph); 2 on a usage or tool error.
"""
import json
import os
import re
import subprocess
import sys

INCLUDE_C = re.compile(r'^\s*#\s*include\s+"([^"]+\.c)"', re.M)


def usage(msg):
    print("deps.py: " + msg, file=sys.stderr)
    sys.exit(2)


def source_root(build):
    """The source tree of a meson build dir (meson-info), else the build dir's parent."""
    try:
        with open(os.path.join(build, "meson-info", "meson-info.json")) as f:
            return json.load(f)["directories"]["source"]
    except (OSError, ValueError, KeyError):
        return os.path.dirname(os.path.abspath(build))


def lib_objects(build):
    """(source root, {lib/... path: object path}) for the C files under the source's lib/."""
    root = source_root(build)
    lib = os.path.join(root, "lib") + os.sep
    try:
        with open(os.path.join(build, "compile_commands.json")) as f:
            entries = json.load(f)
    except (OSError, ValueError) as e:
        usage("cannot read %s/compile_commands.json (%s)" % (build, e))
    objs = {}
    for e in entries:
        src = os.path.normpath(os.path.join(e["directory"], e["file"]))
        if not src.startswith(lib) or not src.endswith(".c"):
            continue
        rel = os.path.relpath(src, root).replace(os.sep, "/")
        # one object per source: the library's own (clseg_internal), not a rebuild for another target
        if rel not in objs or "clseg_internal" in e["output"]:
            objs[rel] = os.path.join(e["directory"], e["output"])
    if not objs:
        usage("no lib/ sources in %s/compile_commands.json" % build)
    return root, objs


def symbols(nm, obj):
    """(defined globals, undefined) of one object, from `nm -P`."""
    try:
        out = subprocess.run([nm, "-P", obj], check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        usage("%s -P %s failed (%s); build first" % (nm, obj, e))
    defined, undefined = set(), set()
    for line in out.splitlines():
        f = line.split()
        if len(f) < 2:
            continue
        if f[1] == "U":
            undefined.add(f[0])
        elif f[1] in ("T", "D", "B", "R", "C", "G", "S", "V", "W"):  # global definitions
            defined.add(f[0])
    return defined, undefined


def edges_of(root, objs, nm):
    """{file: {dep: sorted symbols}}."""
    owner, undef = {}, {}
    for src, obj in sorted(objs.items()):
        defined, undefined = symbols(nm, obj)
        undef[src] = undefined
        for s in defined:
            owner.setdefault(s, src)
    edges = {src: {} for src in objs}
    for src, undefined in undef.items():
        for s in undefined:
            dep = owner.get(s)
            if dep and dep != src:
                edges[src].setdefault(dep, []).append(s)
        try:
            with open(os.path.join(root, src), errors="replace") as f:
                text = f.read()
        except OSError:
            text = ""
        for inc in INCLUDE_C.findall(text):
            for cand in (os.path.join(os.path.dirname(src), inc), os.path.join("lib", inc)):
                cand = os.path.normpath(cand).replace(os.sep, "/")
                if cand in edges and cand != src:
                    edges[src].setdefault(cand, []).append("#include")
                    break
    for src in edges:
        for dep in edges[src]:
            edges[src][dep].sort()
    return edges


def components(edges):
    """Strongly connected components of more than one file (Tarjan, iterative)."""
    index, low, onstack, stack, out, counter = {}, {}, set(), [], [], [0]
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        onstack.add(start)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    onstack.add(w)
                    work.append((w, iter(sorted(edges[w]))))
                elif w in onstack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    onstack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def a_cycle(edges, comp):
    """One cycle through the first file of a component: breadth-first back to it, inside comp."""
    first, inside = comp[0], set(comp)
    prev, queue = {first: None}, [first]
    while queue:
        v = queue.pop(0)
        for w in sorted(edges[v]):
            if w == first:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return path[::-1] + [first]
            if w in inside and w not in prev:
                prev[w] = v
                queue.append(w)
    return comp + [first]


def main(argv):
    nm = os.environ.get("NM", "nm")
    args = list(argv)
    if args[:1] == ["--nm"]:
        if len(args) < 2:
            usage("--nm needs a program")
        nm, args = args[1], args[2:]
    if len(args) > 1 or (args and args[0].startswith("-")):
        usage("usage: deps.py [--nm NM] [BUILD_DIR]")
    root, objs = lib_objects(args[0] if args else "build")
    edges = edges_of(root, objs, nm)
    for src in sorted(edges):
        print("%s -> %s" % (src, ", ".join(sorted(edges[src])) or "(none)"))
    comps = components(edges)
    for comp in comps:
        path = a_cycle(edges, comp)
        steps = ["%s -> %s (%s)" % (a, b, ", ".join(edges[a][b][:3]) + (
            ", ..." if len(edges[a][b]) > 3 else "")) for a, b in zip(path, path[1:])]
        print("cycle among %s:\n  %s" % (", ".join(comp), "\n  ".join(steps)), file=sys.stderr)
    return 1 if comps else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
