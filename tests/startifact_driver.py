"""Drives Startifact 1.0a10's Python API for the interoperability tests.

Run with the interpreter of .venv/startifact. boto3 reaches the emulator through
AWS_ENDPOINT_URL (boto3 >= 1.28 reads it; the pinned 1.44 does).

    setup REGIONS BUCKET_PARAM KEY_PREFIX PARAM_PREFIX   Startifact's own organisation setup
    metadata PROJECT VERSION                               the metadata as Startifact reads it (JSON)
    dumps JSON                                             json.dumps(..., indent=2, sort_keys=True)
    semver VERSION...                                      "ok <str(parsed)>" or "err" per line
"""

import io
import json
import sys


def setup(regions, bucket_param, key_prefix, param_prefix):
    from startifact.tasks.setup import SetupTask, SetupTaskArguments

    directions = {
        "regions": regions,
        "bucket_name_param": bucket_param,
        "bucket_key_prefix": key_prefix,
        "parameter_name_prefix": param_prefix,
        "save_ok": "y",
    }
    out = io.StringIO()
    args = SetupTaskArguments(directions=directions, regions=regions.split(","))
    code = SetupTask(args, out=out).invoke()
    sys.stderr.write(out.getvalue())
    return code


def metadata(project, version):
    from semver import VersionInfo
    from startifact import Session

    artifact = Session(out=io.StringIO()).get(project, VersionInfo.parse(version))
    print(json.dumps(artifact.metadata_loader.loaded))
    return 0


def dumps(text):
    sys.stdout.write(json.dumps(json.loads(text), indent=2, sort_keys=True))
    return 0


def semver(versions):
    from semver import VersionInfo

    for v in versions:
        try:
            print("ok " + str(VersionInfo.parse(v)))
        except ValueError:
            print("err")
    return 0


def main(argv):
    command, args = argv[1], argv[2:]
    if command == "setup":
        return setup(*args)
    if command == "metadata":
        return metadata(*args)
    if command == "dumps":
        return dumps(*args)
    if command == "semver":
        return semver(args)
    sys.stderr.write(f"unknown command {command}\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
