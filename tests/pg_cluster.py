"""A throwaway PostgreSQL cluster for the store tests: initdb in a temporary folder, a unix socket there, no TCP.

initdb and the server refuse to run as root, so as root (CI containers) they run as an unprivileged user
(``nobody``, which every Debian has) through ``runuser``; as anyone else they run as that user. The folder is
made with ``mkdtemp`` in the system temp dir (pytest's own tmp dirs are mode 0700 under root's name, which
``nobody`` could not enter) and removed when the session ends.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "geoplan"
PORT = 5432  # only names the socket file inside our own folder: no TCP listener, so no clash


def find_bin_dir() -> Path | None:
    """The folder with initdb and pg_ctl: Debian's versioned one (newest first), else whatever PATH has."""
    for cand in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True):
        if Path(cand, "initdb").is_file() and Path(cand, "pg_ctl").is_file():
            return Path(cand)
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return Path(os.path.realpath(pg_ctl)).parent
    return None


@dataclass
class Cluster:
    bin_dir: Path
    root: Path
    run_as: str | None  # None: this user

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@/{dbname}?host={self.socket_dir}&port={PORT}"

    def _cmd(self, *args: str) -> list[str]:
        prefix = ["runuser", "-u", self.run_as, "--"] if self.run_as else []
        return [*prefix, *args]

    def run(self, *args: str, timeout: float = 60) -> None:
        res = subprocess.run(self._cmd(*args), capture_output=True, text=True, timeout=timeout, cwd=self.root)
        if res.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed ({res.returncode}): {res.stderr or res.stdout}\n{tail}")

    def start(self) -> None:
        data = self.root / "data"
        self.socket_dir.mkdir()
        if self.run_as:
            user = pwd.getpwnam(self.run_as)
            for p in (self.root, self.socket_dir):
                os.chown(p, user.pw_uid, user.pw_gid)
        self.run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        opts = f"-k {self.socket_dir} -p {PORT} -c listen_addresses='' -c fsync=off -c full_page_writes=off"
        self.run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-o",
            opts,
            "start",
        )

    def stop(self) -> None:
        try:
            self.run(str(self.bin_dir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _unprivileged_user() -> str:
    """``nobody``, or a system user made for the purpose where there is no such user."""
    for name in ("nobody", "geoplan-pg"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "geoplan-pg"], check=True
    )
    return "geoplan-pg"


def start_cluster() -> Cluster:
    """Start a cluster (raise ``FileNotFoundError`` when there are no PostgreSQL binaries)."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise FileNotFoundError("no PostgreSQL server binaries (initdb, pg_ctl): apt-get install postgresql")
    run_as = None
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            raise FileNotFoundError("running as root needs runuser (util-linux) to start PostgreSQL as nobody")
        run_as = _unprivileged_user()
    # /tmp rather than $TMPDIR: the unprivileged user must enter it, and a unix socket path is short (107 bytes).
    root = Path(tempfile.mkdtemp(prefix="geoplan-pg-", dir="/tmp" if os.path.isdir("/tmp") else None))
    os.chmod(root, 0o755)
    cluster = Cluster(bin_dir, root, run_as)
    try:
        cluster.start()
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return cluster
