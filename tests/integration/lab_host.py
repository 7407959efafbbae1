"""Helpers for the integration tests: paths, the image, and `docker`."""
import os
import pathlib
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "unit"))
ROOT = pathlib.Path(__file__).resolve().parents[2]
CACHE = pathlib.Path(os.environ.get("FLEET_CACHE", "/var/cache/gpt-oss-fleet"))
IMAGE = os.environ.get("FLEET_IMAGE", "gpt-oss-fleet/debian12-systemd:bookworm")
CA = os.environ.get("FLEET_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")


def docker(*args, check=True):
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check)
