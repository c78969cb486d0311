"""A real PostgreSQL 15 server for the integration tests: initdb and pg_ctl in a temporary
directory (as the postgres user when run as root: the server refuses root), on a loopback
port, stopped and removed at the end. Queries go through psql."""
import os
import shutil
import subprocess
import tempfile

from collector_harness import free_port

PG_BIN = "/usr/lib/postgresql/15/bin"


class PgServer:
    def __init__(self, name="pg", settings=()):
        if not os.path.exists(os.path.join(PG_BIN, "initdb")):
            raise RuntimeError(f"no PostgreSQL 15 server binaries in {PG_BIN} (scripts/setup.sh)")
        self.dir = tempfile.mkdtemp(prefix=f"es-{name}-")
        self.as_ = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_:
            shutil.chown(self.dir, "postgres", "postgres")
        self.port = free_port()
        self.data = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "server.log")
        self._run([f"{PG_BIN}/initdb", "-D", self.data, "-U", "edusight", "--auth=trust",
                   "--no-locale", "-E", "UTF8", "--no-sync"])
        options = [f"-k {self.dir}", f"-p {self.port}", "-h 127.0.0.1",
                   "-c max_connections=100", *(f"-c {s}" for s in settings)]
        self._run([f"{PG_BIN}/pg_ctl", "-D", self.data, "-l", self.log_path, "-w", "-t", "60",
                   "-o", " ".join(options), "start"])
        self.running = True

    def _run(self, argv):
        p = subprocess.run(self.as_ + argv, capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)}: {p.stdout}{p.stderr}")
        return p.stdout

    def uri(self, db="edusight"):
        return f"postgresql://edusight@127.0.0.1:{self.port}/{db}"

    def create_database(self, db="edusight"):
        self.psql("postgres", f'CREATE DATABASE "{db}"')
        return self.uri(db)

    def psql(self, db, sql):
        """Rows as lists of strings (unaligned, tab-separated)."""
        p = subprocess.run(["psql", "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                            "-h", "127.0.0.1", "-p", str(self.port), "-U", "edusight", "-d", db,
                            "-c", sql], capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise RuntimeError(f"psql: {sql}: {p.stderr}")
        return [line.split("\t") for line in p.stdout.splitlines() if line]

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.running:
            subprocess.run(self.as_ + [f"{PG_BIN}/pg_ctl", "-D", self.data, "-m", "fast", "-w",
                                       "stop"], capture_output=True, timeout=60)
            self.running = False
        shutil.rmtree(self.dir, ignore_errors=True)
