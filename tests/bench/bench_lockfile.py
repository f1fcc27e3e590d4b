"""Reading reconciler.lock: each way of parsing and validating it, measured.

A script, not a test (pytest ignores tests/bench): it prints figures and
asserts nothing about time.

    python tests/bench/bench_lockfile.py                 # 10,000 entries
    python tests/bench/bench_lockfile.py --entries 3000 --runs 7

The lockfile is written by reconciler itself (`write_lockfile`), with the
shapes a real one has: plain entries, entries with a recipe and rendition,
descriptions, `extra` tables. Every figure is in-process CPU time
(`time.process_time`, user + system of this process), the best of `--runs`, so
the other jobs on a shared machine inflate it little.

Floor: reading the file's bytes and hashing them (sha256) plus the cheapest
parse of the same data the standard library has (`json.loads` of it as JSON):
what the size of the data costs, whatever the format. Parsers that are not
installed are skipped with a note (they are not dependencies of reconciler;
`pip install rtoml pytomlpp tomli` to measure them).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from pydantic import TypeAdapter  # noqa: E402

from reconciler.documents import parse_toml  # noqa: E402
from reconciler.lockfile import (  # noqa: E402
    LockEntry,
    Lockfile,
    RecipeRecord,
    RenditionRecord,
    read_lockfile,
)
from reconciler.lockstore import write_lockfile  # noqa: E402

INSTANCES = (("local", "directory"), ("exolve", "exolve"), ("plusofon", "plusofon"),
             ("soniox", "soniox"), ("wolkvox", "wolkvox"), ("loccus", "loccus"))


def make_lockfile(n: int) -> Lockfile:
    """`n` entries spread over 6 instances like bench_scale's world; every third
    has a recipe and a rendition, every fifth a description and `extra`."""
    assets: dict[str, LockEntry] = {}
    for i in range(n):
        instance, kind = INSTANCES[i % len(INSTANCES)]
        sha = hashlib.sha256(str(i).encode()).hexdigest()
        fields: dict[str, Any] = dict(
            instance=instance, type=kind, remote_id=f"{i:08d}-{sha[:12]}", name=f"p{i:05d}",
            sha256=sha, size=200 + i, applied_at="2026-11-27T03:00:00Z", duration=0.02,
            format="wav", sample_rate=8000, channels=1,
        )
        if i % 5 == 0:
            fields |= dict(description=f"prompt number {i}", extra={"marker": f"rc-{i}"})
        if i % 3 == 0:
            fields |= dict(
                recipe=RecipeRecord(key="wav/ulaw/8000/1/lufs=-16.0/tp=-1.0/trim=0", encoders="soxr 0.5"),
                rendition=RenditionRecord(sha256=sha[::-1], size=180 + i, format="wav", encoding="ulaw",
                                          sample_rate=8000, channels=1, duration=0.02, loudness=-16.03,
                                          true_peak=-1.2),
            )
        assets[f"{instance}.p{i:05d}"] = LockEntry(**fields)
    return Lockfile(lineage="0b6c4a9e-8d1f-4f4e-9a57-3f2d1c0b9a87", serial=42, assets=assets)


def cpu(fn: Callable[[], Any], runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.process_time()
        fn()
        best = min(best, time.process_time() - started)
    return best


def row(measure: str, value: float | None, floor: float, note: str = "") -> None:
    if value is None:
        print(f"{measure:<60} {'-':>9}    floor {floor:7.3f} s  ratio   -     ({note})", flush=True)
        return
    line = f"{measure:<60} {value:7.3f} s  floor {floor:7.3f} s  ratio {value / floor:5.2f}x"
    print(line + (f"   ({note})" if note else ""), flush=True)


def optional(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    runs = args.runs

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "reconciler.lock"
        lock = make_lockfile(args.entries)
        write_lockfile(path, lock)
        raw = path.read_bytes()
        text = raw.decode()
        data = tomllib.loads(text)
        as_json = json.dumps(data, separators=(",", ":")).encode()
        print(f"lockfile: {args.entries:,} entries, {len(raw):,} bytes; as JSON {len(as_json):,} bytes; "
              f"CPU seconds, best of {runs}", flush=True)

        read_hash = cpu(lambda: hashlib.sha256(path.read_bytes()).digest(), runs)
        floor = read_hash + cpu(lambda: json.loads(as_json), runs)
        row("read + sha256 of the lockfile bytes", read_hash, floor)

        print("-- parse (bytes -> dict; every result compared with tomllib's)")
        parsers: list[tuple[str, Callable[[], Any] | None, str]] = [
            ("tomllib.loads (standard library, pure Python)", lambda: tomllib.loads(raw.decode()), ""),
            ("parse_toml (tomllib + pre-scan + string check)", lambda: parse_toml(raw), ""),
        ]
        for module, label, call in (
            ("tomli", "tomli.loads (mypyc-compiled wheel)", "loads"),
            ("rtoml", "rtoml.loads (Rust)", "loads"),
            ("pytomlpp", "pytomlpp.loads (C++ toml++)", "loads"),
        ):
            mod = optional(module)
            if mod is None:
                parsers.append((label, None, f"{module} not installed"))
                continue
            compiled = "" if module != "tomli" else ("compiled" if not str(mod.__file__).endswith("__init__.py")
                                                   or any(p.suffix == ".so" for p in Path(mod.__file__).parent.iterdir())
                                                   else "pure Python")
            fn = getattr(mod, call)
            parsers.append((label, lambda fn=fn: fn(raw.decode()), f"{mod.__name__} "
                            f"{getattr(mod, '__version__', '')} {compiled}".strip()))
        parsers.append(("json.loads of the same data (a JSON parse cache)", lambda: json.loads(as_json), ""))
        for label, fn, note in parsers:
            if fn is None:
                row(label, None, floor, note)
                continue
            same = fn() == data
            row(label, cpu(fn, runs), floor, note + ("" if same else " RESULT DIFFERS FROM tomllib"))

        print("-- validate (dict -> Lockfile: 10,000 LockEntry models)")
        entries = TypeAdapter(dict[str, LockEntry])
        row("Lockfile.model_validate(dict)", cpu(lambda: Lockfile.model_validate(data), runs), floor)
        row("TypeAdapter(dict[str, LockEntry]).validate_python(assets)",
            cpu(lambda: entries.validate_python(data["assets"]), runs), floor)
        row("Lockfile.model_validate_json(JSON bytes): parse + validate",
            cpu(lambda: Lockfile.model_validate_json(as_json), runs), floor,
            "same model" if Lockfile.model_validate_json(as_json) == Lockfile.model_validate(data) else "DIFFERS")
        row("Lockfile.model_construct (no validation; not an option)",
            cpu(lambda: Lockfile.model_construct(**data), runs), floor, "what validation costs, for scale")

        print("-- the whole load path (read_lockfile: read, parse, validate, journal)")

        def before() -> Lockfile:  # the load path before rtoml and the parse cache
            return Lockfile.model_validate(parse_toml(path.read_bytes()))

        row("parse_toml + model_validate (the load path before rtoml, cache)", cpu(before, runs), floor)
        cache = optional("reconciler.lockcache")
        if cache is None:
            row("read_lockfile", cpu(lambda: read_lockfile(path), runs), floor, "no reconciler.lockcache")
            return
        where = cache.cache_path(path)

        def cold() -> Lockfile:
            where.unlink(missing_ok=True)
            return read_lockfile(path)

        row("read_lockfile, no parse cache (parse, then write the cache)", cpu(cold, runs), floor,
            f"parser: {'rtoml' if cache.rtoml is not None else 'tomllib'}")
        row("read_lockfile, parse cache warm", cpu(lambda: read_lockfile(path), runs), floor,
            f"{where.name}: {where.stat().st_size:,} bytes")
        same = read_lockfile(path) == Lockfile.model_validate(data)
        print(f"cache hit gives the Lockfile tomllib gives: {same}")

if __name__ == "__main__":
    main()
