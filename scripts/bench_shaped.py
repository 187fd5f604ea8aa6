"""`provision` and Startifact 1.0a10 on the shaped test bed (scripts/shaped_bed.py).

Run through scripts/bench-shaped (it picks the interpreter). Not a test: it measures and
prints, per profile (near, ci, slow), the medians of --runs runs of each measure, the
physical limit of the measure under the profile's links, and the ratios against Startifact,
against the limit and against the goals of issue 12:

  stage 1 MiB to 3 regions      <= 0.35 x Startifact, <= 1.5 x limit
  stage 100 MiB to 3 regions    <= 0.4 x Startifact
  stage 3 regions / 1 region    <= 1.3
  download latest               <= 0.5 x Startifact, <= 1.5 x limit
  apply 8 regions / 1 region    <= 1.5 (the shaped bed in front of CloudFormation)
  peak RSS staging 1 GiB        <= 64 MiB

The regions are eu-west-1, us-east-1 and ap-southeast-2, the runner sits in eu-west-1
(AWS_REGION); each region has its own moto behind its own shaped listener. `provision` reaches
them through the per-region `endpoints` of a configuration file, Startifact (one
AWS_ENDPOINT_URL for every region) through the bed's router, which reads the region from
each connection's SigV4 scope. A server-side copy (`stage --copy`, and the default above
16 MiB to several regions) needs a source bucket the destination's emulator can read, so the
copy measures run on a second set-up with one moto behind all three listeners (the bed adds
the inter-region copy time, `copy_rate`), together with Startifact on that same set-up; on
the first set-up the 100 MiB and 1 GiB stages pass --no-copy (direct uploads).

Physical limits (what no client can beat on these links):
  stage S bytes to regions R:  max RTT(R) + min(|R| x S / uplink, S / uplink + S / copy_rate)
                               (one round trip to the farthest region; the bytes over the
                               shared uplink, once per region or once plus a server-side copy)
  download S bytes:            4 x RTT(nearest) + S / downlink
                               (connect; organisation configuration; bucket name and `latest`
                               at once; the object)

Each run's requests are in the bed's log; --trace DIR keeps it, and for each measure the
first run of each tool is summarised (connections, requests and sequential round trips per
region) in DIR/summary.json and on the screen.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_stage as bs  # noqa: E402
import shaped_bed  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BED = ROOT / "scripts" / "shaped_bed.py"
PYTHON = ROOT / ".venv" / "moto" / "bin" / "python"
REGIONS = ["eu-west-1", "us-east-1", "ap-southeast-2"]
APPLY_REGIONS = [
    "eu-west-1", "eu-central-1", "eu-north-1", "us-east-1",
    "us-west-2", "sa-east-1", "ap-northeast-1", "ap-southeast-2",
]
HOME = "eu-west-1"
MIB = 1024 * 1024


class Bed:
    """The shaped proxy in its own process (it must not share the harness's interpreter)."""

    def __init__(self, profile, upstreams, log, extra=()):
        args = [str(PYTHON), str(BED), "serve", "--profile", profile, "--log", str(log), *extra]
        for region, url in upstreams.items():
            args += ["--upstream", f"{region}={url}"]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit("the shaped bed did not start")
        info = json.loads(line)
        self.ports = info["regions"]
        self.router = f"http://127.0.0.1:{info['router']}"
        self.profile = info["profile"]
        self.log = log

    def url(self, region):
        return f"http://127.0.0.1:{self.ports[region]}"

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


class Setup:
    """Buckets, bucket-name parameters and the organisation configuration (written directly
    to the emulators, unshaped), and the environments that reach them through the bed."""

    def __init__(self, name, motos, bed, work, provision):
        self.name = name
        self.parameter = f"/{name}/startifact"
        self.bed = bed
        self.provision = provision
        work = Path(work)
        for region, url in motos.items():
            kw = dict(endpoint_url=url, region_name=region,
                      aws_access_key_id="testing", aws_secret_access_key="testing")
            s3 = boto3.client("s3", **kw)
            bucket = f"{name}-{region}"
            cfg = {} if region == "us-east-1" else {
                "CreateBucketConfiguration": {"LocationConstraint": region}}
            s3.create_bucket(Bucket=bucket, **cfg)
            boto3.client("ssm", **kw).put_parameter(
                Name=f"/{name}/bucket", Value=bucket, Type="String", Overwrite=True)

        def config(path, endpoints):
            lines = [
                "version: 1", "organisation: bench",
                f"regions: [{', '.join(endpoints)}]",
                f"home_region: {HOME}",
                "parameters:", f"  configuration: {self.parameter}",
                f"  bucket_name: /{name}/bucket", f"  artifact_prefix: /{name}/artifacts",
                "endpoints:",
            ] + [f"  {r}: {u}" for r, u in endpoints.items()]
            path.write_text("\n".join(lines) + "\n")
            return path

        direct = config(work / f"{name}-direct.yaml", motos)
        bs.run([str(provision), "-q", "-f", str(direct), "setup"], bs.base_env())
        self.config = config(work / f"{name}.yaml", {r: bed.url(r) for r in motos})
        self.regions = list(motos)
        self._config = config
        self._work = work

    def through(self, other_bed):
        """The same storage reached through another bed (other link settings)."""
        clone = object.__new__(Setup)
        clone.__dict__.update(self.__dict__)
        clone.bed = other_bed
        clone.config = self._config(self._work / f"{self.name}-{id(other_bed)}.yaml",
                                    {r: other_bed.url(r) for r in self.regions})
        return clone

    def provision_env(self, regions=None):
        env = bs.base_env()
        env.update(STARTIFACT_PARAMETER=self.parameter,
                   STARTIFACT_REGIONS=",".join(regions or self.regions),
                   AWS_REGION=HOME, PROVISION_FILE=str(self.config))
        return env

    def startifact_env(self):
        env = bs.base_env()
        env.update(STARTIFACT_PARAMETER=self.parameter,
                   STARTIFACT_REGIONS=",".join(self.regions),
                   AWS_REGION=HOME, AWS_ENDPOINT_URL=self.bed.router)
        return env


class Runs:
    """Timed runs, with their wall-clock windows for the bed's log."""

    def __init__(self):
        self.windows = []  # (label, tool, start, end)

    def timed(self, label, tool, cmd, env):
        t0 = time.time()
        elapsed, _ = bs.run(cmd, env)
        self.windows.append((label, tool, t0, time.time()))
        return elapsed

    def paired(self, runs, a, b):
        """Medians of `a` and `b`, run alternately so that load from elsewhere hits both."""
        xs, ys = [], []
        for _ in range(runs):
            xs.append(a())
            ys.append(b())
        return statistics.median(xs), statistics.median(ys)


def limit_stage(profile, regions, size):
    rtt = max(shaped_bed.region_rtt(profile, r) for r in regions)
    up = profile["up"]
    once_per_region = len(regions) * size / up
    copy_rate = profile.get("copy_rate") or float("inf")
    upload_then_copy = size / up + (size / copy_rate if len(regions) > 1 else 0)
    return rtt + min(once_per_region, upload_then_copy)


def limit_download(profile, regions, size):
    rtt = min(shaped_bed.region_rtt(profile, r) for r in regions)
    return 4 * rtt + size / profile["down"]


def summarise_runs(log, windows, out):
    """The first run of each (measure, tool): requests per region from the bed's log."""
    seen = set()
    summaries = []
    for label, tool, t0, t1 in windows:
        if (label, tool) in seen:
            continue
        seen.add((label, tool))
        regions = shaped_bed.summarize(shaped_bed.read_log(log, t0, t1))
        for s in regions.values():
            s["first"] = round(s["first"] - t0, 3)
            s["last"] = round(s["last"] - t0, 3)
        summaries.append({"measure": label, "tool": tool, "elapsed": round(t1 - t0, 3),
                          "start": t0, "end": t1, "regions": regions})
    if out:
        with open(out, "a") as f:
            for s in summaries:
                f.write(json.dumps(s) + "\n")
    return summaries


def print_summaries(summaries):
    for s in summaries:
        parts = []
        for region, r in s["regions"].items():
            parts.append(f"{region} {r['connections']}c/{r['requests']}r/{r['sequential']}seq "
                         f"[{r['first']:.2f}-{r['last']:.2f}s]")
        print(f"    {s['measure']:<30} {s['tool']:<11} {s['elapsed']:>6.2f}s  " + "; ".join(parts))


def verdict(ratio, goal):
    if goal is None:
        return ""
    return "yes" if ratio <= goal else "NO"


class Table:
    def __init__(self):
        self.rows = []

    def add(self, name, p, s, limit, goal_sf=None, goal_limit=None, note=""):
        self.rows.append((name, p, s, limit, goal_sf, goal_limit, note))

    def print(self):
        print(f"  {'measure':<38} {'provision':>9} {'Startif.':>9} {'limit':>7} "
              f"{'p/S':>6} {'goal':>6} {'p/lim':>6} {'goal':>6}")
        for name, p, s, limit, gs, gl, note in self.rows:
            ps = f"{p / s:.2f}" if s else ""
            pl = f"{p / limit:.2f}" if limit else ""
            gss = f"{'<=' + str(gs) if gs else '':>4}{' ' + verdict(p / s, gs) if gs and s else ''}"
            gls = f"{'<=' + str(gl) if gl else '':>4}{' ' + verdict(p / limit, gl) if gl and limit else ''}"
            print(f"  {name:<38} {p:>8.3f}s {(f'{s:.3f}s' if s else ''):>9} "
                  f"{(f'{limit:.3f}s' if limit else ''):>7} {ps:>6} {gss:>6} {pl:>6} {gls:>6}  {note}")


def start_motos(work, regions):
    motos = {r: bs.Moto(work) for r in regions}
    return motos


def stop_all(motos, bed):
    if bed:
        bed.stop()
    for m in {id(m): m for m in motos.values()}.values():
        m.stop()


def bench_profile(profile_name, args, provision, work, trace):
    runs = args.runs
    log = Path(trace or work) / f"bed-{profile_name}.jsonl"
    table = Table()
    windows = Runs()
    pv, sf = bs.Versions(), bs.Versions()
    one = work / "one.bin"
    hundred = work / "hundred.bin"
    P, S = str(provision), str(bs.STARTIFACT)

    def pstage(st, path, project="pv", regions=None, extra=(), label="", version=None):
        cmd = [P, "-q", "stage", project, version or pv.next(), str(path), *extra]
        return windows.timed(label, "provision", cmd, st.provision_env(regions))

    def sstage(st, path, project="sf", label=""):
        cmd = [S, project, sf.next(), "--stage", str(path)]
        return windows.timed(label, "startifact", cmd, st.startifact_env())

    def pdown(st, project="pv", label=""):
        cmd = [P, "-q", "download", project, "latest", str(work / "p.out")]
        return windows.timed(label, "provision", cmd, st.provision_env())

    def sdown(st, project="sf", label=""):
        cmd = [S, project, "--download", str(work / "s.out")]
        return windows.timed(label, "startifact", cmd, st.startifact_env())

    # One moto per region.
    motos = start_motos(work, REGIONS)
    bed = Bed(profile_name, {r: m.url for r, m in motos.items()}, log)
    prof = bed.profile
    try:
        st = Setup(f"b{profile_name}", {r: m.url for r, m in motos.items()}, bed, work, provision)
        if "stage1" in args.only:
            label = "stage 1 MiB to 3 regions"
            p, s = windows.paired(runs, lambda: pstage(st, one, label=label),
                                  lambda: sstage(st, one, label=label))
            table.add(label, p, s, limit_stage(prof, REGIONS, MIB), 0.35, 1.5)
            label = "download latest (1 MiB)"
            p, s = windows.paired(runs, lambda: pdown(st, label=label), lambda: sdown(st, label=label))
            table.add(label, p, s, limit_download(prof, REGIONS, MIB), 0.5, 1.5)
        if "stage100" in args.only:
            # One moto per region: a server-side copy cannot read its source here, so this
            # measures direct uploads (--no-copy); the default (copy) runs under "copy".
            label = "stage 100 MiB to 3 regions, --no-copy"
            p, s = windows.paired(runs, lambda: pstage(st, hundred, extra=NO_COPY, label=label),
                                  lambda: sstage(st, hundred, label=label))
            table.add(label, p, s, limit_stage(prof, REGIONS, 100 * MIB), 0.4)
            p3 = p
            label = "download latest (100 MiB)"
            p, s = windows.paired(runs, lambda: pdown(st, label=label), lambda: sdown(st, label=label))
            table.add(label, p, s, limit_download(prof, REGIONS, 100 * MIB))
            near_label, far_label = "stage 100 MiB to eu-west-1 alone", "stage 100 MiB to ap-southeast-2 alone"
            near, far = windows.paired(
                runs,
                lambda: pstage(st, hundred, "pvnear", ["eu-west-1"], label=near_label),
                lambda: pstage(st, hundred, "pvfar", ["ap-southeast-2"], label=far_label))
            table.add(near_label, near, None, limit_stage(prof, ["eu-west-1"], 100 * MIB))
            table.add(far_label, far, None, limit_stage(prof, ["ap-southeast-2"], 100 * MIB))
            table.add("3 regions --no-copy / eu-west-1 alone", p3 / near, None, None)
            table.add("3 regions --no-copy / ap-southeast-2 alone", p3 / far, None, None)
        if "whatif" in args.only:
            whatif_per_region(st, motos, prof, profile_name, log, runs, windows, table, pstage, pdown, one)
        if "rss" in args.only and not args.skip_1gib:
            gib = bs.make_file(work / "gib.bin", 1024 * MIB)
            t0 = time.perf_counter()
            # --no-copy: three multipart uploads at once, the most parts in flight.
            _, err = bs.run(["/usr/bin/time", "-v", P, "-q", "stage", "pvgib", "1.0.0", str(gib),
                             *NO_COPY], st.provision_env())
            took = time.perf_counter() - t0
            mem = bs.max_rss_mib(err)
            table.add("stage 1 GiB to 3 regions, --no-copy (one run)", took, None,
                      limit_stage(prof, REGIONS, 1024 * MIB),
                      note=f"peak RSS {mem:.1f} MiB (goal <= 64 MiB: {verdict(mem, 64)})")
            os.unlink(gib)
    finally:
        stop_all(motos, bed)

    if "copy" in args.only:
        # One moto behind the three listeners: a server-side copy can read its source.
        shared = bs.Moto(work)
        motos = {r: shared for r in REGIONS}
        bed = Bed(profile_name, {r: shared.url for r in REGIONS}, log)
        try:
            st = Setup(f"c{profile_name}", {r: shared.url for r in REGIONS}, bed, work, provision)
            label = "stage 100 MiB, 3 regions, --copy"
            pc, s = windows.paired(runs, lambda: pstage(st, hundred, extra=("--copy",), label=label),
                                   lambda: sstage(st, hundred, label=label))
            table.add(label + " (one moto)", pc, s, limit_stage(prof, REGIONS, 100 * MIB), 0.4)
            label = "stage 100 MiB, 3 regions, default (one moto)"
            p, near = windows.paired(
                runs, lambda: pstage(st, hundred, label=label),
                lambda: pstage(st, hundred, "pvnear", ["eu-west-1"], label="1 region (one moto)"))
            table.add(label, p, s, limit_stage(prof, REGIONS, 100 * MIB), 0.4)
            table.add("stage 100 MiB to eu-west-1 alone (one moto)", near, None,
                      limit_stage(prof, ["eu-west-1"], 100 * MIB))
            table.add("3 regions (default) / eu-west-1 alone", p / near, None, None,
                      note=f"goal <= 1.3: {verdict(p / near, 1.3)}")
            table.add("3 regions --copy / eu-west-1 alone", pc / near, None, None,
                      note=f"goal <= 1.3: {verdict(pc / near, 1.3)}")
            if "whatif" in args.only:
                whatif_claimed(st, runs, windows, table, pstage, pv, hundred, prof,
                               "stage 100 MiB --copy, eu-west-1 claimed", ("--copy",))
            if args.copy_1mib:
                label = "stage 1 MiB, 3 regions, --copy"
                p, s = windows.paired(runs, lambda: pstage(st, one, extra=("--copy",), label=label),
                                      lambda: sstage(st, one, label=label))
                table.add(label + " (one moto)", p, s, limit_stage(prof, REGIONS, MIB), 0.35, 1.5)
        finally:
            stop_all(motos, bed)

    if "apply" in args.only:
        bench_apply(profile_name, args, provision, work, log, windows, table)

    summaries = summarise_runs(log, windows.windows,
                               Path(trace) / "summary.jsonl" if trace else None)
    return table, summaries, prof


def whatif_claimed(st, runs, windows, table, pstage, pv, path, prof, label, extra):
    """What claiming in the nearest region would give, without changing `provision`: the
    version is staged to eu-west-1 alone first, so the 3-region stage finds it there (already
    staged, so the claim is won) and commits every other region at once (with --copy: copies
    from eu-west-1). Reported: the second run, and both together."""
    firsts, seconds = [], []
    for _ in range(runs):
        v = pv.next()
        firsts.append(pstage(st, path, "pvclaim", ["eu-west-1"], label=label + " (eu-west-1 first)", version=v))
        seconds.append(pstage(st, path, "pvclaim", None, extra=extra, label=label, version=v))
    size = os.path.getsize(path)
    table.add(label + ": the rest", statistics.median(seconds), None, limit_stage(prof, REGIONS, size))
    table.add(label + ": both runs", statistics.median(a + b for a, b in zip(firsts, seconds)), None,
              limit_stage(prof, REGIONS, size))


def whatif_per_region(st, motos, prof, profile_name, log, runs, windows, table, pstage, pdown, one):
    """Connection reuse, bounded: the same runs on beds where a new connection costs no round
    trip (as if every request reused one) and two (TCP and TLS 1.3, as on AWS)."""
    label = "stage 1 MiB, eu-west-1 claimed"
    firsts, seconds = [], []
    for _ in range(runs):
        v = f"9.{len(firsts)}.{int(time.time() * 1000) % 100000}"
        firsts.append(pstage(st, one, "pvclaim1", ["eu-west-1"], label=label + " (eu-west-1 first)", version=v))
        seconds.append(pstage(st, one, "pvclaim1", None, label=label, version=v))
    table.add(label + ": the rest", statistics.median(seconds), None, limit_stage(prof, REGIONS, 1024 * 1024))
    table.add(label + ": both runs", statistics.median(a + b for a, b in zip(firsts, seconds)), None,
              limit_stage(prof, REGIONS, 1024 * 1024))
    for setup_rtts in ("0", "2"):
        other = Bed(profile_name, {r: m.url for r, m in motos.items()}, log, ("--setup-rtts", setup_rtts))
        try:
            alt = st.through(other)
            tag = f"new connection = {setup_rtts} RTT"
            p = statistics.median(pstage(alt, one, label=f"stage 1 MiB, {tag}") for _ in range(runs))
            table.add(f"stage 1 MiB to 3 regions, {tag}", p, None, limit_stage(prof, REGIONS, 1024 * 1024))
            d = statistics.median(pdown(alt, label=f"download 1 MiB, {tag}") for _ in range(runs))
            table.add(f"download latest, {tag}", d, None, limit_download(prof, REGIONS, 1024 * 1024))
        finally:
            other.stop()


def bench_apply(profile_name, args, provision, work, log, windows, table):
    """`provision apply` of the multi-region example's settings in 8 regions and in one,
    each region's CloudFormation (and S3, SSM, KMS, IAM) behind its shaped listener."""
    motos = start_motos(work, APPLY_REGIONS)
    bed = Bed(profile_name, {r: m.url for r, m in motos.items()}, log)
    n = [0]

    def apply(regions, label):
        n[0] += 1
        name = f"ap{profile_name}{n[0]}"
        d = work / name
        d.mkdir()
        lines = [
            "version: 1", f"organisation: {name}", f"regions: [{', '.join(regions)}]",
            f"home_region: {regions[0]}", f"stack_name: {name}",
            "tags: {team: platform, cost-center: '4711', managed-by: provision}",
            "bucket: {name: '" + name + "-{account_id}-{region}', abort_incomplete_multipart_days: 7, "
            "noncurrent_version_expiration_days: 90}",
            f"kms: {{alias: alias/{name}, rotation: true, deletion_window_days: 30}}",
            f"parameters: {{configuration: /{name}/startifact, bucket_name: /{name}/bucket, "
            f"artifact_prefix: /{name}/artifacts}}",
            "endpoints:",
        ] + [f"  {r}: {bed.url(r)}" for r in regions]
        (d / "provision.yaml").write_text("\n".join(lines) + "\n")
        env = bs.base_env()
        cmd = [str(provision), "-q", "-f", str(d / "provision.yaml"), "apply", "--yes",
               "--no-termination-protection"]
        return windows.timed(label, "provision", cmd, env)

    try:
        apply(APPLY_REGIONS, "warm-up")  # moto creates each region's backends on first use
        eight, far = windows.paired(args.runs, lambda: apply(APPLY_REGIONS, "apply 8 regions"),
                                    lambda: apply(["ap-southeast-2"], "apply ap-southeast-2 alone"))
        near = statistics.median(apply(["eu-west-1"], "apply eu-west-1 alone") for _ in range(args.runs))
        table.add("apply 8 regions", eight, None, None)
        table.add("apply ap-southeast-2 alone (farthest)", far, None, None)
        table.add("apply eu-west-1 alone (nearest)", near, None, None)
        table.add("apply 8 regions / farthest alone", eight / far, None, None,
                  note=f"goal <= 1.5: {verdict(eight / far, 1.5)}")
        table.add("apply 8 regions / nearest alone", eight / near, None, None,
                  note=f"goal <= 1.5: {verdict(eight / near, 1.5)}")
    finally:
        stop_all(motos, bed)


# Direct uploads to every region (the default copies above 16 MiB).
NO_COPY = ("--no-copy",)

MEASURES = ["stage1", "stage100", "copy", "whatif", "rss", "apply"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profiles", default="near,ci,slow", help="comma-separated: near, ci, slow")
    ap.add_argument("--runs", type=int, default=5, help="runs per measurement (median), at least 5 for the record")
    ap.add_argument("--only", default=",".join(MEASURES), help="comma-separated: " + ", ".join(MEASURES))
    ap.add_argument("--debug", action="store_true", help="benchmark target/debug/provision (default: release)")
    ap.add_argument("--no-build", action="store_true", help="use the binary as it is")
    ap.add_argument("--skip-1gib", action="store_true", help="skip the 1 GiB peak-memory run")
    ap.add_argument("--copy-1mib", action="store_true", help="also stage 1 MiB with --copy")
    ap.add_argument("--trace", help="keep the bed's request logs and per-run summaries in this directory")
    args = ap.parse_args()
    args.only = set(args.only.split(","))
    provision = ROOT / "target" / ("debug" if args.debug else "release") / "provision"
    if not args.no_build:
        cmd = ["cargo", "build", "--quiet"] + ([] if args.debug else ["--release"])
        subprocess.run(cmd, cwd=ROOT, check=True)
    bs.PROVISION = provision
    for tool in (provision, bs.STARTIFACT, bs.MOTO, PYTHON):
        if not Path(tool).exists():
            raise SystemExit(f"missing {tool} (scripts/python-env moto startifact; cargo build)")
    if args.trace:
        Path(args.trace).mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-shaped-"))
    try:
        bs.make_file(work / "one.bin", MIB)
        bs.make_file(work / "hundred.bin", 100 * MIB)
        for name in args.profiles.split(","):
            load = os.getloadavg()[0]
            table, summaries, prof = bench_profile(name, args, provision, work, args.trace)
            rtts = ", ".join(f"{r} {shaped_bed.region_rtt(prof, r) * 1000:.0f} ms" for r in REGIONS)
            print()
            print(f"profile {name}: {rtts}; uplink {prof['up'] / 1e6:.0f} MB/s, downlink "
                  f"{prof['down'] / 1e6:.0f} MB/s (shared), copy {prof['copy_rate'] / 1e6:.0f} MB/s; "
                  f"{'debug' if args.debug else 'release'} build, median of {args.runs}; "
                  f"load average {load:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
            table.print()
            print("  first run of each measure, per region: connections/requests/sequential round trips [first-last request]")
            print_summaries(summaries)
            sys.stdout.flush()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
