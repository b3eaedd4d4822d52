"""examples/slurm on a real scheduler: starts a one-node Slurm cluster
(Debian's slurm-wlm and munge: its own munge key and socket, slurmctld and
slurmd on free ports, everything under a temporary folder), submits the embed
job array and the merge that depends on it with examples/slurm/submit.sh,
waits for them, and compares the merged folder with a single-machine
`scivec embed` of the same input. The daemons it started are stopped however
the test ends. If Slurm cannot start, the test fails with the reason.

Run by CTest with /usr/bin/python3; env SCIVEC, SV_FIXTURES."""
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

import numpy as np

from testlib import FIX, MODEL, SCIVEC, check, report

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUBMIT = os.path.join(ROOT, "examples", "slurm", "submit.sh")
SNAPSHOT = os.path.join(FIX, "data", "arxiv-metadata-oai-snapshot.sample.jsonl")
SHARDS = 3
TIMEOUT = 90


class SlurmFailed(Exception):
    pass


def free_ports(n):
    """n distinct ports that bind now, below the ephemeral range: a port the
    kernel hands out for port 0 can be taken again by the client sockets of
    tests running beside this one (test_serve_slow opens hundreds) before
    slurmd binds it."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            ephemeral_low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_low = 32768
    rng = random.Random()
    ports = []
    while len(ports) < n:
        port = rng.randrange(10000, max(10001, ephemeral_low))
        if port in ports:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
    return ports


def tail(path, n=8):
    try:
        with open(path, errors="replace") as f:
            return " | ".join(line.strip() for line in f.readlines()[-n:])
    except OSError:
        return "(no log)"


class Cluster:
    """munged + slurmctld + slurmd, all in `root`, stopped by stop()."""

    def __init__(self, root):
        self.root = root
        self.procs = []
        self.env = dict(os.environ, SLURM_CONF=os.path.join(root, "slurm.conf"))
        self.node = "scivec-test-node"

    def start(self):
        r = self.root
        for sub in ("state", "spool", "munge"):
            os.makedirs(os.path.join(r, sub), exist_ok=True)
        os.chmod(os.path.join(r, "munge"), 0o700)
        key = os.path.join(r, "munge", "munge.key")
        with open(key, "wb") as f:
            f.write(os.urandom(1024))
        os.chmod(key, 0o400)
        self.socket = os.path.join(r, "munge", "munge.socket")
        self.run_daemon(["munged", "--force", "--foreground", f"--key-file={key}", f"--socket={self.socket}",
                         f"--pid-file={r}/munge/munged.pid", f"--log-file={r}/munge/munged.log",
                         f"--seed-file={r}/munge/munged.seed"], "munged", f"{r}/munge/munged.log")
        self.wait_for(lambda: os.path.exists(self.socket), "munged's socket", f"{r}/munge/munged.log")
        ncpus = os.cpu_count() or 1
        ctld_port, slurmd_port = free_ports(2)
        with open(os.path.join(r, "slurm.conf"), "w") as f:
            f.write(f"""ClusterName=scivectest
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.socket}
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool
SlurmctldPidFile={r}/slurmctld.pid
SlurmdPidFile={r}/slurmd.pid
SlurmctldLogFile={r}/slurmctld.log
SlurmdLogFile={r}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MinJobAge=600
NodeName={self.node} NodeHostname=localhost NodeAddr=127.0.0.1 CPUs={ncpus} RealMemory=100 State=UNKNOWN
PartitionName=test Nodes={self.node} Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
""")
        self.run_daemon(["slurmctld", "-D", "-i"], "slurmctld", f"{r}/slurmctld.log")
        self.run_daemon(["slurmd", "-D", "-N", self.node], "slurmd", f"{r}/slurmd.log")
        self.wait_for(self.node_ready, "the node to come up (sinfo idle)", f"{r}/slurmd.log")

    def run_daemon(self, argv, name, log):
        try:
            p = subprocess.Popen(argv, env=self.env, stdout=subprocess.DEVNULL, stderr=open(log + ".err", "w"),
                                 start_new_session=True)
        except OSError as e:
            raise SlurmFailed(f"cannot start {name}: {e} (scripts/install-deps.sh installs slurm-wlm and munge)")
        self.procs.append((name, p, log))

    def wait_for(self, ready, what, log, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for name, p, plog in self.procs:
                if p.poll() is not None:
                    raise SlurmFailed(f"{name} exited with {p.returncode} while waiting for {what}: "
                                      f"{tail(plog)} {tail(plog + '.err')}")
            if ready():
                return
            time.sleep(0.2)
        raise SlurmFailed(f"timed out waiting for {what}: {tail(log)}")

    def node_ready(self):
        p = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], env=self.env, capture_output=True, text=True)
        return p.returncode == 0 and p.stdout.strip() in ("idle", "mixed", "allocated")

    def stop(self):
        for name, p, _ in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for name, p, _ in reversed(self.procs):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def job_states(env, job_ids):
    p = subprocess.run(["scontrol", "show", "job", "-o"], env=env, capture_output=True, text=True)
    states = {}
    for line in p.stdout.splitlines():
        fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
        if fields.get("ArrayJobId", fields.get("JobId")) in job_ids or fields.get("JobId") in job_ids:
            states[fields.get("JobId") + "_" + fields.get("ArrayTaskId", "")] = fields.get("JobState")
    return states


def main():
    tmp = tempfile.mkdtemp(prefix="scivec-slurm-")
    cluster = Cluster(os.path.join(tmp, "cluster"))
    try:
        t0 = time.monotonic()
        for attempt in range(3):
            try:
                cluster.start()
                break
            except SlurmFailed as e:
                cluster.stop()
                # a port taken between choosing it and the daemon's bind: new ports, once more
                if "Address already in use" in str(e) and attempt < 2:
                    cluster = Cluster(os.path.join(tmp, f"cluster-{attempt + 1}"))
                    continue
                check(False, f"Slurm could not start: {e}")
                return report("test_slurm")
        started = time.monotonic() - t0
        out = os.path.join(tmp, "run")
        scivec_dir = os.path.dirname(os.path.abspath(SCIVEC))
        env = dict(cluster.env, PATH=scivec_dir + os.pathsep + os.environ.get("PATH", ""))
        p = subprocess.run([SUBMIT, SNAPSHOT, MODEL, out, str(SHARDS), "--cpus-per-task=1", "--mem=100M",
                            "--time=5"], env=env, capture_output=True, text=True)
        check(p.returncode == 0, f"submit.sh failed: {p.stderr}")
        if p.returncode != 0:
            return report("test_slurm")
        words = p.stdout.split()
        array_id, merge_id = words[2], words[4]
        merged = os.path.join(out, "merged")
        end = time.monotonic() + TIMEOUT
        states = {}
        while time.monotonic() < end:
            states = job_states(env, {array_id, merge_id})
            if any(s in ("FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY") for s in states.values()):
                break
            if os.path.exists(os.path.join(merged, "metadata.json")) and \
                    all(s == "COMPLETED" for s in states.values()) and len(states) >= SHARDS + 1:
                break
            time.sleep(0.5)
        logs = " | ".join(f"{n}: {tail(os.path.join(out, n), 3)}" for n in sorted(os.listdir(out)) if n.endswith(".log"))
        check(os.path.exists(os.path.join(merged, "metadata.json")),
              f"the merge did not finish within {TIMEOUT} s: jobs {states}; logs: {logs}; "
              f"slurmctld: {tail(os.path.join(cluster.root, 'slurmctld.log'))}")
        if not os.path.exists(os.path.join(merged, "metadata.json")):
            return report("test_slurm")
        print(f"slurm: daemons up in {started:.1f} s, array + merge done in {time.monotonic() - t0 - started:.1f} s")
        for k in range(SHARDS):
            meta = json.load(open(os.path.join(out, f"shard-{k}", "metadata.json")))
            check(meta.get("shard") == {"k": k, "n": SHARDS}, f"shard-{k}: {meta.get('shard')}")
        single = os.path.join(tmp, "single")
        subprocess.run([SCIVEC, "embed", SNAPSHOT, "--model", MODEL, "--out", single, "--threads", "1"],
                       check=True, capture_output=True)
        a, b = np.load(os.path.join(single, "embeddings.npy")), np.load(os.path.join(merged, "embeddings.npy"))
        check(a.shape == b.shape and float(np.abs(a - b).max()) <= 1e-6, f"merged rows differ: {b.shape} vs {a.shape}")
        q = "SELECT row, paper_id, title, categories, year FROM papers ORDER BY row"
        rows = [sqlite3.connect(os.path.join(d, "papers.db")).execute(q).fetchall() for d in (single, merged)]
        check(rows[0] == rows[1], "merged papers.db rows differ from the single run's")
        pid = rows[0][len(rows[0]) // 2][1]
        sim = [subprocess.run([SCIVEC, "similar", d, pid, "-k", "10", "--json"], capture_output=True,
                              text=True).stdout for d in (single, merged)]
        check(sim[0] == sim[1] and sim[0], f"similar {pid} differs between the merged and the single run")
    finally:
        cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return report("test_slurm")


if __name__ == "__main__":
    sys.exit(main())
