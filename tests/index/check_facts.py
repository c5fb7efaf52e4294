#!/usr/bin/env python3
"""check_facts.py OUTPUT JSON -- the three views of the index fixture agree.

OUTPUT is what the fixture printed: "P|key|value" (the compiler's layout, seen
by the program) and "R|key|value" (the runtime loader's index). JSON is
`hop index --json` of the same executable. Every key must have the same value
in all three (keys the JSON form does not carry, hints, are checked P == R).
Also checks the JSON form's schema: exactly the specified keys.
"""
import json
import sys

KINDS = {"base", "enum", "pointer", "array", "struct", "union", "function"}
errors = []


def err(msg):
    errors.append(msg)


def check_schema(d):
    if set(d) != {"target", "types", "variables", "functions", "points"}:
        err("top-level keys are %s" % sorted(d))
    t = d["target"]
    if set(t) != {"arch", "pointer_size", "endian", "long_double"}:
        err("target keys are %s" % sorted(t))
    if t.get("endian") not in ("little", "big"):
        err("endian is %r" % t.get("endian"))
    names = set()
    for ty in d["types"]:
        for k in ("name", "kind", "size", "members"):
            if k not in ty:
                err("type %r lacks %r" % (ty, k))
        if ty["kind"] not in KINDS:
            err("type %s has kind %r" % (ty["name"], ty["kind"]))
        if not isinstance(ty["size"], int):
            err("type %s size %r" % (ty["name"], ty["size"]))
        names.add(ty["name"])
    for ty in d["types"]:
        for m in ty["members"]:
            keys = set(m)
            if keys not in ({"name", "offset", "type"}, {"name", "offset", "type", "bit_offset", "bit_size"}):
                err("member %s.%s has keys %s" % (ty["name"], m.get("name"), sorted(keys)))
            if m.get("type") not in names:
                err("member %s.%s has unlisted type %r" % (ty["name"], m.get("name"), m.get("type")))
            if not m.get("name"):
                err("member of %s has no name" % ty["name"])
            if "bit_offset" in m and m["offset"] != m["bit_offset"] // 8:
                err("bit-field %s.%s: offset %d is not bit_offset/8" % (ty["name"], m["name"], m["offset"]))
    for v in d["variables"]:
        if set(v) != {"name", "type", "size", "address"}:
            err("variable keys %s" % sorted(v))
        if v["type"] not in names:
            err("variable %s has unlisted type %r" % (v["name"], v["type"]))
        if not isinstance(v["address"], int):
            err("variable %s address %r" % (v["name"], v["address"]))
    for f in d["functions"]:
        if set(f) != {"name", "address"} or not isinstance(f["address"], int):
            err("function %r" % f)
    for p in d["points"]:
        if set(p) != {"name"}:
            err("point %r" % p)
    # one entry per distinct type: the fixture's types are all distinct by name
    seen = {}
    for ty in d["types"]:
        if ty["name"] in seen:
            err("type %s listed twice (dedup across compilation units failed)" % ty["name"])
        seen[ty["name"]] = ty


def json_facts(d):
    """The JSON's value for every key the fixture may print."""
    f = {}
    t = d["target"]
    for k in ("arch", "pointer_size", "endian", "long_double"):
        f["target|" + k] = str(t[k])
    funcs = {}
    for fn in d["functions"]:
        funcs.setdefault(fn["name"], fn["address"])
    anchor = funcs.get("hop_init")
    if anchor is None:
        err("JSON lists no function hop_init")
        anchor = 0
    for ty in d["types"]:
        n = ty["name"]
        f["size|" + n] = str(ty["size"])
        if "count" in ty:
            f["count|" + n] = str(ty["count"])
        if "encoding" in ty:
            f["enc|" + n] = ty["encoding"]
        for m in ty["members"]:
            key = "%s.%s" % (n, m["name"])
            f["offset|" + key] = str(m["offset"])
            f["mtype|" + key] = m["type"]
            if "bit_offset" in m:
                f["bits|" + key] = "%d %d" % (m["bit_offset"], m["bit_size"])
    for v in d["variables"]:
        f["addr|" + v["name"]] = str(v["address"] - anchor)
        f["vsize|" + v["name"]] = str(v["size"])
        f["vtype|" + v["name"]] = v["type"]
    for name, a in funcs.items():
        f["func|" + name] = str(a - anchor)
    for p in d["points"]:
        f["point|" + p["name"]] = "yes"
    return f


def main():
    out, js = sys.argv[1], sys.argv[2]
    with open(js) as fh:
        d = json.load(fh)
    check_schema(d)
    jf = json_facts(d)
    p, r = {}, {}
    with open(out) as fh:
        for line in fh:
            line = line.rstrip("\n")
            if not line[:2] in ("P|", "R|"):
                continue
            key, val = line[2:].rsplit("|", 1)
            (p if line[0] == "P" else r)[key] = val
    if len(p) < 150:
        err("only %d facts printed: the fixture stopped early?" % len(p))
    for key, val in p.items():
        if r.get(key) != val:
            err("%s: program %s, runtime index %s" % (key, val, r.get(key)))
        if key.startswith("hint|"):
            continue
        if jf.get(key) != val:
            err("%s: program %s, hop index --json %s" % (key, val, jf.get(key)))
    for e in errors:
        print("MISMATCH " + e)
    print("%d facts, %d mismatches" % (len(p), len(errors)))
    sys.exit(1 if errors else 0)


main()
