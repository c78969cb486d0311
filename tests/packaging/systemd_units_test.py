"""packaging.systemd_units: the packaged systemd units pass `systemd-analyze verify` (no
warning either: an unknown or misspelt setting is only a warning there) and keep their
sandbox: `systemd-analyze security --offline` exposure at most MAX_EXPOSURE.

The units are checked inside a scratch root holding the host's systemd units (targets the
units name) and stand-ins for the executables they run, so neither the packages nor a
running systemd are needed."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
UNITS = os.path.join(HERE, "..", "..", "packaging", "systemd")
MAX_EXPOSURE = {"edusight-collector.service": 2.0, "edusight-agent.service": 2.5}


def main():
    analyze = shutil.which("systemd-analyze")
    if not analyze or not os.path.isdir("/usr/lib/systemd/system"):
        print("SKIP: systemd-analyze or /usr/lib/systemd/system missing (apt-get install systemd)")
        return 77
    root = tempfile.mkdtemp(prefix="es-units-")
    try:
        os.makedirs(os.path.join(root, "usr", "bin"))
        os.makedirs(os.path.join(root, "etc"))
        shutil.copytree("/usr/lib/systemd", os.path.join(root, "usr", "lib", "systemd"),
                        symlinks=True)
        os.symlink("usr/lib", os.path.join(root, "lib"))
        os.symlink("usr/bin", os.path.join(root, "bin"))
        for name in ("edusight-collector", "edusight-agent", "kill"):
            path = os.path.join(root, "usr", "bin", name)
            with open(path, "w") as f:
                f.write("#!/bin/sh\n")
            os.chmod(path, 0o755)
        failures = []
        for unit in sorted(MAX_EXPOSURE):
            shutil.copy(os.path.join(UNITS, unit),
                        os.path.join(root, "usr", "lib", "systemd", "system", unit))
            p = subprocess.run([analyze, "verify", "--root=" + root, "/lib/systemd/system/" + unit],
                               capture_output=True, text=True, timeout=120)
            out = (p.stdout + p.stderr).strip()
            print(f"verify {unit}: exit {p.returncode}" + (f"\n{out}" if out else ""))
            if p.returncode != 0 or out:
                failures.append(f"systemd-analyze verify {unit}: {out or p.returncode}")
            p = subprocess.run([analyze, "security", "--offline=yes", "--root=" + root, unit],
                               capture_output=True, text=True, timeout=120)
            m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", p.stdout)
            if not m:
                failures.append(f"systemd-analyze security {unit}: no exposure level\n{p.stdout}{p.stderr}")
                continue
            exposure = float(m.group(1))
            print(f"security {unit}: exposure {exposure} (at most {MAX_EXPOSURE[unit]})")
            for line in p.stdout.splitlines():
                if line.startswith("\u2717"):
                    print("  " + re.sub(r"\s{2,}", "  ", line.strip()))
            if exposure > MAX_EXPOSURE[unit]:
                failures.append(f"{unit}: exposure {exposure} > {MAX_EXPOSURE[unit]}")
        for f in failures:
            print("FAIL: " + f)
        return 1 if failures else 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
