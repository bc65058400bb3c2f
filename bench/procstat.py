#!/usr/bin/env python3
"""CPU time and memory of a process and all its descendants (Linux /proc, stdlib only).

  procstat.py --tree PID -> the PIDs of the process and all its descendants, one line
  procstat.py --threads PREFIX PID -> "cpu_s=<user+sys seconds> nthreads=<n>" of the process's
                        threads whose name starts with PREFIX (Beacon names its DNS workers
                        beacon-dns-N: core/thread_name.h)
  procstat.py PID   -> "cpu_s=<user+sys seconds> hwm_sum_kb=<sum VmHWM> hwm_max_kb=<largest VmHWM>
                        rss_kb=<sum VmRSS> rss_max_kb=<largest VmRSS> pss_kb=<sum Pss> nproc=<count>"
CPU time covers every thread of every process in the tree (utime+stime from /proc/PID/stat).
Sum of VmHWM over-counts pages shared between forked processes (NSD forks); Pss splits them fairly.
"""
import os
import sys

HZ = os.sysconf("SC_CLK_TCK")


def children_map():
    kids = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(p))
    return kids


def tree(pid):
    kids, out, todo = children_map(), [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def status_kb(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kb(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_s(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return 0.0
    fields = st[st.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def thread_cpu(pid, prefix):
    total, n = 0.0, 0
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return 0.0, 0
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                name = f.read().strip()
            if not name.startswith(prefix):
                continue
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        total += (int(fields[11]) + int(fields[12])) / HZ
        n += 1
    return total, n


def main():
    if sys.argv[1] == "--threads":
        cpu, n = thread_cpu(int(sys.argv[3]), sys.argv[2])
        print("cpu_s=%.3f nthreads=%d" % (cpu, n))
        return
    if sys.argv[1] == "--tree":
        print(" ".join(str(p) for p in tree(int(sys.argv[2]))))
        return
    pids = tree(int(sys.argv[1]))
    hwm = [status_kb(p, "VmHWM") for p in pids]
    rss = [status_kb(p, "VmRSS") for p in pids]
    print("cpu_s=%.3f hwm_sum_kb=%d hwm_max_kb=%d rss_kb=%d rss_max_kb=%d pss_kb=%d nproc=%d" % (
        sum(cpu_s(p) for p in pids), sum(hwm), max(hwm or [0]), sum(rss), max(rss or [0]),
        sum(pss_kb(p) for p in pids), len(pids)))


if __name__ == "__main__":
    main()
