"""Drover side of the pod start benchmark. Talks to the API server as a client (TLS with the
kubeconfig's client certificate): for each round, N pods already bound to the node
(spec.nodeName) are created at once from N parallel connections (at most 16); one watch on the
namespace stamps every event with a monotonic local clock. Pods are named
[PREFIX]ps-N-ROUND-I. Per pod: bind = its ADDED event
(the pod exists, bound), running = the first event with status.phase Running, ready = the
first with condition Ready=True (Kubernetes' status timestamps have 1 s resolution: unused).
Between rounds every pod is deleted (gracePeriodSeconds=0) and the agent's sandboxes are waited
for to be gone. Prints the raw samples as JSON on stdout, progress on stderr."""
import argparse, base64, http.client, json, os, ssl, sys, tempfile, threading, time
from concurrent.futures import ThreadPoolExecutor

ap = argparse.ArgumentParser()
ap.add_argument("--kubeconfig", required=True)  # `kubectl config view --raw -o json`
ap.add_argument("--node", required=True)
ap.add_argument("--plan", required=True)  # "N:ROUNDS,..."
ap.add_argument("--sandboxes", required=True)  # the agent's root/sandboxes
ap.add_argument("--image", default="busybox:latest")
ap.add_argument("--ns", default="default")
ap.add_argument("--prefix", default="")  # of the pods' names (a pass of bench.sh --base)
a = ap.parse_args()

now = time.monotonic
kc = json.load(open(a.kubeconfig))
cluster = kc["clusters"][0]["cluster"]
user = kc["users"][0]["user"]
tmp = tempfile.mkdtemp(prefix="podstart-tls.")


def material(data_key, file_key, src, name):
    if src.get(file_key):
        return src[file_key]
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(base64.b64decode(src[data_key]))
    return path


ctx = ssl.create_default_context(cafile=material("certificate-authority-data", "certificate-authority",
                                                 cluster, "ca.crt"))
ctx.load_cert_chain(material("client-certificate-data", "client-certificate", user, "c.crt"),
                    material("client-key-data", "client-key", user, "c.key"))
hostport = cluster["server"].split("://", 1)[1].rstrip("/")
for f in os.listdir(tmp):
    os.unlink(os.path.join(tmp, f))
os.rmdir(tmp)

tls = threading.local()


def conn():
    if getattr(tls, "c", None) is None:
        tls.c = http.client.HTTPSConnection(hostport, context=ctx, timeout=60)
    return tls.c


def req(method, path, body=None):
    for attempt in range(2):
        c = conn()
        try:
            c.request(method, path, body=json.dumps(body) if body is not None else None,
                      headers={"Content-Type": "application/json", "Accept": "application/json"})
            r = c.getresponse()
            data = r.read()
            return r.status, json.loads(data) if data else None
        except (http.client.HTTPException, OSError):
            c.close()
            tls.c = None
            if attempt:
                raise


def log(msg):
    print("podstart: " + msg, file=sys.stderr, flush=True)


events = {}  # name -> {"bind": t, "running": t, "ready": t}
ev_lock = threading.Lock()
ev_cond = threading.Condition(ev_lock)
watch_error = []


def watcher(rv):
    """One watch from rv; when the server ends it (a request timeout), again from the last
    resourceVersion seen."""
    while True:
        c = http.client.HTTPSConnection(hostport, context=ctx, timeout=3600)
        c.request("GET", "/api/v1/namespaces/%s/pods?watch=1&allowWatchBookmarks=true"
                  "&resourceVersion=%s" % (a.ns, rv))
        r = c.getresponse()
        if r.status != 200:
            watch_error.append("watch: HTTP %d %s" % (r.status, r.read()[:200]))
            with ev_cond:
                ev_cond.notify_all()
            return
        while True:
            line = r.readline()
            t = now()
            if not line:
                break
            ev = json.loads(line)
            o = ev.get("object", {})
            rv = o.get("metadata", {}).get("resourceVersion") or rv
            if ev.get("type") == "ERROR":
                watch_error.append("watch: %s" % o.get("message"))
                with ev_cond:
                    ev_cond.notify_all()
                return
            name = o.get("metadata", {}).get("name")
            if ev.get("type") not in ("ADDED", "MODIFIED") or not name:
                continue
            st = o.get("status", {})
            with ev_cond:
                e = events.setdefault(name, {})
                e.setdefault("bind", t)
                if st.get("phase") == "Running":
                    e.setdefault("running", t)
                for cond in st.get("conditions") or []:
                    if cond.get("type") == "Ready" and cond.get("status") == "True":
                        e.setdefault("ready", t)
                ev_cond.notify_all()
        c.close()


def pod(name):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": a.ns, "labels": {"bench": "podstart"}},
            "spec": {"nodeName": a.node, "terminationGracePeriodSeconds": 0,
                     "containers": [{"name": "c", "image": a.image, "command": ["sleep", "3600"],
                                     "resources": {"limits": {"memory": "64Mi", "cpu": "100m"}}}]}}


def create(name):
    t = now()
    s, o = req("POST", "/api/v1/namespaces/%s/pods" % a.ns, pod(name))
    if s != 201:
        raise SystemExit("create %s: HTTP %d %s" % (name, s, o))
    return name, t


def delete(name):
    s, o = req("DELETE", "/api/v1/namespaces/%s/pods/%s" % (a.ns, name), {"gracePeriodSeconds": 0})
    if s not in (200, 202, 404):
        raise SystemExit("delete %s: HTTP %d %s" % (name, s, o))


def wait_until(pred, deadline_s, what):
    end = now() + deadline_s
    while not pred():
        if now() > end:
            raise SystemExit("timed out waiting for " + what)
        time.sleep(0.05)


s, lst = req("GET", "/api/v1/namespaces/%s/pods" % a.ns)
if s != 200:
    raise SystemExit("list pods: HTTP %d %s" % (s, lst))
threading.Thread(target=watcher, args=(lst["metadata"]["resourceVersion"],), daemon=True).start()
plan = [(int(n), int(r)) for n, r in (x.split(":") for x in a.plan.split(","))]
out = {"plan": plan, "rounds": []}
pool = ThreadPoolExecutor(max_workers=16)
seq = 0
for n, rounds in plan:
    for rd in range(rounds):
        names = ["%sps-%d-%d-%d" % (a.prefix, n, rd, i) for i in range(n)]
        seq += 1
        created = dict(pool.map(create, names))
        with ev_cond:
            ok = ev_cond.wait_for(lambda: watch_error or all(
                "running" in events.get(x, {}) and "ready" in events.get(x, {}) for x in names),
                timeout=300)
        if watch_error:
            raise SystemExit(watch_error[0])
        if not ok:
            missing = [x for x in names if "ready" not in events.get(x, {})]
            raise SystemExit("%d pods not Ready after 300 s: %s" % (len(missing), missing[:5]))
        with ev_lock:
            pods = {x: {"create": created[x], **events[x]} for x in names}
        t0 = min(p["create"] for p in pods.values())
        res = {"n": n, "round": rd,
               "pods": {x: {"bind_ms": (p["bind"] - t0) * 1e3,
                            "running_ms": (p["running"] - p["bind"]) * 1e3,
                            "ready_ms": (p["ready"] - p["bind"]) * 1e3,
                            "create_to_ready_ms": (p["ready"] - p["create"]) * 1e3,
                            # CLOCK_MONOTONIC, as the agent's log: the two joined
                            "bind_mono_ms": p["bind"] * 1e3, "running_mono_ms": p["running"] * 1e3}
                        for x, p in pods.items()}}
        out["rounds"].append(res)
        r = sorted(v["running_ms"] for v in res["pods"].values())
        log("drover %3d pods, round %d/%d: bind->Running p50 %.1f ms, max %.1f ms"
            % (n, rd + 1, rounds, r[len(r) // 2], r[-1]))
        list(pool.map(delete, names))
        wait_until(lambda: not os.listdir(a.sandboxes), 300, "the agent to remove its sandboxes")
        wait_until(lambda: req("GET", "/api/v1/namespaces/%s/pods?labelSelector=bench%%3Dpodstart"
                               % a.ns)[1]["items"] == [], 120, "the pods to be gone")
print(json.dumps(out))
