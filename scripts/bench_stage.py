"""Side-by-side benchmark of `provision` and Startifact 1.0a10 on the same moto emulator.

Run through scripts/bench-stage (it picks the interpreter). Not a test: it measures and
prints a table, with ratios against the goals of issue 4:

  stage 1 MiB to 3 regions         <= 0.25 x Startifact's wall time
  stage 100 MiB to 3 regions       <= 0.6  x Startifact's wall time
  download latest                  <= 0.25 x Startifact's wall time
  peak memory staging 1 GiB        <= 64 MiB (maximum resident set size, /usr/bin/time -v)
  3 regions / 1 region             <= 1.3

Every run stages a new version; times are medians of --runs runs (wall clock, including
process start). Both tools run as a CI machine would: credentials, the emulator's endpoint
(AWS_ENDPOINT_URL), STARTIFACT_PARAMETER and, for Startifact, STARTIFACT_REGIONS.
"""

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
PROVISION = ROOT / "target" / "debug" / "provision"
STARTIFACT = ROOT / ".venv" / "startifact" / "bin" / "startifact"
MOTO = ROOT / ".venv" / "moto" / "bin" / "moto_server"
REGIONS = ["eu-north-1", "eu-west-1", "us-east-1"]
MIB = 1024 * 1024


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Moto:
    def __init__(self, log_dir):
        self.port = free_port()
        self.log = open(Path(log_dir) / f"moto-{self.port}.log", "w")
        self.proc = subprocess.Popen(
            [str(MOTO), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("moto did not start")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()


def base_env():
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_") and not k.startswith("STARTIFACT_")
    }
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_SESSION_TOKEN="testing",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE="/nonexistent",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
        NO_COLOR="1",
    )
    return env


class Storage:
    """A bucket and a bucket-name parameter per region; the configuration via `provision setup`."""

    def __init__(self, endpoints, name, work):
        self.endpoints = endpoints  # region -> url
        self.name = name
        self.parameter = f"/{name}/startifact"
        self.work = Path(work)
        env = base_env()
        for region, url in endpoints.items():
            kw = dict(
                endpoint_url=url,
                region_name=region,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
            s3 = boto3.client("s3", **kw)
            bucket = f"{name}-{region}"
            cfg = {} if region == "us-east-1" else {
                "CreateBucketConfiguration": {"LocationConstraint": region}
            }
            s3.create_bucket(Bucket=bucket, **cfg)
            boto3.client("ssm", **kw).put_parameter(
                Name=f"/{name}/bucket", Value=bucket, Type="String", Overwrite=True
            )
        config = self.work / f"{name}.yaml"
        lines = [
            "version: 1",
            "organisation: bench",
            f"regions: [{', '.join(endpoints)}]",
            "parameters:",
            f"  configuration: {self.parameter}",
            f"  bucket_name: /{name}/bucket",
            f"  artifact_prefix: /{name}/artifacts",
            "endpoints:",
        ] + [f"  {r}: {u}" for r, u in endpoints.items()]
        config.write_text("\n".join(lines) + "\n")
        self.config = config
        run([str(PROVISION), "-q", "-f", str(config), "setup"], env)

    def env(self, regions=None, with_config=False):
        env = base_env()
        env["STARTIFACT_PARAMETER"] = self.parameter
        env["STARTIFACT_REGIONS"] = ",".join(regions or self.endpoints)
        env["AWS_REGION"] = next(iter(self.endpoints))
        if with_config:
            env["PROVISION_FILE"] = str(self.config)
        else:
            env["AWS_ENDPOINT_URL"] = next(iter(self.endpoints.values()))
        return env


def run(cmd, env, cwd=None):
    t = time.perf_counter()
    p = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - t
    if p.returncode != 0:
        sys.stderr.write(p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace"))
        raise SystemExit(f"failed ({p.returncode}): {' '.join(cmd)}")
    return elapsed, p.stderr.decode(errors="replace")


def make_file(path, size):
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 8 * MIB)
            f.write(os.urandom(n))
            left -= n
    return path


class Versions:
    def __init__(self):
        self.n = 0

    def next(self):
        self.n += 1
        return f"1.0.{self.n}"


def median_of(runs, fn):
    return statistics.median(fn() for _ in range(runs))


def paired(runs, fa, fb):
    """Medians of `fa` and `fb`, run alternately so that load from elsewhere on the machine
    hits both alike."""
    a, b = [], []
    for _ in range(runs):
        a.append(fa())
        b.append(fb())
    return statistics.median(a), statistics.median(b)


def cpu_seconds(stderr):
    user = re.search(r"User time \(seconds\): ([\d.]+)", stderr)
    system = re.search(r"System time \(seconds\): ([\d.]+)", stderr)
    return float(user.group(1)) + float(system.group(1)) if user and system else float("nan")


def max_rss_mib(stderr):
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    return int(m.group(1)) / 1024 if m else float("nan")


def provision_stage(storage, path, versions, project="pv", regions=None, with_config=False, extra=()):
    cmd = [str(PROVISION), "-q", "stage", project, versions.next(), str(path), *extra]
    return run(cmd, storage.env(regions, with_config))[0]


def startifact_stage(storage, path, versions, project="sf"):
    cmd = [str(STARTIFACT), project, versions.next(), "--stage", str(path)]
    return run(cmd, storage.env())[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5, help="runs per measurement (median)")
    ap.add_argument("--no-build", action="store_true", help="use target/debug/provision as it is")
    ap.add_argument("--skip-1gib", action="store_true", help="skip the 1 GiB peak-memory measurement")
    ap.add_argument("--startifact-1gib", action="store_true",
                    help="also stage 1 GiB with Startifact (moto then holds 6 GiB)")
    args = ap.parse_args()

    if not args.no_build:
        subprocess.run(["cargo", "build", "--quiet"], cwd=ROOT, check=True)
    for tool in (PROVISION, STARTIFACT, MOTO):
        if not tool.exists():
            raise SystemExit(f"missing {tool} (scripts/python-env moto startifact; cargo build)")

    work = Path(tempfile.mkdtemp(prefix="bench-stage-"))
    motos = []
    rows = []
    try:
        moto = Moto(work)
        motos.append(moto)
        st = Storage({r: moto.url for r in REGIONS}, "bench", work)
        one = make_file(work / "one.bin", MIB)
        hundred = make_file(work / "hundred.bin", 100 * MIB)
        pv, sf = Versions(), Versions()
        runs = args.runs

        p_down = lambda: run([str(PROVISION), "-q", "download", "pv", str(work / "p.out")], st.env())[0]
        s_down = lambda: run([str(STARTIFACT), "sf", "--download", str(work / "s.out")], st.env())[0]

        p1, s1 = paired(runs, lambda: provision_stage(st, one, pv), lambda: startifact_stage(st, one, sf))
        rows.append(("stage 1 MiB to 3 regions", p1, s1, 0.25))
        pd, sd = paired(runs, p_down, s_down)
        rows.append(("download latest (1 MiB)", pd, sd, 0.25))

        p100, s100 = paired(runs, lambda: provision_stage(st, hundred, pv), lambda: startifact_stage(st, hundred, sf))
        rows.append(("stage 100 MiB to 3 regions", p100, s100, 0.6))
        pd100, sd100 = paired(runs, p_down, s_down)
        rows.append(("download latest (100 MiB)", pd100, sd100, None))

        pc100, one_region = paired(
            runs,
            lambda: provision_stage(st, hundred, pv, extra=("--copy",)),
            lambda: provision_stage(st, hundred, pv, project="pv1", regions=["us-east-1"]),
        )
        rows.append(("stage 100 MiB to 3 regions --copy", pc100, s100, 0.6))

        # One emulator per region: what a real multi-region set-up looks like to the client.
        per = {}
        for r in REGIONS:
            m = Moto(work)
            motos.append(m)
            per[r] = m.url
        st3 = Storage(per, "bench3", work)
        three_sep, one_sep = paired(
            runs,
            lambda: provision_stage(st3, hundred, pv, project="pv3", with_config=True),
            lambda: provision_stage(st3, hundred, pv, project="pv3one", regions=["us-east-1"], with_config=True),
        )
        for m in motos[1:]:
            m.stop()
        motos = motos[:1]

        # Hashing alone (a dry run hashes and checks, uploads nothing).
        dry = median_of(runs, lambda: provision_stage(st, hundred, pv, extra=("--dry-run",)))
        # provision's own CPU while staging 100 MiB to 3 regions (the rest is the emulator).
        _, err = run(["/usr/bin/time", "-v", str(PROVISION), "-q", "stage", "pv", pv.next(), str(hundred)], st.env())
        cpu100 = cpu_seconds(err)
        _, err = run(["/usr/bin/time", "-v", str(STARTIFACT), "sf", sf.next(), "--stage", str(hundred)], st.env())
        cpu100_sf = cpu_seconds(err)

        mem = None
        mem_sf = None
        gib_time = None
        gib_dry = None
        if not args.skip_1gib:
            moto.stop()
            motos = []
            big_moto = Moto(work)
            motos.append(big_moto)
            stg = Storage({r: big_moto.url for r in REGIONS}, "bench1g", work)
            gib = make_file(work / "gib.bin", 1024 * MIB)
            gib_dry = run([str(PROVISION), "-q", "stage", "pv", "1.0.0", str(gib), "--dry-run"], stg.env())[0]
            t0 = time.perf_counter()
            _, err = run(["/usr/bin/time", "-v", str(PROVISION), "-q", "stage", "pv", "1.0.0", str(gib)], stg.env())
            gib_time = time.perf_counter() - t0
            mem = max_rss_mib(err)
            if args.startifact_1gib:
                _, err = run(["/usr/bin/time", "-v", str(STARTIFACT), "sf", "1.0.0", "--stage", str(gib)], stg.env())
                mem_sf = max_rss_mib(err)

        print()
        print(f"provision {PROVISION} (debug build) vs Startifact 1.0a10, moto 5.2, median of {runs} runs")
        print(f"(columns for the region rows: 3 regions, 1 region; load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
        print()
        print(f"{'measure':<36} {'provision':>10} {'Startifact':>11} {'ratio':>7} {'goal':>7}  met")
        for name, p, s, goal in rows:
            ratio = p / s
            verdict = "" if goal is None else ("yes" if ratio <= goal else "NO")
            goal_s = "" if goal is None else f"<={goal}"
            print(f"{name:<36} {p:>9.3f}s {s:>10.3f}s {ratio:>7.2f} {goal_s:>7}  {verdict}")
        r = p100 / one_region
        print(f"{'3 regions / 1 region, 100 MiB':<36} {p100:>9.3f}s {one_region:>10.3f}s {r:>7.2f} {'<=1.3':>7}  {'yes' if r <= 1.3 else 'NO'}   (one emulator)")
        r = pc100 / one_region
        print(f"{'3 regions --copy / 1 region, 100 MiB':<36} {pc100:>9.3f}s {one_region:>10.3f}s {r:>7.2f} {'<=1.3':>7}  {'yes' if r <= 1.3 else 'NO'}   (one emulator)")
        r = three_sep / one_sep
        print(f"{'3 regions / 1 region, 100 MiB':<36} {three_sep:>9.3f}s {one_sep:>10.3f}s {r:>7.2f} {'<=1.3':>7}  {'yes' if r <= 1.3 else 'NO'}   (an emulator per region)")
        print(f"{'dry run 100 MiB (hash + checks)':<36} {dry:>9.3f}s {'':>11} {'':>7} {'':>7}       ({100 / dry:.0f} MiB/s end to end)")
        print(f"{'CPU (user+sys) staging 100 MiB, 3 reg.':<36} {cpu100:>9.2f}s {cpu100_sf:>10.2f}s")
        if gib_dry is not None:
            print(f"{'dry run 1 GiB (hash + checks)':<36} {gib_dry:>9.3f}s {'':>11} {'':>7} {'':>7}       ({1024 / gib_dry:.0f} MiB/s end to end)")
        if mem is not None:
            print(f"{'peak RSS staging 1 GiB (3 regions)':<36} {mem:>8.1f}MiB {('%.1fMiB' % mem_sf) if mem_sf else '-':>11} {'':>7} {'<=64MiB':>7}  {'yes' if mem <= 64 else 'NO'}   ({gib_time:.1f}s)")
        print()
    finally:
        for m in motos:
            m.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
