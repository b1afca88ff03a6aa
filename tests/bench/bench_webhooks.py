#!/usr/bin/python3
"""Webhook ingestion benchmark: how many deliveries a kore node takes per
second, against a trivial endpoint on the same machine in the same run
(the architecture brief reports benchmarks as ratios, since the absolute
numbers depend on the box).

It starts the fake providers and a kore of its own on the environment's
database (as the API tests do), connects a WhatsApp number, and runs wrk
against:

  health        GET /api/v1/health (one trivial query): the baseline
  new           signed deliveries of one new message each (all distinct)
  redelivery    one signed delivery again and again (all duplicates)
  batch100      signed deliveries of 100 new messages each

Every request is precomputed (body and X-Hub-Signature-256) into a Lua
table that wrk cycles through. Afterwards the inbox must hold exactly one
row per distinct message sent: the benchmark doubles as a check of
exactly-once under load.

    set -a; . conf/env.sh; /usr/bin/python3 tests/bench/bench_webhooks.py
    (options: --seconds 10 --connections 16)
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import psycopg2

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path[:0] = [os.path.join(ROOT, "tests"), os.path.join(ROOT, "tests/fakes"),
                os.path.join(ROOT, "tests/api")]

from apiclient import signup                          # noqa: E402
from conftest import TEST_PLUGINS, Server             # noqa: E402
from providers import FakeProviders                   # noqa: E402
import webhooks as wh                                 # noqa: E402
from test_webhooks import APP_SECRET, digits, whatsapp  # noqa: E402


WRK_THREADS = 2


def lua_string(b):
    return '"' + "".join("\\%03d" % c for c in b) + '"'


LUA_TAIL = """
-- Thread i sends requests i, i + T, i + 2T...: no two threads send the
-- same one (each has a Lua state of its own). wrk.format runs in init,
-- once wrk knows the Host.
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("id", threads)
end
init = function(args)
  for i, r in ipairs(raw) do
    reqs[i] = wrk.format(r[1], r[2], r[3], r[4])
  end
  raw = nil
  n = id - 1 - T
end
request = function()
  n = n + T
  return reqs[n % #reqs + 1]
end
local shown = false
response = function(status, headers, body)
  if status >= 300 and not shown then
    shown = true
    io.stderr:write(status .. " " .. body .. "\\n")
  end
end
"""


def write_script(path, requests_):
    """A wrk script cycling through (method, path, headers, body)."""
    with open(path, "w") as f:
        f.write("local raw = {}\nlocal reqs = {}\nlocal T = %d\n" %
                WRK_THREADS)
        for method, url, headers, body in requests_:
            hs = ", ".join('["%s"] = "%s"' % kv for kv in headers.items())
            f.write('raw[#raw + 1] = {"%s", "%s", {%s}, %s}\n' % (
                method, url, hs,
                lua_string(body) if body is not None else "nil"))
        f.write(LUA_TAIL)


def delivery(pnid, nmessages):
    body = wh.meta_json(wh.whatsapp_payload(pnid, messages=[
        wh.whatsapp_text("bench", sender=digits(11))
        for _ in range(nmessages)]))
    return ("POST", "/api/v1/webhooks/meta",
            {"Content-Type": "application/json",
             "X-Hub-Signature-256": wh.sign(body, APP_SECRET)}, body)


def run_wrk(url, script, seconds, connections):
    out = subprocess.run(["wrk", "-t%d" % WRK_THREADS, "-c%d" % connections,
                          "-d%ds" % seconds, "-s", script, url],
                         capture_output=True, text=True, check=True)
    if out.stderr:
        print("first refusal:", out.stderr.splitlines()[0][:300])
    out = out.stdout
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    latency = re.search(r"Latency\s+(\S+)", out).group(1)
    return rps, total, int(bad.group(1)) if bad else 0, latency


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=16)
    args = ap.parse_args()

    fake = FakeProviders()
    fake.start()
    tmp = tempfile.mkdtemp(prefix="bench-webhooks-")
    srv = Server(tmp, env=dict(fake.bases, PLUGINS=TEST_PLUGINS,
                               META_APP_SECRET=APP_SECRET)).start()
    try:
        owner = signup(srv.url)
        ch = whatsapp(owner, fake)
        # Enough distinct deliveries that wrk never comes round again.
        cap = 4000 * args.seconds
        cases = {
            "health": [("GET", "/api/v1/health", {}, None)],
            "new": [delivery(ch["pnid"], 1) for _ in range(cap)],
            "redelivery": [delivery(ch["pnid"], 1)],
            "batch100": [delivery(ch["pnid"], 100)
                         for _ in range(cap // 40)],
        }
        results = {}
        for name, reqs in cases.items():
            script = os.path.join(tmp, name + ".lua")
            write_script(script, reqs)
            results[name] = run_wrk(srv.url, script, args.seconds,
                                    args.connections)
            if results[name][1] > len(reqs) and name in ("new", "batch100"):
                print("warning: %s wrapped around (%d requests, %d "
                      "distinct)" % (name, results[name][1], len(reqs)))

        base = results["health"][0]
        print("%-11s %10s %10s %10s %8s %9s" % (
            "case", "req/s", "msgs/s", "vs health", "non-2xx", "latency"))
        for name, (rps, total, bad, lat) in results.items():
            per = {"new": 1, "batch100": 100}.get(name, 0)
            print("%-11s %10.0f %10s %9.2fx %8d %9s" % (
                name, rps, "%.0f" % (rps * per) if per else "-",
                rps / base, bad, lat))

        # Exactly once under load: one row per distinct message sent.
        # (wrk counts answered requests; up to one per connection was
        # still in flight when it stopped.)
        c = args.connections
        sent = min(results["new"][1] + c, len(cases["new"])) + 100 * min(
            results["batch100"][1] + c, len(cases["batch100"])) + 1
        db = psycopg2.connect(os.environ["ADMIN_DATABASE_URL"])
        with db.cursor() as cur:
            cur.execute("SELECT count(*) FROM messages WHERE org_id = %s",
                        (owner.org_id,))
            stored = cur.fetchone()[0]
        db.close()
        print("messages stored: %d (distinct sent, answered or not: "
              "at most %d)" % (stored, sent))
        if stored > sent:
            sys.exit("more rows than distinct messages: not exactly once")
    finally:
        srv.stop()
        fake.stop()


if __name__ == "__main__":
    main()
