#!/usr/bin/env python3
"""terrane benchmarks: generates configurations, runs the release binary on them,
and reports the median wall time and peak memory of each scenario.

Usage: bench/run [--quick] [--runs N] [--markdown FILE]
(bench/run starts a throwaway PostgreSQL for the PostgreSQL scenarios and calls
this script; bench/bench.py alone needs TERRANE_TEST_PG_URL for them.)
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def layered_config(resources, layer_size=100):
    """`resources` null_resources in layers of `layer_size`; each depends on the
    resource at the same position in the layer before."""
    lines = ['terraform {\n  required_providers {\n    null = { source = "hashicorp/null" }\n  }\n}\n']
    layers = resources // layer_size
    for layer in range(layers):
        for i in range(layer_size):
            if layer == 0:
                lines.append(f'resource "null_resource" "r{layer}_{i}" {{\n  triggers = {{ layer = "{layer}" }}\n}}\n')
            else:
                lines.append(
                    f'resource "null_resource" "r{layer}_{i}" {{\n'
                    f'  triggers = {{ parent = null_resource.r{layer - 1}_{i}.id }}\n}}\n'
                )
    return "".join(lines)


def run(cmd, cwd, expect=(0,), env=None):
    """Runs a command; returns (seconds, peak RSS in MB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=dict(os.environ, **(env or {})))
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in expect:
        err = proc.stderr.read().decode(errors="replace")
        sys.exit(f"{' '.join(cmd)} exited {code} in {cwd}:\n{err}")
    proc.stderr.close()
    return elapsed, usage.ru_maxrss / 1024.0


def build():
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "terrane", "target")
    env = dict(os.environ, CARGO_TARGET_DIR=target)
    subprocess.run(["cargo", "build", "--locked", "--release", "-p", "terrane-cli", "--bins"], cwd=ROOT, env=env, check=True)
    return os.path.join(target, "release", "terrane")


def median_of(samples):
    times = [s[0] for s in samples]
    mems = [s[1] for s in samples]
    return statistics.median(times), statistics.median(mems), min(times), max(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small sizes: checks every scenario works")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--markdown", help="write the results table to this file")
    args = parser.parse_args()
    terrane = build()
    plan_size = 1000 if args.quick else 10000
    apply_size = 200 if args.quick else 1000
    runs = 2 if args.quick else args.runs
    rows = []
    with tempfile.TemporaryDirectory(prefix="terrane-bench-") as scratch:
        # Scenario 1: no-change plan of a large applied configuration.
        plan_dir = os.path.join(scratch, "plan")
        os.makedirs(plan_dir)
        with open(os.path.join(plan_dir, "main.tf"), "w") as f:
            f.write(layered_config(plan_size))
        run([terrane, "apply", "-auto-approve", "-no-color"], plan_dir)
        samples = [run([terrane, "plan", "-detailed-exitcode", "-no-color"], plan_dir) for _ in range(runs)]
        med, mem, lo, hi = median_of(samples)
        rows.append((f"no-change plan, {plan_size} resources", med, mem, lo, hi, runs))

        # Scenario 2: apply from empty state, a fresh directory (or schema) each run,
        # on each store: commit cost must grow in proportion to the resource count.
        stores = [("SQLite", None)]
        pg_url = os.environ.get("TERRANE_TEST_PG_URL")
        if pg_url:
            stores.append(("PostgreSQL", pg_url))
        else:
            print("TERRANE_TEST_PG_URL is not set: skipping the PostgreSQL scenarios (bench/run starts one)", file=sys.stderr)
        sizes = [apply_size, plan_size]
        for store, url in stores:
            medians = {}
            for size in sizes:
                # The short run is the noisy one: it gets three times the runs, so the
                # ratio rests on a steady median.
                n = 3 * runs if size == apply_size else max(1, min(runs, 3))
                samples = []
                for i in range(n):
                    d = os.path.join(scratch, f"apply-{store}-{size}-{i}")
                    os.makedirs(d)
                    with open(os.path.join(d, "main.tf"), "w") as f:
                        f.write(layered_config(size))
                    env = {"TERRANE_STATE_URL": url, "TERRANE_STATE_SCHEMA": f"bench_{size}_{i}_{os.getpid()}"} if url else None
                    samples.append(run([terrane, "apply", "-auto-approve", "-no-color"], d, env=env))
                med, mem, lo, hi = median_of(samples)
                medians[size] = med
                rows.append((f"apply from empty, {size} resources, {store}", med, mem, lo, hi, n))
            ratio = medians[plan_size] / medians[apply_size]
            rows.append((f"ratio {plan_size}/{apply_size} apply time, {store} (target < {plan_size // apply_size})", ratio, 0, ratio, ratio, 0))

    table = ["| scenario | median s | peak MB (median) | min s | max s | runs |", "|---|---:|---:|---:|---:|---:|"]
    for name, med, mem, lo, hi, n in rows:
        table.append(f"| {name} | {med:.3f} | {mem:.0f} | {lo:.3f} | {hi:.3f} | {n} |")
    text = "\n".join(table)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
