#!/usr/bin/python3
"""Outbound benchmark: how fast queued messages reach a provider, as
ratios to what the provider itself can take, measured in the same run
(absolute numbers depend on the box; the architecture brief asks for
ratios).

It starts the fake providers and a kore of its own on the environment's
database (as the API tests do), connects WhatsApp numbers at the fakes,
and measures:

  ceiling      the fake provider alone: wrk posting WhatsApp sends to it
               (it answers at once); what no sender can beat on this box
  drain        N messages queued first, then one dispatcher (and then
               two) started: sends per second until the last is sent
  end-to-end   API calls (from several threads) and dispatchers at once:
               sends per second from the first API call to the last
               message sent
  paced        1,000 messages over 50 numbers, each with a configured
               rate far below the ceiling: how close each number's
               achieved rate comes to its rate (the dispatcher paces at
               DISPATCH_RATE_PERCENT, 95% by default, of it), and that
               the fake refused none (it enforces each number's rate in
               any one-second window)

The per-number rate is set very high for drain and end-to-end, so that
only the dispatcher and the fake limit them: the dispatcher is the
bottleneck if it is well below the ceiling. Afterwards every message
must have been sent exactly once (the fakes record each request).

    set -a; . conf/env.sh; /usr/bin/python3 tests/bench/bench_outbound.py
    (options: --messages 2000 --channels 4 --seconds 5)
"""
import argparse
import collections
import concurrent.futures
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import psycopg2
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path[:0] = [os.path.join(ROOT, "tests"), os.path.join(ROOT, "tests/fakes"),
                os.path.join(ROOT, "tests/api")]

from apiclient import Client, new_token, signup       # noqa: E402
from conftest import TEST_PLUGINS, Server, free_port  # noqa: E402
from test_dispatcher import Dispatcher                # noqa: E402
from test_sending import APP_SECRET, digits, whatsapp  # noqa: E402

TEMPLATE = {"type": "template", "template": {
    "name": "order_update", "language": "en_US",
    "components": [{"type": "body", "parameters": [
        {"type": "text", "text": "7781"}]}]}}
FAST = 100000           # a per-number rate that limits nothing


class Sent:
    """A request the fake recorded, from its control API."""

    def __init__(self, d):
        self.d = d
        self.time, self.status = d["time"], d["status"]

    def json(self):
        return self.d["json"]

    def header(self, name):
        return {k.lower(): v for k, v in self.d["headers"].items()}.get(
            name.lower())


class RemoteFake:
    """tests/fakes/providers.py in a process of its own, driven through
    its control API: the provider's timing is not disturbed by this
    script (Python runs one thread at a time)."""

    def __init__(self):
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "tests/fakes/providers.py"),
             "--port", str(self.port), "--quiet", "--no-demo"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.http = requests.Session()
        for _ in range(100):
            try:
                self.http.get(self.url + "/_control/state", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        self.bases = {"GRAPH_API_BASE": self.url + "/graph/v23.0",
                      "INSTAGRAM_API_BASE": self.url + "/instagram/v23.0",
                      "D360_API_BASE": self.url + "/d360",
                      "EXAMPLE_API_BASE": self.url + "/example"}

    def control(self, path, body):
        r = self.http.post(self.url + "/_control/" + path, json=body,
                           timeout=30)
        r.raise_for_status()
        return r.json()

    def add_whatsapp_number(self, phone_number_id, waba_id,
                            display_phone_number, verified_name, tokens):
        self.control("accounts/whatsapp", {
            "phone_number_id": phone_number_id, "waba_id": waba_id,
            "display_phone_number": display_phone_number,
            "verified_name": verified_name, "tokens": tokens})

    def rate_limit(self, account_id, per_second):
        self.control("rate_limit", {"account_id": account_id,
                                    "per_second": per_second})

    def reset(self):
        self.control("reset", {"accounts": False})

    def requests(self, path=None, method=None):
        r = self.http.get(self.url + "/_control/requests", params={
            "path": path, "method": method}, timeout=60)
        r.raise_for_status()
        return [Sent(d) for d in r.json()["requests"]]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def ceiling(fake, ch, seconds, connections, tmp):
    """wrk against the fake's send endpoint: its requests per second."""
    script = os.path.join(tmp, "ceiling.lua")
    body = ('{"messaging_product":"whatsapp","to":"15550001111",'
            '"type":"text","text":{"body":"bench"}}')
    with open(script, "w") as f:
        f.write('wrk.method = "POST"\n')
        f.write('wrk.body = \'%s\'\n' % body)
        f.write('wrk.headers["Content-Type"] = "application/json"\n')
        f.write('wrk.headers["Authorization"] = "Bearer %s"\n' % ch["token"])
    url = "%s/%s/messages" % (fake.bases["GRAPH_API_BASE"], ch["pnid"])
    out = subprocess.run(["wrk", "-t2", "-c%d" % connections,
                          "-d%ds" % seconds, "-s", script, url],
                         capture_output=True, text=True, check=True).stdout
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        sys.exit("the fake refused %s of wrk's sends" % bad.group(1))
    return float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))


class Bench:
    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix="bench-outbound-")
        self.fake = RemoteFake()
        self.env = dict(self.fake.bases, PLUGINS=TEST_PLUGINS,
                        META_APP_SECRET=APP_SECRET)
        self.srv = Server(self.tmp, env=self.env).start()
        self.db = psycopg2.connect(os.environ["ADMIN_DATABASE_URL"])
        self.db.autocommit = True
        self.owner = signup(self.srv.url)
        token, _ = new_token(self.owner)
        self.token = token

    def close(self):
        self.db.close()
        self.srv.stop()
        self.fake.stop()

    def channels(self, n, rate):
        chans = [whatsapp(self.owner, self.fake) for _ in range(n)]
        with self.db.cursor() as cur:
            cur.execute("UPDATE channels SET send_rate = %s WHERE id = "
                        "ANY(%s::uuid[])", (rate, [c["id"] for c in chans]))
        return chans

    def queue(self, chans, n, threads=8):
        """n new-conversation templates spread over chans, from several
        threads: the message ids, and the first call's start time."""
        jobs = [(chans[i % len(chans)]["id"], "1555" + digits(8))
                for i in range(n)]

        def one(job):
            c = Client(self.srv.url, token=self.token, origin=False)
            r = c.post("/api/v1/messages", dict(TEMPLATE, channel_id=job[0],
                                                to=job[1]))
            if r.status_code != 202:
                raise RuntimeError(r.text)
            return r.json()["id"]
        start = time.time()
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            ids = list(pool.map(one, jobs))
        return ids, start, time.time()

    def wait_sent(self, ids, timeout=600):
        """When the last of ids was sent (by the database's clock, as
        seen from here), polling."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.db.cursor() as cur:
                cur.execute("SELECT count(*) FROM messages WHERE "
                            "id = ANY(%s::uuid[]) AND status = 'sent'",
                            (ids,))
                if cur.fetchone()[0] == len(ids):
                    return time.time()
            time.sleep(0.05)
        sys.exit("not everything was sent in time")

    def dispatchers(self, n, **env):
        ds = []
        if self.args.inflight:
            env.setdefault("DISPATCH_MAX_INFLIGHT", self.args.inflight)
        for kv in self.args.env:
            k, _, v = kv.partition("=")
            env.setdefault(k, v)
        for _ in range(n):
            e = dict(self.env, DISPATCH_VERBOSE="0")
            e.update({k: str(v) for k, v in env.items()})
            ds.append(Dispatcher(self.tmp, e).start())
        return ds

    def sends(self, chans):
        refs = []
        for ch in chans:
            refs.extend(r.json().get("biz_opaque_callback_data")
                        for r in self.fake.requests(
                            path=rf"/{ch['pnid']}/messages$", method="POST")
                        if r.status == 200)
        return refs

    def exactly_once(self, chans, ids):
        refs = [x for x in self.sends(chans) if x is not None]
        counts = collections.Counter(refs)
        dup = sum(1 for x in ids if counts[x] > 1)
        missing = sum(1 for x in ids if counts[x] == 0)
        return dup, missing


def paced(b, args, rows, problems):
    """1,000 messages over 50 numbers, each at its own configured rate,
    which together stay well below what the fake takes on this box; the
    fake enforces each number's rate in any one-second window."""
    if not args.paced_rate:
        args.paced_rate = max(1, min(80, int(b.top / 3 /
                                             args.paced_channels)))
    chans = b.channels(args.paced_channels, args.paced_rate)
    for ch in chans:
        b.fake.rate_limit(ch["pnid"], args.paced_rate)
    ids, _, _ = b.queue(chans, args.paced_messages)
    start = time.time()
    ds = b.dispatchers(1)
    end = b.wait_sent(ids)
    for d in ds:
        d.stop()
    achieved, refused = [], 0
    for ch in chans:
        reqs = b.fake.requests(path=rf"/{ch['pnid']}/messages$",
                               method="POST")
        refused += sum(1 for r in reqs if r.status != 200)
        ok = [r.time for r in reqs if r.status == 200]
        if len(ok) > 1:
            achieved.append((len(ok) - 1) / (ok[-1] - ok[0]))
        b.fake.rate_limit(ch["pnid"], None)
    ratios = [a / args.paced_rate for a in achieved]
    rows.append(("paced: %d msgs over %d numbers at %d/s, total" % (
        len(ids), len(chans), args.paced_rate), len(ids) / (end - start),
        None))
    b.paced_summary = (
        "\npaced, per number: achieved / configured rate: min %.2f, "
        "median %.2f, max %.2f (the dispatcher paces at %s%% of it); "
        "expected drain %.1f s, took %.1f s; %d refused by the provider" % (
            min(ratios), statistics.median(ratios), max(ratios),
            os.environ.get("DISPATCH_RATE_PERCENT", "95"),
            (args.paced_messages / args.paced_channels - 1) /
            args.paced_rate, end - start, refused))
    dup, missing = b.exactly_once(chans, ids)
    if dup or missing or refused:
        problems.append("paced: %d sent twice, %d missing, %d refused by "
                        "the provider's rate limit" % (dup, missing,
                                                       refused))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--channels", type=int, default=4)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--paced-channels", type=int, default=50)
    ap.add_argument("--paced-messages", type=int, default=1000)
    ap.add_argument("--paced-rate", type=int, default=0,
                    help="per number; default: what keeps the total at a "
                    "third of the fake's ceiling, at most 80")
    ap.add_argument("--inflight", type=int, default=0,
                    help="DISPATCH_MAX_INFLIGHT (default: the dispatcher's)")
    ap.add_argument("--only", choices=("drain", "end-to-end", "paced"),
                    help="one case (after the ceiling)")
    ap.add_argument("--env", action="append", default=[],
                    help="NAME=VALUE for the dispatchers, e.g. "
                    "DISPATCH_LEAD_MS=20")
    args = ap.parse_args()

    b = Bench(args)
    rows, problems = [], []
    try:
        probe = b.channels(1, FAST)[0]
        top = b.top = ceiling(b.fake, probe, args.seconds,
                              args.connections, b.tmp)
        rows.append(("fake ceiling (wrk, %d connections)" %
                     args.connections, top, 1.0))
        b.fake.reset()

        for n in (1, 2) if args.only in (None, "drain") else ():
            chans = b.channels(args.channels, FAST)
            ids, _, _ = b.queue(chans, args.messages)
            start = time.time()
            ds = b.dispatchers(n)
            end = b.wait_sent(ids)
            for d in ds:
                d.stop()
            rate = len(ids) / (end - start)
            rows.append(("drain, %d dispatcher%s" % (n, "s" if n > 1 else
                                                     ""), rate, rate / top))
            dup, missing = b.exactly_once(chans, ids)
            if dup or missing:
                problems.append("drain/%d: %d sent twice, %d missing" %
                                (n, dup, missing))

        for n in (1, 2) if args.only in (None, "end-to-end") else ():
            chans = b.channels(args.channels, FAST)
            ds = b.dispatchers(n)
            ids, start, queued = b.queue(chans, args.messages)
            end = b.wait_sent(ids)
            for d in ds:
                d.stop()
            rate = len(ids) / (end - start)
            rows.append(("API call to sent, %d dispatcher%s" % (
                n, "s" if n > 1 else ""), rate, rate / top))
            rows.append(("  (of which API calls alone)",
                         len(ids) / (queued - start),
                         len(ids) / (queued - start) / top))
            dup, missing = b.exactly_once(chans, ids)
            if dup or missing:
                problems.append("end-to-end/%d: %d sent twice, %d missing"
                                % (n, dup, missing))

        if args.only in (None, "paced"):
            paced(b, args, rows, problems)
        print("\n%-46s %10s %12s" % ("case", "sends/s", "vs ceiling"))
        for name, rate, ratio in rows:
            print("%-46s %10.0f %12s" % (name, rate, "-" if ratio is None
                                         else "%.2f" % ratio))
        if args.only in (None, "paced"):
            print(b.paced_summary)
        if problems:
            sys.exit("\n".join(problems))
        print("every message sent exactly once")
    finally:
        b.close()


if __name__ == "__main__":
    main()
