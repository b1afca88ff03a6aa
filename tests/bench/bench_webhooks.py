#!/usr/bin/python3
"""Webhook ingestion benchmark (issue 4, "Speed"); `make bench` runs it.

What it measures, in one run on one machine and one database (fsync and
synchronous_commit must be on: it checks, and refuses to run otherwise):

  (a) webhook   our signed WhatsApp endpoint, POST /api/v1/webhooks/meta,
                ~2 KB deliveries (contacts + a text message with an ad
                referral + metadata), each with a new message, spread
                over --tenants organizations (each with a connected Cloud
                API number) and --senders customers per organization;
                wrk on loopback at each of --connections. Throughput is
                what was committed: the deliveries journaled in that run
                over the span of their arrival times.
  (b) ceiling   pgbench running, one delivery per transaction, the
                function the endpoint runs for each delivery
                (api.webhook_ingest; the endpoint runs it inside
                api.webhook_ingest_batch, several deliveries per
                transaction: coalescing is what (a) adds), with a delivery
                the endpoint journaled as parameters
                (tests/bench/ingest.pgbench), spread the same way over
                tenants and senders, at the same client counts and at
                kore's ingest concurrency (2 workers x INGEST_SLOTS of
                app/ingest.c).
  (c) trivial   kore alone: GET /index.html, a static file kore serves
                from memory (filemap), no module code and no database;
                and, for reference, GET /api/v1/health (the module's
                routing plus one SELECT 1).
  floor         at (a)'s committed rate at 32 connections, paced (wrk's
                delay): the static file again, and the same ~2 KB POSTs
                with a malformed X-Hub-Signature-256 (kore reads the
                body, our module answers 401: taking a POST at all).
                Their kore CPU per request is what any request costs
                kore at that rate on this machine, the floor under (a)'s.

For each run it reports requests/s, p50/p99 latency (wrk's own, or
pgbench's per-transaction log), the CPU time of the kore worker processes
(utime + stime from /proc, before and after) per request, the same for
PostgreSQL (the postmaster, its children, and the children it reaped) and
for the load generator, the load average, and how much CPU the rest of
the machine used meanwhile (other people's work on a shared box); for
(a) also, from the journal, how long deliveries spent in kore before
their statement began. (a), (b), (c) run in turn at each count, the
whole round --repeat times (2); each case keeps its best round. Then:

  overload      --overload connections at once (512), once with wrk
                sending again at once after a 503 and once waiting
                --backoff ms (200): the answers by status, and whether
                anything was acknowledged that was not committed
  soak          --soak seconds (300) at a moderate steady rate (wrk's
                delay), sampling the kore workers' RSS every 10 s

Afterwards every delivery must have been journaled and routed, and every
distinct body stored as exactly one new message: the benchmark checks
exactly-once too.
Results go to tests/bench/results/webhooks-<date>.json (everything) and
.md (the tables docs/performance.md quotes).

Requests are precomputed: each body and its X-Hub-Signature-256 is
written as raw HTTP to a file that tests/bench/requests.lua loads into
wrk (each wrk thread keeps its own share), so the load generator spends
its CPU on sending, not on hashing.

    make bench                      # all of it, on a cluster of its own
    make bench BENCH_SOAK=30        # a shorter soak
    # or, in an environment from conf/env.sh (set -a; . conf/env.sh):
    /usr/bin/python3 tests/bench/bench_webhooks.py --seconds 5 --soak 0
"""
import argparse
import glob
import hashlib
import hmac
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import psycopg2

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path[:0] = [os.path.join(ROOT, "tests"), os.path.join(ROOT, "tests/fakes"),
                os.path.join(ROOT, "tests/api")]

from apiclient import signup                          # noqa: E402
from conftest import TEST_PLUGINS, Server             # noqa: E402
from providers import FakeProviders                   # noqa: E402
import webhooks as wh                                 # noqa: E402
from test_webhooks import APP_SECRET, connect         # noqa: E402

BENCH = os.path.join(ROOT, "tests", "bench")
LUA = os.path.join(BENCH, "requests.lua")
PGBENCH_SCRIPT = os.path.join(BENCH, "ingest.pgbench")
WRK_THREADS = 2
HZ = os.sysconf("SC_CLK_TCK")

# Tenant t (1..N) owns number PNID_BASE + t (plus a per-run offset, so
# that the benchmark can run again on the same database); its customer s
# (1..S) writes from SENDER_BASE + t * 1000 + s. A message id holds a
# 19-digit number: 1, 2, 3... for wrk's deliveries, random from 10^15 up
# for pgbench's.
PNID_BASE = 106540000000000 + random.randrange(10000) * 10000
WABA_BASE = 102290000000000 + (PNID_BASE % 10**9)
SENDER_BASE = 4915120000000
WAMID = "wamid.HBgNNDkxNTEyMDAwMDAwMRUCABIYIDNB+/Q0Mz%019dRUYxQUE="


# --- what wrk sends --------------------------------------------------------

NAMES = ["Zoë Müller", "João Pereira", "Ana María López", "Mehmet Yılmaz",
         "Priya Raman", "Chloé Lefèvre", "Nguyễn Văn An", "Sam O'Neill"]
TEXTS = [
    "Hi! I ordered the linen duvet cover (order #{o}) last Tuesday and the "
    "tracking page still says \"label created\". Could you check whether "
    "it actually left the warehouse? I need it before the weekend because "
    "we have guests coming. Also, the confirmation e-mail listed the "
    "queen size but I'm fairly sure I picked king; can you confirm which "
    "one is being shipped and, if it's the wrong one, whether I can still "
    "change it without paying for a second delivery? Thanks a lot — "
    "merci beaucoup, and sorry for the long message! PS: the discount "
    "code from your ad (SPRING30) did not apply at checkout, so I paid "
    "full price; can the difference be refunded to my card? I'm home "
    "all day Thursday and Friday if the courier needs a signature.",
    "Bonjour, je voudrais savoir si la veste en laine (réf. {o}) existe "
    "encore en taille M et en bleu marine. Sur le site elle apparaît "
    "« bientôt disponible » depuis deux semaines. Si elle revient en "
    "stock, est-ce que vous pouvez me la réserver ? Je peux passer au "
    "magasin de Lyon samedi matin. Et est-ce que la remise de 15 % de "
    "la newsletter s'applique aussi aux articles en précommande ? Merci "
    "d'avance pour votre réponse, bonne journée à toute l'équipe. PS : "
    "la dernière fois, le colis est arrivé chez un voisin sans que je "
    "sois prévenue ; est-ce possible d'indiquer « ne pas déposer chez un "
    "tiers » pour cette commande ? Je suis joignable à ce numéro toute "
    "la journée. Encore merci !",
    "Hallo, ich habe gestern über Ihre Anzeige bestellt (Bestellnummer "
    "{o}), aber die Zahlung per Überweisung wurde zweimal abgebucht. "
    "Können Sie bitte prüfen, ob die zweite Buchung automatisch "
    "storniert wird, oder ob ich dafür ein Formular ausfüllen muss? "
    "Außerdem wüsste ich gern, ob die Lieferung nach Österreich "
    "zusätzliche Zollgebühren verursacht. Falls ja, würde ich lieber "
    "an die Adresse meiner Schwester in Passau liefern lassen; geht das "
    "noch, wenn das Paket schon unterwegs ist, und muss ich dafür die "
    "Sendungsnummer angeben? Ich bin tagsüber unter dieser Nummer "
    "erreichbar. Vielen Dank und freundliche Grüße aus Graz!",
]
REFERRAL = {
    "source_url": "https://fb.me/3cr4Wq5K1",
    "source_id": "120208364153560155",
    "source_type": "ad",
    "headline": "Spring sale: 30% off bedding and linen, free returns",
    "body": "Tap to chat with our team on WhatsApp: sizes, stock, "
            "delivery dates and returns, answered by real people.",
    "media_type": "image",
    "image_url": "https://scontent.xx.fbcdn.net/v/t45.1600-4/"
                 "431877285_120208364153530155_2750376318429012457_n.jpg"
                 "?stp=dst-jpg_s600x600&_nc_cat=105&ccb=1-7&_nc_sid=5f2048",
    "ctwa_clid": "ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6"
                 "LEkYuJyjFRvEtnBDpQDXAJd9zBlNFg7kQxDzI4hvCd6aKCwOt",
}


# The message a customer replies to (one of ours, long gone).
REPLIED_TO = "wamid.HBgNNDkxNTEyMDAwMDAwMRUCABEYEjQ2QjVGMUE2RkQ3RjE5QjY5AA=="


def wamid(n):
    return WAMID % n


def delivery_body(t, s, n, rng):
    """A WhatsApp messages webhook of tenant t from its customer s, with
    message n: compact JSON as Meta sends it (wh.meta_json)."""
    pnid, sender = str(PNID_BASE + t), str(SENDER_BASE + t * 1000 + s)
    msg = {"context": {"from": "1555%07d" % t, "id": REPLIED_TO},
           "from": sender, "id": wamid(n),
           "timestamp": str(int(time.time())), "type": "text",
           "text": {"body": rng.choice(TEXTS).format(o=n)},
           "referral": REFERRAL}
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "1555%07d" % t,
                          "phone_number_id": pnid},
             "contacts": [{"profile": {"name": NAMES[s % len(NAMES)]},
                           "wa_id": sender}],
             "messages": [msg]}
    return wh.meta_json({"object": "whatsapp_business_account", "entry": [
        {"id": str(WABA_BASE + t),
         "changes": [{"value": value, "field": "messages"}]}]})


def raw_post(host, body, sig256=None):
    """The bytes of the POST, headers as Meta sends them; sig256 instead
    of the real X-Hub-Signature-256 if given."""
    sha1 = hmac.new(APP_SECRET.encode(), body, hashlib.sha1).hexdigest()
    head = ("POST /api/v1/webhooks/meta HTTP/1.1\r\n"
            "Host: %s\r\n"
            "User-Agent: facebookexternalua\r\n"
            "Accept: */*\r\n"
            "Accept-Encoding: deflate, gzip\r\n"
            "Content-Type: application/json\r\n"
            "X-Hub-Signature: sha1=%s\r\n"
            "X-Hub-Signature-256: %s\r\n"
            "Content-Length: %d\r\n\r\n" % (
                host, sha1, sig256 or wh.sign(body, APP_SECRET), len(body)))
    return head.encode() + body


def raw_get(host, path):
    return ("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: bench\r\n"
            "Accept: */*\r\n\r\n" % (path, host)).encode()


class Deliveries:
    """Distinct deliveries, numbered from 1 across the whole run."""

    def __init__(self, host, tenants, senders):
        self.host, self.tenants, self.senders = host, tenants, senders
        self.n = 0
        self.rng = random.Random(4)
        self.sizes = []

    def one(self, t=None, s=None, sig256=None):
        self.n += 1
        t = t or self.rng.randint(1, self.tenants)
        s = s or self.rng.randint(1, self.senders)
        body = delivery_body(t, s, self.n, self.rng)
        self.sizes.append(len(body))
        return raw_post(self.host, body, sig256)

    def write(self, path, count):
        with open(path, "wb") as f:
            for _ in range(count):
                write_request(f, self.one())


def write_request(f, raw):
    f.write(b"%d\n" % len(raw))
    f.write(raw)


# --- what the processes use -------------------------------------------------

def proc_stat(pid):
    """(ppid, utime + stime, cutime + cstime) in clock ticks, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    f = s[s.rindex(")") + 2:].split()
    return int(f[1]), int(f[11]) + int(f[12]), int(f[13]) + int(f[14])


def children(ppid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = proc_stat(int(d))
            if st and st[0] == ppid:
                out.append(int(d))
    return sorted(out)


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def pg_kind(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            title = f.read().decode("utf-8", "replace")
    except OSError:
        return "backends"
    if "autovacuum" in title:
        return "autovacuum"
    if any(k in title for k in ("checkpointer", "background writer",
                                "walwriter", "logical replication",
                                "stats collector", "archiver")):
        return "background"
    return "backends"


def machine_busy():
    """(busy, total, steal) CPU ticks of the whole machine since boot."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v[:8]) - idle, sum(v[:8]), v[7]


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


class Meter:
    """CPU of the kore workers and of PostgreSQL, read from /proc."""

    def __init__(self, kore_pid, pg_data):
        self.kore_pid = kore_pid
        with open(os.path.join(pg_data, "postmaster.pid")) as f:
            self.pg_pid = int(f.readline())

    def workers(self):
        return children(self.kore_pid)

    def snap(self):
        workers = {p: proc_stat(p) for p in self.workers()}
        kore = sum(st[1] for st in workers.values() if st)
        pm = proc_stat(self.pg_pid)
        # PostgreSQL: the postmaster, its children, and the children it
        # reaped (connections and autovacuum workers that ended).
        procs = {}
        for p in children(self.pg_pid):
            st = proc_stat(p)
            if st:
                procs[p] = (pg_kind(p), st[1])
        pg = pm[1] + pm[2] + sum(t for _, t in procs.values())
        return {"t": time.monotonic(), "kore": kore, "workers": workers,
                "pg": pg, "pg_procs": procs, "machine": machine_busy(),
                "load": loadavg()}

    @staticmethod
    def pg_kinds(a, b):
        """PostgreSQL's CPU ticks between two snaps by kind of process:
        the backends serving connections, autovacuum, the WAL writer,
        checkpointer and other background processes, and "ended": what
        processes that ended meanwhile used (pgbench's connections)."""
        kinds = {"backends": 0, "autovacuum": 0, "background": 0}
        for p, (kind, t) in b["pg_procs"].items():
            kinds[kind] += t - a["pg_procs"].get(p, (kind, 0))[1]
        kinds["ended"] = b["pg"] - a["pg"] - sum(kinds.values())
        return kinds

    @staticmethod
    def delta(a, b, used_by_us):
        """CPU seconds between two snaps; other = what the rest of the
        machine used meanwhile (in cores)."""
        wall = b["t"] - a["t"]
        busy = (b["machine"][0] - a["machine"][0]) / HZ
        steal = (b["machine"][2] - a["machine"][2]) / HZ
        kore = (b["kore"] - a["kore"]) / HZ
        pg = (b["pg"] - a["pg"]) / HZ
        other = max(0.0, busy - kore - pg - used_by_us)
        if set(a["workers"]) != set(b["workers"]):
            print("  warning: kore workers changed during the run "
                  "(%s -> %s)" % (sorted(a["workers"]), sorted(b["workers"])))
        return {"wall_s": round(wall, 3), "kore_cpu_s": round(kore, 3),
                "pg_cpu_s": round(pg, 3),
                "pg_cpu_by_kind_s": {k: round(v / HZ, 3) for k, v in
                                     Meter.pg_kinds(a, b).items()},
                "machine_busy_cores": round(busy / wall, 2),
                "steal_cores": round(steal / wall, 2),
                "other_cores": round(other / wall, 2),
                "load_before": a["load"], "load_after": b["load"]}


def run_child(argv, env=None):
    """Runs argv to the end; (stdout, stderr, its CPU seconds)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen(argv, stdout=out, stderr=err, env=env)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        o, e = out.read().decode(), err.read().decode()
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s%s" % (argv[0], p.returncode,
                                                     o[-2000:], e[-2000:]))
    return o, e, ru.ru_utime + ru.ru_stime


# --- the runs ---------------------------------------------------------------

class Bench:
    def __init__(self, args, srv, meter, tmp):
        self.args, self.srv, self.meter, self.tmp = args, srv, meter, tmp
        self.host = "127.0.0.1:%d" % srv.port
        self.gen = Deliveries(self.host, args.tenants, args.senders)
        self.db = psycopg2.connect(os.environ["ADMIN_DATABASE_URL"])
        self.db.autocommit = True
        self.results = {"webhook": [], "ceiling": [], "ceiling_pool": None,
                        "trivial": [], "health": [], "floor": [],
                        "overload": [],
                        "soak": None}

    def sql(self, q, *a):
        with self.db.cursor() as cur:
            cur.execute(q, a)
            return cur.fetchone()

    def journal_mark(self):
        return self.sql("SELECT coalesce(max(id), 0), (SELECT count(*) "
                        "FROM messages) FROM webhook_deliveries")

    def committed_since(self, mark):
        """Deliveries committed after mark: how many, the span of their
        arrival times, how many new messages and routed keys, and how long
        they spent in kore before their statement began (recorded_at is
        the transaction's now(), received_at when kore had the request),
        p50 and p99 in ms."""
        n, span, waits = self.sql(
            "SELECT count(*), extract(epoch FROM max(received_at) - "
            "min(received_at)), percentile_cont(ARRAY[0.5, 0.99]) WITHIN "
            "GROUP (ORDER BY extract(epoch FROM recorded_at - received_at))"
            " FROM webhook_deliveries WHERE id > %s", mark[0])
        msgs = self.sql("SELECT count(*) FROM messages")[0] - mark[1]
        routed = self.sql(
            "SELECT count(*) FROM webhook_delivery_keys WHERE delivery_id "
            "> %s AND outcome = 'routed' AND (result ->> 'message')::int "
            "= 1", mark[0])[0]
        waits = [round(x * 1000, 2) for x in waits] if waits else [0, 0]
        return n, float(span or 0), msgs, routed, waits

    def wrk(self, requests_file, connections, seconds, statuses=False,
            delay_ms=None, cycle=False, backoff_ms=None):
        env = dict(os.environ, BENCH_REQUESTS=requests_file,
                   BENCH_THREADS=str(WRK_THREADS))
        if statuses:
            env["BENCH_STATUSES"] = "1"
        if delay_ms:
            env["BENCH_DELAY_MS"] = str(delay_ms)
        if backoff_ms:
            env["BENCH_BACKOFF_MS"] = str(backoff_ms)
        out, err, cpu = run_child(
            ["wrk", "-t%d" % WRK_THREADS, "-c%d" % connections,
             "-d%ds" % seconds, "--timeout", "30s", "-s", LUA,
             "http://" + self.host], env=env)
        line = [x for x in out.splitlines() if x.startswith("BENCH_JSON ")]
        res = json.loads(line[-1][len("BENCH_JSON "):])
        res["statuses"] = {str(c): n for c, n in sorted(
            _merge(res["statuses"]).items())}
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        res["non_2xx"] = int(non2xx.group(1)) if non2xx else 0
        res["rps"] = res["requests"] / (res["duration_us"] / 1e6)
        res["wrk_cpu_s"] = round(cpu, 3)
        if res["wraps"] and not cycle:
            print("  warning: wrk ran out of distinct requests (%d wraps)"
                  % res["wraps"])
        return res

    def deliveries_file(self, name, count):
        path = os.path.join(self.tmp, name + ".req")
        self.gen.write(path, count)
        return path

    def webhook(self, connections, seconds, name="webhook", statuses=False,
                delay_ms=None, count=None, during=None, backoff_ms=None):
        """(a): wrk posting distinct signed deliveries."""
        path = self.deliveries_file(
            "%s-%d" % (name, connections),
            count or self.args.max_rate * seconds)
        mark = self.journal_mark()
        a = self.meter.snap()
        if during:
            during.start()
        w = self.wrk(path, connections, seconds, statuses, delay_ms,
                     backoff_ms=backoff_ms)
        if during:
            during.stop()
        time.sleep(0.5)        # what was in flight when wrk stopped
        b = self.meter.snap()
        os.unlink(path)
        n, span, msgs, routed, waits = self.committed_since(mark)
        r = {"connections": connections, "seconds": seconds,
             "backoff_ms": backoff_ms, "committed": n, "new_messages": msgs, "routed_new": routed,
             "rate": round(n / span, 1) if span else 0.0,
             "answered_2xx": w["requests"] - w["non_2xx"],
             "p50_ms": w["latency_us"]["p50"] / 1000,
             "p99_ms": w["latency_us"]["p99"] / 1000,
             "in_kore_p50_ms": waits[0], "in_kore_p99_ms": waits[1],
             "wrk": w}
        r.update(Meter.delta(a, b, w["wrk_cpu_s"]))
        per = max(n, 1)
        r["kore_us_per_req"] = round(r["kore_cpu_s"] / per * 1e6, 1)
        r["pg_us_per_req"] = round(r["pg_cpu_s"] / per * 1e6, 1)
        r["loadgen_us_per_req"] = round(w["wrk_cpu_s"] / per * 1e6, 1)
        # Acknowledged means committed: never more 2xx than rows.
        r["acked_not_committed"] = max(0, r["answered_2xx"] - n)
        return r

    def trivial(self, connections, seconds, path, delay_ms=None):
        """(c): wrk on one GET, again and again."""
        f = os.path.join(self.tmp, "get.req")
        with open(f, "wb") as out:
            # A copy for every wrk thread: requests.lua deals the file's
            # requests out among them, and a thread with none sends
            # nothing on its connections.
            for _ in range(WRK_THREADS):
                write_request(out, raw_get(self.host, path))
        return self.repeated(f, connections, seconds, path, delay_ms)

    def refused(self, connections, seconds, delay_ms):
        """2 KB webhook POSTs whose X-Hub-Signature-256 is malformed:
        read, then answered 401 before any hashing or parsing."""
        f = os.path.join(self.tmp, "refused.req")
        with open(f, "wb") as out:
            for _ in range(64):
                write_request(out, self.gen.one(sig256="sha256=bad"))
        return self.repeated(f, connections, seconds, "refused webhook",
                             delay_ms)

    def repeated(self, f, connections, seconds, path, delay_ms=None):
        a = self.meter.snap()
        w = self.wrk(f, connections, seconds, delay_ms=delay_ms, cycle=True)
        b = self.meter.snap()
        r = {"connections": connections, "seconds": seconds, "path": path,
             "delay_ms": delay_ms,
             "rate": round(w["rps"], 1), "non_2xx": w["non_2xx"],
             "p50_ms": w["latency_us"]["p50"] / 1000,
             "p99_ms": w["latency_us"]["p99"] / 1000, "wrk": w}
        r.update(Meter.delta(a, b, w["wrk_cpu_s"]))
        per = max(w["requests"], 1)
        r["kore_us_per_req"] = round(r["kore_cpu_s"] / per * 1e6, 1)
        r["pg_us_per_req"] = round(r["pg_cpu_s"] / per * 1e6, 1)
        r["loadgen_us_per_req"] = round(w["wrk_cpu_s"] / per * 1e6, 1)
        return r

    def template(self):
        """One delivery sent through the endpoint, read back from the
        journal with its number, sender and message id made placeholders:
        pgbench's parameters."""
        raw = self.gen.one(t=1, s=1)
        n = self.gen.n
        body = raw[raw.index(b"\r\n\r\n") + 4:]
        st, answer = wh.post("http://%s/api/v1/webhooks/meta" % self.host,
                             body, app_secret=APP_SECRET)
        assert st == 200, answer
        delivery = json.loads(answer)["delivery_id"]
        with self.db.cursor() as cur:
            cur.execute("SELECT adapter, family, verification, headers, "
                        "(extract(epoch FROM received_at) * 1000)::bigint, "
                        "events::text, body FROM webhook_deliveries "
                        "WHERE id = %s", (delivery,))
            adapter, family, verif, headers, at, events, body = \
                cur.fetchone()
        meta = json.dumps({"adapter": adapter, "family": family,
                           "verification": verif, "headers": headers,
                           "received_at": at}, separators=(",", ":"))
        subs = [(str(PNID_BASE + 1), "@P@"),
                (str(SENDER_BASE + 1000 + 1), "@S@"), ("%019d" % n, "@N@")]
        for old, new in subs:
            assert old in events and old in body, (old, events)
            events, body = events.replace(old, new), body.replace(old, new)
        return meta, events, body

    def ceiling(self, clients, seconds, tpl):
        """(b): pgbench calling api.webhook_ingest as the endpoint does."""
        meta, events, body = tpl
        logs = os.path.join(self.tmp, "pgbench-%d" % clients)
        os.makedirs(logs, exist_ok=True)
        mark = self.journal_mark()
        a = self.meter.snap()
        out, _, cpu = run_child([
            "pgbench", "-n", "-M", "extended", "-c", str(clients),
            "-j", str(min(WRK_THREADS, clients)), "-T", str(seconds),
            "-f", PGBENCH_SCRIPT, "-l", "--log-prefix",
            os.path.join(logs, "tx"),
            "-D", "tenants=%d" % self.args.tenants,
            "-D", "senders=%d" % self.args.senders,
            "-D", "pbase=%d" % PNID_BASE, "-D", "sbase=%d" % SENDER_BASE,
            "-D", "meta=" + meta, "-D", "events=" + events,
            "-D", "body=" + body, os.environ["DATABASE_URL"]])
        b = self.meter.snap()
        n, _, msgs, routed, _ = self.committed_since(mark)
        lat = []
        for f in glob.glob(os.path.join(logs, "tx.*")):
            with open(f) as fh:
                lat.extend(int(line.split()[2]) for line in fh)
        shutil.rmtree(logs)
        lat.sort()
        tps = float(re.search(r"tps = ([0-9.]+) \(without", out).group(1))
        done = int(re.search(r"actually processed: (\d+)", out).group(1))
        failed = re.search(r"number of failed transactions: (\d+)", out)
        r = {"clients": clients, "seconds": seconds, "rate": round(tps, 1),
             "transactions": done, "committed": n, "new_messages": msgs,
             "routed_new": routed,
             "failed": int(failed.group(1)) if failed else 0,
             "p50_ms": pct(lat, 50) / 1000, "p99_ms": pct(lat, 99) / 1000,
             "loadgen_cpu_s": round(cpu, 3)}
        r.update(Meter.delta(a, b, cpu))
        per = max(n, 1)
        r["kore_us_per_req"] = round(r["kore_cpu_s"] / per * 1e6, 1)
        r["pg_us_per_req"] = round(r["pg_cpu_s"] / per * 1e6, 1)
        r["loadgen_us_per_req"] = round(cpu / per * 1e6, 1)
        return r

    def soak(self, seconds, rate, connections=16):
        """A steady moderate rate; the workers' RSS every 10 s."""
        delay = pacing_ms(connections, rate)
        samples = Sampler(self.meter, 10)
        r = self.webhook(connections, seconds, name="soak", delay_ms=delay,
                         statuses=True, during=samples,
                         count=int(rate * seconds * 1.2) + 1000)
        r["target_rate"] = rate
        r["delay_ms"] = delay
        r["rss"] = samples.summary()
        return r


def pacing_ms(connections, rate):
    """wrk's delay() per request on each connection for about `rate`
    requests/s in all."""
    return max(1, int(round(1000.0 * connections / rate)))


def _merge(pairs):
    out = {}
    for code, n in pairs:
        out[code] = out.get(code, 0) + n
    return out


def pct(values, p):
    if not values:
        return 0
    return values[min(len(values) - 1, int(len(values) * p / 100.0))]


class Sampler:
    """The kore workers' RSS every period seconds, on a thread."""

    def __init__(self, meter, period):
        self.meter, self.period = meter, period
        self.samples = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def start(self):
        self.t0 = time.monotonic()
        self.thread.start()

    def stop(self):
        self.stopping.set()
        self.thread.join()

    def sample(self):
        per = {p: rss_kb(p) for p in self.meter.workers()}
        self.samples.append({"t": round(time.monotonic() - self.t0, 1),
                             "workers_kb": per,
                             "total_kb": sum(v for v in per.values() if v)})

    def loop(self):
        self.sample()
        while not self.stopping.wait(self.period):
            self.sample()
        self.sample()

    def summary(self):
        totals = [s["total_kb"] for s in self.samples]
        pids = sorted({p for s in self.samples for p in s["workers_kb"]})
        return {"first_kb": totals[0], "last_kb": totals[-1],
                "max_kb": max(totals), "min_kb": min(totals),
                "growth_kb": totals[-1] - totals[0], "workers": pids,
                "samples": [[s["t"], s["total_kb"]] for s in self.samples]}


# --- set-up and the run as a whole --------------------------------------------

def check_durability():
    db = psycopg2.connect(os.environ["ADMIN_DATABASE_URL"])
    with db.cursor() as cur:
        out = {}
        for name in ("fsync", "synchronous_commit", "full_page_writes",
                     "wal_sync_method", "shared_buffers", "max_connections",
                     "server_version"):
            cur.execute("SHOW " + name)
            out[name] = cur.fetchone()[0]
    db.close()
    if out["fsync"] != "on" or out["synchronous_commit"] != "on":
        sys.exit("bench: fsync and synchronous_commit must be on (%s)" % out)
    return out


def tenants(srv, fake, n):
    """n organizations, each with its own Cloud API number connected."""
    for t in range(1, n + 1):
        owner = signup(srv.url, org="Bench %d" % t)
        pnid, token = str(PNID_BASE + t), "EAAG-" + uuid.uuid4().hex
        fake.add_whatsapp_number(pnid, str(WABA_BASE + t), "1555%07d" % t,
                                 "Shop %d" % t, token)
        connect(owner, "whatsapp_cloud", {
            "phone_number_id": pnid, "business_account_id":
            str(WABA_BASE + t), "access_token": token}, name="Bench %d" % t)


def machine():
    with open("/proc/cpuinfo") as f:
        model = [x.split(":", 1)[1].strip() for x in f
                 if x.startswith("model name")]
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) // 1024
    kore = subprocess.run(["kore", "-v"], capture_output=True, text=True)
    return {"nproc": os.cpu_count(), "cpu": model[0] if model else "?",
            "mem_mb": mem, "kernel": os.uname().release,
            "kore": (kore.stdout or kore.stderr).strip().splitlines()[0]
            if (kore.stdout or kore.stderr) else "?"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=10,
                    help="length of each measured run")
    ap.add_argument("--connections", default="8,32,128")
    ap.add_argument("--tenants", type=int, default=50)
    ap.add_argument("--senders", type=int, default=40,
                    help="customers per tenant")
    ap.add_argument("--warmup", type=int, default=5, help="seconds")
    ap.add_argument("--repeat", type=int, default=2,
                    help="rounds of (a), (b), (c); each keeps its best")
    ap.add_argument("--overload", default="512",
                    help="connection counts for the overload runs")
    ap.add_argument("--backoff", type=int, default=200,
                    help="ms a connection waits after a 503 (overload)")
    ap.add_argument("--soak", type=int, default=300, help="seconds (0: no)")
    ap.add_argument("--soak-rate", type=float, default=0,
                    help="deliveries/s (0: a third of (a) at 32)")
    ap.add_argument("--max-rate", type=int, default=6000,
                    help="deliveries/s to prepare per run (wrk must not "
                         "run out of distinct ones)")
    ap.add_argument("--out", default=os.path.join(BENCH, "results"))
    ap.add_argument("--render", metavar="JSON",
                    help="only write the .md of an earlier results file")
    args = ap.parse_args()
    if args.render:
        with open(args.render) as f:
            res = json.load(f)
        with open(re.sub(r"\.json$", "", args.render) + ".md", "w") as f:
            f.write(markdown(res))
        return
    conns = [int(x) for x in args.connections.split(",")]

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    settings = check_durability()
    fake = FakeProviders()
    fake.start()
    tmp = tempfile.mkdtemp(prefix="bench-webhooks-")
    srv = Server(tmp, env=dict(fake.bases, PLUGINS=TEST_PLUGINS,
                               META_APP_SECRET=APP_SECRET)).start()
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    try:
        pg_data = os.path.join(os.environ["VAR_DIR"], "pg", "data")
        meter = Meter(srv.proc.pid, pg_data)
        bench = Bench(args, srv, meter, tmp)
        print("setting up %d tenants..." % args.tenants)
        tenants(srv, fake, args.tenants)
        start = bench.journal_mark()
        print("warm-up: %d s at 32 connections" % args.warmup)
        bench.webhook(32, args.warmup, name="warmup")
        # Statistics, as autovacuum gathers them within a minute of the
        # first traffic: without them each database session plans its
        # statements once against empty tables (an index on org_id alone
        # ties with the unique one) and keeps those plans until the
        # first ANALYZE of the table invalidates them, so a benchmark
        # starting on a fresh database measured whichever plan each
        # session happened to cache (docs/performance.md).
        with bench.db.cursor() as cur:
            cur.execute("ANALYZE")
        tpl = bench.template()
        res = bench.results
        # (a), (b) and (c) in turn at each count, the whole round
        # --repeat times; each case keeps its best run (the one least
        # disturbed by whatever else the machine was doing), all are in
        # the JSON under "runs". kore never has more than workers x
        # INGEST_SLOTS ingest statements running: pgbench with as many
        # clients is the ceiling at kore's own database concurrency.
        pool = 2 * int(kore_conf()["ingest_slots"])
        runs = res["runs"] = {"webhook": {}, "ceiling": {}, "trivial": {}}
        for rnd in range(1, args.repeat + 1):
            for c in conns + ([pool] if pool not in conns else []):
                print("round %d, %d connections:" % (rnd, c))
                if c in conns:
                    r = bench.webhook(c, args.seconds)
                    runs["webhook"].setdefault(c, []).append(r)
                    show("  (a) webhook", r)
                r = bench.ceiling(c, args.seconds, tpl)
                runs["ceiling"].setdefault(c, []).append(r)
                show("  (b) pgbench", r)
                if c in conns:
                    r = bench.trivial(c, args.seconds, "/index.html")
                    runs["trivial"].setdefault(c, []).append(r)
                    show("  (c) static ", r)
        for case in ("webhook", "ceiling", "trivial"):
            res[case] = [max(runs[case][c], key=lambda r: r["rate"])
                         for c in conns]
        if pool not in conns:
            res["ceiling_pool"] = max(runs["ceiling"][pool],
                                      key=lambda r: r["rate"])
        res["health"].append(bench.trivial(32, args.seconds,
                                           "/api/v1/health"))
        show("  health@32  ", res["health"][-1])
        # The floor: what any request costs kore at (a)'s rate, paced
        # as wrk's delay() paces the soak.
        at32 = [r for r in res["webhook"] if r["connections"] == 32]
        if at32:
            delay = pacing_ms(32, at32[0]["rate"])
            print("floor at (a)'s rate, 32 connections, %d ms apart:" %
                  delay)
            res["floor"] = [bench.trivial(32, args.seconds, "/index.html",
                                          delay_ms=delay),
                            bench.refused(32, args.seconds, delay)]
            show("  static     ", res["floor"][0])
            show("  refused 401", res["floor"][1])
        # The soak before the overload runs: their peak would leave
        # freed memory resident that could absorb a slow leak.
        if args.soak:
            rate = args.soak_rate or max(50.0, (at32[0]["rate"] if at32
                                                else 300.0) / 3)
            print("soak: %d s at ~%.0f/s" % (args.soak, rate))
            res["soak"] = bench.soak(args.soak, rate)
            show("soak        ", res["soak"])
            print("  RSS of the workers: first %(first_kb)d kB, last "
                  "%(last_kb)d kB, max %(max_kb)d kB" % res["soak"]["rss"])
        # Overload: wrk sending again at once after a refusal (a storm
        # no provider makes), then backing off --backoff ms after one.
        for c in [int(x) for x in args.overload.split(",") if x]:
            for backoff in (None, args.backoff):
                res["overload"].append(bench.webhook(
                    c, args.seconds, name="overload", statuses=True,
                    backoff_ms=backoff))
                show("overload %4d%s" % (c, ", backoff" if backoff else ""),
                     res["overload"][-1])
        res["exactly_once"] = exactly_once(bench, start)
        log = srv.read_log()
        res["worker_deaths"] = log.count("died")
    finally:
        srv.stop()
        fake.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    res.update({"started": started, "machine": machine(),
                "postgresql": settings,
                "kore_conf": kore_conf(),
                "args": vars(args),
                "body_bytes": {"mean": round(statistics.mean(
                    bench.gen.sizes)), "min": min(bench.gen.sizes),
                    "max": max(bench.gen.sizes)}})
    res["ratios"] = ratios(res)
    write_results(res, args.out)
    if not res["exactly_once"]["ok"]:
        sys.exit("exactly-once check failed: %s" % res["exactly_once"])


def kore_conf():
    conf = {"workers": "2 (tests/conftest.py Server)"}
    src = os.path.join(ROOT, "conf", "kore.conf.in")
    with open(src) as f:
        for line in f:
            k = line.split()
            if k and k[0] in ("pgsql_conn_max", "pgsql_queue_limit",
                              "http_request_limit",
                              "worker_max_connections"):
                conf[k[0]] = k[1]
    with open(os.path.join(ROOT, "app", "ingest.c")) as f:
        conf["ingest_slots"] = re.search(
            r"#define\s+INGEST_SLOTS\s+(\d+)", f.read()).group(1)
    return conf


def exactly_once(bench, start):
    """Every delivery of this run journaled, routed, and its message stored
    once: as many new messages as distinct bodies (a body sent again, when
    wrk ran out of new ones, is a duplicate and adds nothing)."""
    keys = bench.sql("SELECT count(*) FILTER (WHERE outcome <> 'routed'), "
                     "count(*) FILTER (WHERE outcome = 'routed' AND "
                     "coalesce((result ->> 'message')::int, 0) + "
                     "coalesce((result ->> 'duplicate')::int, 0) <> 1), "
                     "count(DISTINCT d.body_sha256) FROM "
                     "webhook_delivery_keys k JOIN webhook_deliveries d "
                     "ON d.id = k.delivery_id WHERE k.delivery_id > %s",
                     start[0])
    # Messages not sent yet have no provider id: not duplicates.
    dup = bench.sql("SELECT count(*) FROM (SELECT provider_message_id FROM "
                    "messages WHERE provider_message_id IS NOT NULL "
                    "GROUP BY org_id, channel_id, "
                    "provider_message_id HAVING count(*) > 1) d")[0]
    deliveries = bench.sql("SELECT count(*) FROM webhook_deliveries "
                           "WHERE id > %s", start[0])[0]
    messages = bench.sql("SELECT count(*) FROM messages")[0] - start[1]
    out = {"deliveries": deliveries, "distinct_bodies": keys[2],
           "messages": messages, "keys_not_routed": keys[0],
           "keys_not_one_message": keys[1], "duplicate_messages": dup}
    out["ok"] = (keys[0] == 0 and keys[1] == 0 and dup == 0 and
                 messages == keys[2])
    return out


def show(label, r):
    extra = ""
    if r.get("wrk", {}).get("statuses"):
        extra = " statuses %s" % r["wrk"]["statuses"]
    elif r.get("non_2xx") or r.get("wrk", {}).get("non_2xx"):
        extra = " non-2xx %d" % (r.get("non_2xx") or r["wrk"]["non_2xx"])
    if "in_kore_p99_ms" in r:
        extra = " in kore p50/p99 %.1f/%.1f ms%s" % (
            r["in_kore_p50_ms"], r["in_kore_p99_ms"], extra)
    kinds = "/".join("%.2f" % v for v in r["pg_cpu_by_kind_s"].values())
    print("%s %9.1f/s  p50 %7.2f ms  p99 %7.2f ms  kore %6.1f us  "
          "pg %7.1f us (s: %s)  other %.2f steal %.2f%s" % (
              label, r["rate"], r["p50_ms"], r["p99_ms"],
              r["kore_us_per_req"], r["pg_us_per_req"], kinds,
              r["other_cores"], r["steal_cores"], extra))


def ratios(res):
    """(a)/(b) and (a)/(c) at each connection count, and (a) over the
    best (b) of the run, whatever its client count."""
    ceilings = res["ceiling"] + ([res["ceiling_pool"]]
                                 if res.get("ceiling_pool") else [])
    best = max(ceilings, key=lambda b: b["rate"])
    out = []
    for a, b, c in zip(res["webhook"], res["ceiling"], res["trivial"]):
        out.append({"connections": a["connections"],
                    "a_over_b": round(a["rate"] / b["rate"], 3)
                    if b["rate"] else None,
                    "a_over_best_b": round(a["rate"] / best["rate"], 3),
                    "best_b_clients": best["clients"],
                    "a_over_c": round(a["rate"] / c["rate"], 4)
                    if c["rate"] else None})
    return out


def write_results(res, outdir):
    os.makedirs(outdir, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M")
    base = os.path.join(outdir, "webhooks-" + stamp)
    with open(base + ".json", "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
    with open(base + ".md", "w") as f:
        f.write(markdown(res))
    print("results: %s.json, %s.md" % (base, base))


def markdown(res):
    m, pg = res["machine"], res["postgresql"]
    L = ["# Webhook ingestion benchmark, %s" % res["started"], "",
         "Machine: %d CPUs (%s), %d MB, Linux %s; %s; PostgreSQL %s "
         "(fsync %s, synchronous_commit %s, wal_sync_method %s). "
         "wrk, kore (2 workers), PostgreSQL and the driver share the "
         "CPUs. Bodies: %d bytes on average (%d-%d). %d tenants, %d "
         "customers each. Kore: %s." % (
             m["nproc"], m["cpu"], m["mem_mb"], m["kernel"], m["kore"],
             pg["server_version"], pg["fsync"], pg["synchronous_commit"],
             pg["wal_sync_method"], res["body_bytes"]["mean"],
             res["body_bytes"]["min"], res["body_bytes"]["max"],
             res["args"]["tenants"], res["args"]["senders"],
             ", ".join("%s %s" % kv for kv in sorted(
                 res["kore_conf"].items()))), "",
         "Each case ran once per round (%d rounds, each %d s, in turn); "
         "the row is its best round, every round's rate is listed. "
         "req/s: committed deliveries per second for (a) (journal rows "
         "over the span of their arrival times), pgbench's tps for (b), "
         "wrk's rate for (c). p50/p99: as the load generator saw them. "
         "\"in kore\": from kore having the request to its statement "
         "beginning (signature, parsing, waiting for a slot). CPU "
         "columns are CPU time per request (microseconds) of the kore "
         "workers, of PostgreSQL and of wrk or pgbench; \"other\" is what "
         "the rest of the machine used meanwhile (cores), \"load\" the "
         "1-minute load average after the run." % (
             res["args"].get("repeat", 1), res["args"]["seconds"]), "",
         "| case | conns | req/s | every round | p50 ms | p99 ms | in kore "
         "p50/p99 ms | kore µs | PG µs | loadgen µs | other | load | "
         "non-2xx |",
         "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | "
         "--- | --- | --- |"]

    def row(name, r, conns, case=None):
        by_count = res.get("runs", {}).get(case, {})
        rounds = by_count.get(conns, by_count.get(str(conns), []))
        every = " / ".join("%.0f" % x["rate"] for x in rounds)
        bad = r.get("non_2xx", r.get("wrk", {}).get("non_2xx",
                                                     r.get("failed", 0)))
        wait = ("%.1f / %.1f" % (r["in_kore_p50_ms"], r["in_kore_p99_ms"])
                if "in_kore_p50_ms" in r else "")
        L.append("| %s | %d | %.0f | %s | %.2f | %.2f | %s | %.1f | %.1f | "
                 "%.1f | %.2f | %.2f | %s |" % (
                     name, conns, r["rate"], every, r["p50_ms"], r["p99_ms"],
                     wait,
                     r["kore_us_per_req"], r["pg_us_per_req"],
                     r["loadgen_us_per_req"], r["other_cores"],
                     r["load_after"][0], bad))

    for a, b, c in zip(res["webhook"], res["ceiling"], res["trivial"]):
        row("(a) webhook", a, a["connections"], "webhook")
        row("(b) pgbench ingest", b, b["clients"], "ceiling")
        row("(c) static file", c, c["connections"], "trivial")
    if res.get("ceiling_pool"):
        b = res["ceiling_pool"]
        row("(b) pgbench, kore's ingest concurrency", b, b["clients"],
            "ceiling")
    for h in res["health"]:
        row("health (1 query)", h, h["connections"])
    for f in res.get("floor", []):
        row("floor at (a)'s rate: %s, %d ms apart" % (
            "static file" if f["path"] == "/index.html" else f["path"],
            f["delay_ms"]), f, f["connections"])
    L += ["", "| conns | (a)/(b) | (a)/(best b: %d clients) | (a)/(c) |" %
          res["ratios"][0]["best_b_clients"], "| --- | --- | --- | --- |"]
    for r in res["ratios"]:
        L.append("| %d | %s | %s | %s |" % (
            r["connections"], r["a_over_b"], r["a_over_best_b"],
            r["a_over_c"]))
    if res["overload"]:
        L += ["", "Overload:", "",
              "| conns | after a 503 | committed/s | p50 ms | p99 ms | "
              "max ms | answers by status | acknowledged, not committed |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for o in res["overload"]:
            L.append("| %d | %s | %.0f | %.1f | %.1f | %.1f | %s | %d |" % (
                o["connections"], "waits %d ms" % o["backoff_ms"]
                if o["backoff_ms"] else "sends again at once",
                o["rate"], o["p50_ms"], o["p99_ms"],
                o["wrk"]["latency_us"]["max"] / 1000,
                ", ".join("%s: %d" % kv for kv in
                          o["wrk"]["statuses"].items()),
                o["acked_not_committed"]))
    s = res["soak"]
    if s:
        r = s["rss"]
        L += ["", "Soak: %d s at %.0f deliveries/s committed (16 "
              "connections), p99 %.2f ms, statuses %s. RSS of the kore "
              "workers (sum): first %d kB, last %d kB, max %d kB, growth "
              "%+d kB; kore %.1f µs per delivery." % (
                  s["seconds"], s["rate"], s["p99_ms"],
                  s["wrk"]["statuses"], r["first_kb"], r["last_kb"],
                  r["max_kb"], r["growth_kb"], s["kore_us_per_req"]), "",
              "RSS samples (s, kB): " + ", ".join(
                  "%s: %d" % (t, kb) for t, kb in r["samples"])]
    e = res["exactly_once"]
    L += ["", "Exactly once: %d deliveries committed (%d distinct "
          "bodies; the rest sent again after wrk wrapped around), %d new "
          "messages, %d keys not routed, %d keys with other than one "
          "message or duplicate, %d messages stored twice: %s. Worker "
          "deaths in the kore log: %d." % (
              e["deliveries"], e["distinct_bodies"], e["messages"],
              e["keys_not_routed"], e["keys_not_one_message"],
              e["duplicate_messages"], "ok" if e["ok"] else "FAILED",
              res["worker_deaths"]), ""]
    return "\n".join(L)


if __name__ == "__main__":
    main()
