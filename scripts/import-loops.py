#!/usr/bin/env python3
"""Lists import loops between the modules of a crate's source folder, and
exits 1 when there is one. A module is a file (`mod.rs` stands for its
folder); an edge is any `crate::…`, `super::…` or child-module path it
names outside its tests. Usage: import-loops.py crates/server/src"""
import os
import re
import sys


def module_of(root, path):
    parts = os.path.relpath(path, root)[:-3].split("/")
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return "::".join(parts) or "crate"


def edges(root):
    found = {}
    for folder, _, files in os.walk(root):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(folder, name)
            me = module_of(root, path)
            source = open(path, encoding="utf-8").read().split("#[cfg(test)]")[0]
            parent = "::".join(me.split("::")[:-1]) or "crate"
            deps = set(re.findall(r"crate::([a-z_][a-z_0-9]*(?:::[a-z_][a-z_0-9]*)*)", source))
            if re.search(r"\bsuper::(\{|[A-Z])", source):
                deps.add(parent)
            for child in re.findall(r"\bsuper::([a-z_][a-z_0-9]*)", source):
                deps.add(child if parent == "crate" else f"{parent}::{child}")
            for child in re.findall(r"^(?:pub(?:\([a-z]+\))? )?mod ([a-z_0-9]+);", source, flags=re.M):
                rest = re.sub(rf"mod {child};", "", source)
                if re.search(rf"\b(self::)?{child}::", rest):
                    deps.add(child if me == "crate" else f"{me}::{child}")
            found[me] = deps
    modules = set(found)
    graph = {}
    for me, deps in found.items():
        for dep in deps:
            while dep not in modules and "::" in dep:
                dep = dep.rsplit("::", 1)[0]
            if dep in modules and dep != me:
                graph.setdefault(me, set()).add(dep)
    return modules, graph


def loops(modules, graph):
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(modules):
        if v not in index:
            visit(v)
    return found


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "crates/server/src"
    modules, graph = edges(root)
    found = loops(modules, graph)
    for component in found:
        print(f"import loop in {root}: " + ", ".join(component))
        for module in component:
            print(f"  {module} -> {', '.join(sorted(d for d in graph.get(module, ()) if d in component))}")
    if found:
        sys.exit(1)
    print(f"{root}: {len(modules)} modules, no import loop")


main()
