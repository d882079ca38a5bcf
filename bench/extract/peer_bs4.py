#!/usr/bin/env python3
"""Peer for bench/extract: BeautifulSoup + lxml applying dragnet's own market
profiles (the same TOML files: detect rules, page types, record and field
rules) to the same pages. It mirrors crates/extract/src/engine.rs rule for
rule, so both sides do the same work; it does not run the generic identifier
extractors (PGP, coin addresses), which dragnet does on every page, so the
comparison is conservative for dragnet.

Usage: peer_bs4.py PROFILES_DIR FILE... ; prints one JSON line of totals.
"""
import json
import re
import sys
import time
import tomllib
from pathlib import Path

from bs4 import BeautifulSoup

WS = re.compile(r"[ \t\n\r\x0c\xa0]+")


def norm(s):
    return WS.sub(" ", s).strip()


def text(el):
    return norm(" ".join(el.strings))


def py_regex(p):
    """Rust regex syntax -> Python: named groups `(?<v>` become `(?P<v>`."""
    return re.sub(r"\(\?<([A-Za-z_]\w*)>", r"(?P<\1>", p)


def py_repl(r):
    """Rust replacement `$1`/`${1}`/`$v` -> Python `\g<1>`."""
    return re.sub(r"\$\{?(\w+)\}?", r"\\g<\1>", r)


def fix(obj):
    if isinstance(obj, dict):
        return {k: (py_regex(v) if k in ("regex", "title", "url") and isinstance(v, str) else fix(v)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [fix(x) for x in obj]
    return obj


def load_profiles(d):
    out = []
    for f in sorted(Path(d).glob("*.toml")):
        p = fix(tomllib.loads(f.read_text()))
        for r in p.get("records", []):
            for fld in r.get("fields", {}).values():
                fld["replace"] = [[py_regex(a), py_repl(b)] for a, b in fld.get("replace", [])]
        out.append(p)
    return out


def holds(c, soup, raw, title, url):
    if "title" in c and not re.search(c["title"], title):
        return False
    if "url" in c and not (url and re.search(c["url"], url)):
        return False
    sel, rx = c.get("selector"), c.get("regex")
    if sel and rx:
        r = re.compile(rx)
        return any(r.search(text(e)) for e in soup.select(sel))
    if sel:
        return soup.select_one(sel) is not None
    if rx:
        return re.search(rx, raw) is not None
    return True


def page_type(p, soup, raw, title, url):
    for rule in p.get("page_types", []):
        anys, alls, nones = rule.get("any", []), rule.get("all", []), rule.get("none", [])
        if anys and not any(holds(c, soup, raw, title, url) for c in anys):
            continue
        if not all(holds(c, soup, raw, title, url) for c in alls):
            continue
        if any(holds(c, soup, raw, title, url) for c in nones):
            continue
        return rule["type"]
    return None


def label_value(base, sel, label):
    label = label.lower()
    cands = base.select(sel) if sel else base.find_all(True)
    best = None
    for e in cands:
        t = text(e)
        if t[: len(label)].lower() == label and (best is None or len(t) < best[0]):
            best = (len(t), e, t)
    if not best:
        return None
    _, e, t = best
    rest = t[len(label):].lstrip(":-| ").strip()
    if rest:
        return rest
    sib = e.find_next_sibling()
    if sib is not None and text(sib):
        return text(sib)
    if e.parent is not None:
        pt = text(e.parent)
        if pt[: len(label)].lower() == label:
            rest = pt[len(label):].lstrip(":-| ").strip()
            return rest or None
    return None


def field_values(f, scope, root):
    if "constant" in f:
        return [f["constant"]]
    base = root if f.get("from_root") else scope
    if "label" in f:
        v = label_value(base, f.get("selector"), f["label"])
        raw = [v] if v else []
    elif "selector" in f:
        raw = []
        for e in base.select(f["selector"]):
            if "attr" in f:
                a = e.get(f["attr"]) or ""
                raw.append(" ".join(a) if isinstance(a, list) else a)
            elif f.get("html"):
                raw.append(e.decode_contents())
            else:
                raw.append(text(e))
    else:
        raw = [text(base)]
    if "regex" in f:
        r = re.compile(f["regex"])
        out = []
        for v in raw:
            for m in r.finditer(v):
                g = m.groupdict().get("v") or (m.group(1) if r.groups else m.group(0))
                if g is not None:
                    out.append(g)
                if not f.get("all"):
                    break
        raw = out
    for pat, rep in f.get("replace", []):
        raw = [re.sub(pat, rep, v) for v in raw]
    if "split" in f:
        raw = [p for v in raw for p in v.split(f["split"])]
    vals = [v.strip() if f.get("html") else norm(v) for v in raw]
    vals = [v for v in vals if v]
    if "nth" in f:
        n = f["nth"]
        try:
            vals = [vals[n]]
        except IndexError:
            vals = []
    elif not f.get("all"):
        vals = vals[:1]
    return vals


def extract(path, profiles, generic):
    data = Path(path).read_bytes()
    if b"\0" in data[:8192] or not data:
        return 0
    try:
        raw = data.decode("utf-8")
    except UnicodeDecodeError:
        raw = data.decode("cp1252", errors="replace")
    soup = BeautifulSoup(raw, "lxml")
    title = text(soup.title) if soup.title else ""
    best, best_score = None, 0
    for p in profiles:
        s = sum(c.get("weight", 1) for c in p.get("detect", []) if holds(c, soup, raw, title, str(path)))
        if s > best_score:
            best, best_score = p, s
    pt = (page_type(best, soup, raw, title, str(path)) if best else None) or page_type(generic, soup, raw, title, str(path))
    n = 0
    if best:
        for rule in best.get("records", []):
            if pt not in rule["page_types"]:
                continue
            scopes = soup.select(rule["scope"]) if "scope" in rule else [soup]
            for sc in scopes:
                vals = {k: field_values(f, sc, soup) for k, f in rule.get("fields", {}).items()}
                vals = {k: v for k, v in vals.items() if v}
                req = rule.get("require", [{"listing": "title", "vendor": "name", "feedback": "text", "category": "name", "external_rating": "market"}[rule["kind"]]])
                if all(r in vals for r in req):
                    n += 1
    return n


def main():
    profiles = load_profiles(sys.argv[1])
    generic = next(p for p in profiles if p["market"] == "generic")
    markets = [p for p in profiles if p["market"] != "generic"]
    files = sys.argv[2:]
    t0 = time.perf_counter()
    records = 0
    size = 0
    for f in files:
        size += Path(f).stat().st_size
        records += extract(f, markets, generic)
    dt = time.perf_counter() - t0
    print(json.dumps({"pages": len(files), "bytes": size, "records": records, "seconds": dt}))


if __name__ == "__main__":
    main()
