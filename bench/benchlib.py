"""Shared by the bench/*.py scripts (stdlib only): reading numbers that may be missing, medians,
percentiles and Markdown tables; a free loopback port and waiting for an HTTP server.

Missing figures are NaN throughout: f() turns '', 'nan' and junk into NaN, med() and spread()
skip NaN, and the n_* formatters print NaN as "n/a".
"""
import socket
import statistics
import time
import urllib.request


def f(x):
    """A TSV/JSON cell as a float; NaN when it is missing or not a number."""
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def ok(v):
    """False for NaN."""
    return v == v


def med(vals):
    vals = [v for v in vals if ok(v)]
    return statistics.median(vals) if vals else float("nan")


def spread(vals):
    """Half the range as a share of the median: ±(max-min)/2/median."""
    vals = [v for v in vals if ok(v)]
    if len(vals) < 2:
        return ""
    m = statistics.median(vals)
    return "" if m == 0 else " ±%.0f%%" % (100.0 * (max(vals) - min(vals)) / 2 / m)


def pct(sorted_vals, p):
    """The p-th percentile (nearest rank) of an ascending list; NaN when it is empty."""
    if not sorted_vals:
        return float("nan")
    k = min(len(sorted_vals) - 1, max(0, int(round(p / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[k]


def n_int(x):
    return "n/a" if not ok(x) else "{:,}".format(int(round(x)))


def n_fix(x, d):
    return "n/a" if not ok(x) else "%.*f" % (d, x)


def ratio(a, b):
    return a / b if ok(a) and ok(b) and b != 0 else float("nan")


def n_ratio(r):
    return "n/a" if not ok(r) else "%.2f×" % r


def table(header, rows):
    """A Markdown table: header is a list of strings, rows a list of lists of strings."""
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def free_port():
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url, timeout=30):
    """Returns once url answers (any HTTP status); RuntimeError after timeout seconds."""
    end = time.time() + timeout
    while time.time() < end:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("no answer from " + url)
