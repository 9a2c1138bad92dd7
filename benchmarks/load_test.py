"""Classroom load test: many browser sessions turning knobs at once against one `streamlit run`.

    python benchmarks/load_test.py [--sessions 30] [--duration 300] [--think 1,3] [--json out.json]
    python benchmarks/load_test.py --url http://127.0.0.1:8501 [--server-pid PID]   # attach

Starts ``streamlit run app.py`` on 127.0.0.1 (a free port; or attaches to ``--url``), opens N
sessions as browser contexts of ONE headless Debian chromium (async Playwright, so they
interleave in one process), each with its own random design in the URL (preset, input size,
split ratio, growth rate).  Until ``--duration`` is up, each session thinks for a random time
and then either

* turns a knob on the Design page (input size, growth rate or split ratio: type, Enter) and
  times how long until the metrics show the numbers of *its* design and the script is idle, or
* goes to the Diagram page by the sidebar, checks the drawn diagram's caption, sometimes turns
  the layout knob (top-to-bottom / left-to-right) and times the redraw, and comes back.

After every step the session checks that the page shows its own design (cross-talk check): the
URL's query parameters, the five metric values (computed here with the engine, exactly as the
app formats them), the knob's input value and the sidebar summary.  Errors counted: an
``st.exception`` or ``st.error`` element, an uncaught page error, a crashed page, a step that
timed out.  The server's RSS (the streamlit process and its children, from /proc) is sampled
every second.  Stops by itself: each step has a time limit and the whole run a hard limit.

Prints: sessions, knob changes, errors, cross-talk violations, p50/p95/max update time, peak RSS.
Linux only (/proc).  Needs Debian's chromium and playwright (the e2e requirements).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import statistics
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# the launcher shared with the tests and the other benchmarks
from app_ui.launch import CHROMIUM_ARGS, free_port, start_server, stop_server, wait_healthy  # noqa: E402

HAS_DOT = shutil.which("dot") is not None  # same machine as the server (loopback)
ERROR_SEL = "[data-testid='stException'], [data-testid='stAlertContentError']"

# JS helpers (evaluated in the page)
STATE_JS = ("() => { const a = document.querySelector(\"[data-testid='stApp']\");"
            " return a ? a.getAttribute('data-test-script-state') : null; }")
METRICS_JS = ("() => Array.from(document.querySelectorAll(\"[data-testid='stMetricValue']\"))"
              ".map(e => e.innerText.trim())")
# idle, and the metric values are the expected ones
DESIGN_READY_JS = ("(exp) => { const a = document.querySelector(\"[data-testid='stApp']\");"
                   " if (!a || a.getAttribute('data-test-script-state') !== 'notRunning') return false;"
                   " const v = Array.from(document.querySelectorAll(\"[data-testid='stMetricValue']\"))"
                   ".map(e => e.innerText.trim());"
                   " return JSON.stringify(v) === JSON.stringify(exp); }")
# idle on the Diagram page, its caption names the expected numbers, and a diagram is drawn:
# returns 'TB' (st.graphviz_chart's svg) or 'LR' (the wide <img>), else false; with a layout given,
# only that layout counts.
DIAGRAM_READY_JS = ("([head, tail, want]) => { const a = document.querySelector(\"[data-testid='stApp']\");"
                    " if (!a || a.getAttribute('data-test-script-state') !== 'notRunning') return false;"
                    " if (!location.pathname.endsWith('/Diagram')) return false;"
                    " const caps = Array.from(document.querySelectorAll(\"[data-testid='stCaptionContainer']\"));"
                    " if (!caps.some(c => c.innerText.includes(head) && c.innerText.includes(tail))) return false;"
                    " const svg = document.querySelector(\"[data-testid='stGraphVizChart'] svg\");"
                    " const img = document.querySelector(\"img[alt^='network diagram']\");"
                    " const got = img && !svg ? 'LR' : (svg && !img ? 'TB' : null);"
                    " if (!got || (want && got !== want)) return false;"
                    " return got; }")

KNOB_VALUES = {
    "input_size": [128, 160, 192, 224, 256, 288, 320, 352],
    "growth_rate": [12, 16, 20, 24, 28, 32, 36, 40, 48],
    "split_ratio": [0.25, 0.375, 0.5, 0.625, 0.75],
}


# ----------------------------------------------------------------------------- expected views
class Expected:
    """What the app must show for a design: computed here with the same engine and formatting."""

    def __init__(self):
        from cspnet import all_presets, get_preset
        from explorer.counts.analysis import compare_with_twin, summarize
        from explorer.design import to_query
        from explorer.design.edits import apply_edits
        from explorer.fmt import si

        self._si, self._cmp, self._sum = si, compare_with_twin, summarize
        self._to_query, self._apply = to_query, apply_edits
        self.presets = list(all_presets())
        self.get_preset = get_preset
        self._metrics: dict = {}
        self._info: dict = {}

    def metrics(self, cfg) -> list:
        k = cfg.key()
        if k not in self._metrics:
            d = self._cmp(cfg, 1)["deltas"]
            self._metrics[k] = [self._si(m["design"]) for m in d.values()]
        return self._metrics[k]

    def diagram_info(self, cfg) -> str:
        """The part of the Diagram page's caption that depends on the design."""
        k = cfg.key()
        if k not in self._info:
            s = self._sum(cfg)
            self._info[k] = (f"{cfg.name}: ", f"{self._si(s['params'])} parameters, {self._si(s['macs'], 'MAC')} "
                             f"at {cfg.input_size}×{cfg.input_size}.")
        return self._info[k]

    def query(self, cfg, preset) -> dict:
        return self._to_query(cfg, preset)

    def edit(self, cfg, name: str, value):
        """The design after typing ``value`` into knob ``name`` (as app.on_knob does), or None."""
        text = repr(round(value, 6)) if isinstance(value, float) else str(value)
        try:
            out = self._apply(cfg, {name: text}, latest=name)
        except Exception:  # noqa: BLE001 - an option we do not send
            return None
        if out.errors or not out.changed:
            return None
        return out.cfg

    def knobs(self, cfg) -> list:
        names = ["input_size"]
        if cfg.family in ("densenet", "peleenet"):
            names.append("growth_rate")
        if cfg.fusion != "none":
            names.append("split_ratio")
        return names


def input_text(name: str, value) -> str:
    """What the knob's input box shows for a value (app.py formats)."""
    if name == "split_ratio":
        return f"{value:.3f}"
    return str(value)


# ----------------------------------------------------------------------------- /proc sampling
def _proc_table() -> dict:
    """pid -> (ppid, rss_bytes, cpu_ticks) for every process we can read."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                stat = fh.read()
            rest = stat[stat.rindex(")") + 2:].split()
            ppid, utime, stime, rss_pages = int(rest[1]), int(rest[11]), int(rest[12]), int(rest[21])
        except (OSError, ValueError, IndexError):
            continue
        out[int(d)] = (ppid, rss_pages * os.sysconf("SC_PAGE_SIZE"), utime + stime)
    return out


def _tree(table: dict, root: int) -> set:
    kids: dict = {}
    for pid, (ppid, _, _) in table.items():
        kids.setdefault(ppid, []).append(pid)
    seen, todo = set(), [root]
    while todo:
        p = todo.pop()
        if p in seen or p not in table:
            continue
        seen.add(p)
        todo.extend(kids.get(p, []))
    return seen


def _machine_used() -> int:
    """Bytes of memory in use on the machine (MemTotal - MemAvailable)."""
    info = {}
    with open("/proc/meminfo") as fh:
        for line in fh:
            k, v = line.split(":", 1)
            info[k] = int(v.split()[0]) * 1024
    return info["MemTotal"] - info.get("MemAvailable", info.get("MemFree", 0))


def _machine_busy() -> tuple[int, int]:
    with open("/proc/stat") as fh:
        vals = [int(x) for x in fh.readline().split()[1:]]
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
    return sum(vals) - idle, sum(vals)


@dataclass
class Sampler:
    """Samples every second: RSS of the server tree (the streamlit process and its children, e.g.
    Graphviz's dot) and of this script's tree (playwright's driver, chromium), CPU seconds of both,
    memory in use."""

    server_pid: int | None
    samples: list = field(default_factory=list)  # (t, server_rss, client_rss, machine_used, server_procs)
    cpu: dict = field(default_factory=lambda: {"server": 0.0, "client": 0.0})
    busy: list = field(default_factory=list)     # [(busy, total) first, last] of /proc/stat
    _last: dict = field(default_factory=dict)    # pid -> cpu ticks at the last sample

    def _exe(self, pid: int) -> str | None:
        try:
            return os.readlink(f"/proc/{pid}/exe")
        except OSError:
            return None

    def sample(self) -> tuple:
        table = _proc_table()
        server = _tree(table, self.server_pid) if self.server_pid else set()
        # a child caught between (v)fork and exec still maps the server's memory: not counted twice
        exe = self._exe(self.server_pid) if self.server_pid else None
        server = {p for p in server if p == self.server_pid or self._exe(p) != exe}
        client = _tree(table, os.getpid()) - server
        hz = os.sysconf("SC_CLK_TCK")
        first = not self._last
        for group, pids in (("server", server), ("client", client)):
            for p in pids:
                ticks = table[p][2]
                if not first:  # a process new since the last sample counts from 0
                    self.cpu[group] += max(0, ticks - self._last.get(p, 0)) / hz
        self._last = {p: table[p][2] for p in server | client}
        row = (time.monotonic(), sum(table[p][1] for p in server), sum(table[p][1] for p in client),
               _machine_used(), len(server))
        self.samples.append(row)
        b = _machine_busy()
        self.busy = [self.busy[0] if self.busy else b, b]
        return row

    async def run(self, stop: asyncio.Event, every: float = 1.0) -> None:
        while not stop.is_set():
            self.sample()
            try:
                await asyncio.wait_for(stop.wait(), timeout=every)
            except asyncio.TimeoutError:
                pass


# ----------------------------------------------------------------------------- server
def note_pages(pages: dict, fm) -> bool:
    """Record the app's page hashes (page name -> script hash) from a new_session or navigation message."""
    kind = fm.WhichOneof("type")
    if kind not in ("new_session", "navigation"):
        return False
    app_pages = fm.new_session.app_pages if kind == "new_session" else fm.navigation.app_pages
    pages.update({p.page_name: p.page_script_hash for p in app_pages})
    return True


# ----------------------------------------------------------------------------- sessions
TIMES = ("update", "diagram_update", "load", "switch", "trace")


@dataclass
class Stats:
    """Figures of all sessions; times (s) per client kind ('browser' or 'ws') and step kind:
    update = knob -> numbers on the Design page, diagram_update = layout knob -> redrawn
    diagram, load = first page load, switch = page switch by the sidebar, trace = the live trace
    toggled on until its verdict shows (it builds the real model: seconds)."""
    times: dict = field(default_factory=lambda: {c: {k: [] for k in TIMES} for c in ("browser", "ws")})
    sessions_opened: Counter = field(default_factory=Counter)
    knob_changes: int = 0
    diagram_visits: int = 0
    traces: int = 0
    errors: Counter = field(default_factory=Counter)
    error_samples: list = field(default_factory=list)
    crosstalk: int = 0
    crosstalk_samples: list = field(default_factory=list)
    checks: int = 0
    console_errors: int = 0
    offline_fetches: int = 0
    console_samples: list = field(default_factory=list)

    def error(self, sid: int, kind: str, detail: str) -> None:
        self.errors[kind] += 1
        if len(self.error_samples) < 20:
            self.error_samples.append(f"session {sid}: {kind}: {detail[:1500]}")


class BaseSession:
    """A user: its own random design, think time, knob turns and Diagram visits, and checks."""

    kind = "?"

    def __init__(self, sid: int, base: str, exp: Expected, stats: Stats, args, registry: dict):
        self.sid, self.base, self.exp, self.stats, self.args = sid, base, exp, stats, args
        self.rng = random.Random(args.seed * 1000 + sid)
        self.registry = registry  # sid -> current query of every session (to name cross-talk)
        self.preset = None
        self.cfg = None
        self.timeout_ms = args.step_timeout * 1000

    def pick_design(self) -> None:
        """A random design that no other session has (so a wrong one shown is someone else's)."""
        taken = list(self.registry.values())
        for _ in range(50):
            self.preset = self.rng.choice(self.exp.presets)
            cfg = self.exp.get_preset(self.preset)
            for name in self.exp.knobs(cfg):
                if name == "input_size" or self.rng.random() < 0.6:
                    new = self.exp.edit(cfg, name, self.rng.choice(KNOB_VALUES[name]))
                    cfg = new or cfg
            if self.exp.query(cfg, self.preset) not in taken:
                break
        self.set_design(cfg)

    def pick_knob(self):
        """(knob, value, new design) that changes the shown numbers, or None."""
        names = self.exp.knobs(self.cfg)
        for _ in range(10):
            name = self.rng.choice(names)
            value = self.rng.choice(KNOB_VALUES[name])
            new = self.exp.edit(self.cfg, name, value)
            if new is not None and self.exp.metrics(new) != self.exp.metrics(self.cfg):
                return name, value, new
        return None

    def set_design(self, cfg) -> None:
        self.cfg = cfg
        self.registry[self.sid] = self.exp.query(cfg, self.preset)

    def record(self, what: str, seconds: float) -> None:
        self.stats.times[self.kind][what].append(seconds)

    def crosstalk(self, where: str, problems: list, shown_query: dict) -> None:
        others = [s for s, q in self.registry.items() if s != self.sid and q == shown_query]
        self.stats.crosstalk += 1
        if len(self.stats.crosstalk_samples) < 20:
            self.stats.crosstalk_samples.append(
                f"{self.kind} session {self.sid} {where}: " + "; ".join(problems)[:400]
                + (f" (the URL is session(s) {others}'s design)" if others else ""))

    def sidebar_problems(self, text: str) -> list:
        from cspnet.config import FIELDS

        bits = [self.cfg.name, f"input {self.cfg.input_size}"]
        if FIELDS["split_ratio"].reads(self.cfg.family):   # (the sidebar names it where the family reads it)
            bits.append(f"split ratio {self.cfg.split_ratio:g}")
        return [f"sidebar lacks {bit!r}" for bit in bits if bit not in text]

    async def open(self) -> bool:
        raise NotImplementedError

    async def recover(self) -> None:
        raise NotImplementedError

    async def turn_knob(self) -> None:
        raise NotImplementedError

    async def visit_diagram(self) -> None:
        raise NotImplementedError

    async def live_trace(self) -> None:  # in chromium: a knob turn instead
        await self.turn_knob()

    async def close(self) -> None:
        pass

    async def run(self, phase: "Phase") -> None:
        self.pick_design()
        if self.args.ramp:
            await asyncio.sleep(self.rng.uniform(0, self.args.ramp))
        try:
            if not await self.open():
                await self.recover()
        except Exception as exc:  # noqa: BLE001 - counted; the session still takes part
            self.stats.error(self.sid, "open failed", repr(exc))
        deadline = await phase.opened()  # the knob phase starts when every session is open
        lo, hi = self.args.think
        while True:
            await asyncio.sleep(self.rng.uniform(lo, hi))
            if time.monotonic() >= deadline:
                break
            r = self.rng.random()
            if r < self.args.diagram_prob:
                await self.visit_diagram()
            elif r < self.args.diagram_prob + self.args.trace_prob:
                await self.live_trace()
            else:
                await self.turn_knob()


class BrowserSession(BaseSession):
    """A user in a browser context of the shared headless chromium."""

    kind = "browser"

    def __init__(self, sid: int, ctx, *a):
        super().__init__(sid, *a)
        self.ctx = ctx
        self.page = None

    async def close(self) -> None:
        await self.ctx.close()

    def url(self, path: str = "") -> str:
        return f"{self.base}/{path}?{urlencode(self.exp.query(self.cfg, self.preset), safe=',')}"

    # --- checks
    async def check(self, where: str, page_kind: str = "design", knob: tuple | None = None) -> bool:
        """No error element, and the page shows this session's design."""
        p = self.page
        n_err = await p.locator(ERROR_SEL).count()
        if n_err:
            txt = await p.locator(ERROR_SEL).first.inner_text()
            self.stats.error(self.sid, "error element", f"{where}: {txt}")
            return False
        self.stats.checks += 1
        problems = []
        href = await p.evaluate("() => location.href")
        shown = dict(parse_qsl(urlsplit(href).query))
        want = self.exp.query(self.cfg, self.preset)
        if shown != want:
            problems.append(f"URL {shown} != {want}")
        if page_kind == "design":
            vals = await p.evaluate(METRICS_JS)
            if vals != self.exp.metrics(self.cfg):
                problems.append(f"metrics {vals} != {self.exp.metrics(self.cfg)}")
            if knob is not None:
                name, value = knob
                box = await p.locator(f".st-key-knob_{name} input").input_value()
                if box != input_text(name, value):
                    problems.append(f"knob {name} shows {box!r}, set {input_text(name, value)!r}")
        problems += self.sidebar_problems(await p.get_by_test_id("stSidebar").inner_text())
        if problems:
            self.crosstalk(where, problems, shown)
            return False
        return True

    async def mouse_away(self) -> None:
        await self.page.mouse.move(1420, 985)

    async def shot(self, what: str) -> None:
        if self.args.shots:
            Path(self.args.shots).mkdir(parents=True, exist_ok=True)
            try:
                shot = Path(self.args.shots) / f"s{self.sid}_{what}_{time.time():.0f}.png"
                await self.page.screenshot(path=str(shot))
            except Exception:  # noqa: BLE001 - only a debugging aid
                pass

    async def wait_design(self) -> None:
        await self.page.wait_for_function(DESIGN_READY_JS, arg=self.exp.metrics(self.cfg), polling=50,
                                          timeout=self.timeout_ms)

    async def recover(self) -> None:
        """After an error or timeout: reopen this session's own design."""
        try:
            await self.page.goto(self.url(), timeout=self.timeout_ms)
            await self.wait_design()
        except Exception as exc:  # noqa: BLE001
            self.stats.error(self.sid, "recover failed", repr(exc))

    # --- steps
    async def open(self) -> bool:
        self.page = await self.ctx.new_page()
        self.page.on("pageerror", lambda e: self.stats.error(self.sid, "page error", str(e)))
        self.page.on("crash", lambda _p: self.stats.error(self.sid, "page crash", ""))

        def on_console(msg):
            if msg.type == "error":
                if "net::ERR_NAME_NOT_RESOLVED" in msg.text:  # an icon from fonts.gstatic.com: offline
                    self.stats.offline_fetches += 1
                    return
                self.stats.console_errors += 1
                if len(self.stats.console_samples) < 10:
                    self.stats.console_samples.append(f"session {self.sid}: {msg.text[:200]}")
        self.page.on("console", on_console)
        t = time.perf_counter()
        try:
            await self.page.goto(self.url(), timeout=self.args.open_timeout * 1000)
            await self.page.wait_for_function(DESIGN_READY_JS, arg=self.exp.metrics(self.cfg), polling=100,
                                              timeout=self.args.open_timeout * 1000)
        except Exception as exc:  # noqa: BLE001
            self.stats.error(self.sid, "open timeout", repr(exc).splitlines()[0])
            await self.check("open")
            return False
        self.record("load", time.perf_counter() - t)
        self.stats.sessions_opened[self.kind] += 1
        await self.check("open")
        return True

    async def turn_knob(self) -> None:
        pick = self.pick_knob()
        if pick is None:
            return
        name, value, new = pick
        box = self.page.locator(f".st-key-knob_{name} input")
        try:
            await box.fill(str(value), timeout=self.timeout_ms)
            self.set_design(new)
            t = time.perf_counter()
            await box.press("Enter", timeout=self.timeout_ms)
            await self.wait_design()
            self.record("update", time.perf_counter() - t)
            self.stats.knob_changes += 1
        except Exception as exc:  # noqa: BLE001 - a timeout: what does the page show?
            self.stats.error(self.sid, "knob timeout", f"{name}={value}: {exc}")
            await self.shot("knob_timeout")
            if await self.page.evaluate(STATE_JS) == "notRunning":
                await self.check(f"after timeout {name}={value}", knob=(name, value))
            await self.recover()
            return
        await self.check(f"{name}={value}", knob=(name, value))

    async def visit_diagram(self) -> None:
        p = self.page
        nav = p.get_by_test_id("stSidebar").get_by_test_id("stSidebarNavLink")
        head, tail = self.exp.diagram_info(self.cfg)
        try:
            t = time.perf_counter()
            await nav.filter(has_text="Diagram").click(timeout=self.timeout_ms)
            await self.mouse_away()  # the link's help tooltip would cover the next link
            await p.wait_for_url(re.compile(r"/Diagram\?"), timeout=self.timeout_ms)
            got = await p.wait_for_function(DIAGRAM_READY_JS, arg=[head, tail, None], polling=50,
                                            timeout=self.timeout_ms)
            layout = await got.json_value()
            self.record("switch", time.perf_counter() - t)
            self.stats.diagram_visits += 1
            await self.check("Diagram page", page_kind="diagram")
            # the Diagram page's knob (left to right needs Graphviz's dot for its wide view)
            if HAS_DOT and self.rng.random() < self.args.layout_prob:
                other = "LR" if layout == "TB" else "TB"
                label = "left to right" if other == "LR" else "top to bottom"
                radio = p.get_by_test_id("stRadio").filter(has_text="Layout")
                t = time.perf_counter()
                await radio.get_by_text(label, exact=True).click(timeout=self.timeout_ms)
                await self.mouse_away()
                await p.wait_for_function(DIAGRAM_READY_JS, arg=[head, tail, other], polling=50,
                                          timeout=self.timeout_ms)
                self.record("diagram_update", time.perf_counter() - t)
                await self.check(f"Diagram layout {other}", page_kind="diagram")
            t = time.perf_counter()
            await nav.filter(has_text="Design").click(timeout=self.timeout_ms)
            await self.mouse_away()
            await self.wait_design()
            self.record("switch", time.perf_counter() - t)
            await self.check("back on Design")
        except Exception as exc:  # noqa: BLE001
            self.stats.error(self.sid, "diagram timeout", str(exc))
            await self.shot("diagram_timeout")
            await self.recover()

class WsSession(BaseSession):
    """A user speaking Streamlit's websocket protocol directly (what a browser sends: a rerun
    request with the URL's query string, the page and the changed widget; what it gets: the
    page's elements and script_finished).  Nothing is drawn, so it costs the load generator
    almost no CPU: the server gets the load of a browser on another machine."""

    kind = "ws"

    def __init__(self, sid: int, *a):
        super().__init__(sid, *a)
        self.ws = None
        self.qs = ""            # the query string the server last set (the browser's address bar)
        self.ids: dict = {}     # widget key -> widget id (from the elements)
        self.pages: dict = {}   # page name -> page script hash
        self.page = ""          # current page script hash ("" = main page)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def connect(self) -> None:
        import websockets

        if self.ws is not None:
            await self.ws.close()
        self.ws = await websockets.connect(f"ws://{urlsplit(self.base).netloc}/_stcore/stream",
                                           subprotocols=["streamlit"], max_size=None,
                                           open_timeout=self.args.step_timeout)
        self.qs = urlencode(self.exp.query(self.cfg, self.preset), safe=",")
        self.page = ""

    async def rerun(self, widgets=(), page: str | None = None, timeout: float | None = None) -> dict:
        """Ask for a run; collect what it draws until script_finished."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        if page is not None:
            self.page = page
        bm = BackMsg()
        bm.rerun_script.query_string = self.qs
        bm.rerun_script.page_script_hash = self.page
        for w in widgets:
            bm.rerun_script.widget_states.widgets.append(w)
        out = {"metrics": [], "text": [], "graphviz": 0, "html": 0, "errors": [], "labels": []}
        await self.ws.send(bm.SerializeToString())
        async with asyncio.timeout(timeout or self.args.step_timeout):
            while True:
                fm = ForwardMsg()
                fm.ParseFromString(await self.ws.recv())
                kind = fm.WhichOneof("type")
                if note_pages(self.pages, fm):
                    pass
                elif kind == "page_info_changed":
                    self.qs = fm.page_info_changed.query_string
                elif kind == "delta" and fm.delta.WhichOneof("type") == "add_block":
                    blk = fm.delta.add_block
                    if blk.WhichOneof("type") == "expandable":
                        out["labels"].append(blk.expandable.label)
                elif kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
                    el = fm.delta.new_element
                    et = el.WhichOneof("type")
                    sub = getattr(el, et)
                    if et == "metric":
                        out["metrics"].append(sub.body)
                    elif et in ("markdown", "heading"):
                        out["text"].append(sub.body)
                    elif et == "graphviz_chart":
                        out["graphviz"] += 1
                    elif et == "html":
                        out["html"] += 1
                    elif et == "exception":
                        out["errors"].append(f"exception: {sub.type}: {sub.message}")
                    elif et == "alert" and sub.format == 1:  # Alert.ERROR
                        out["errors"].append(f"st.error: {sub.body}")
                    wid = getattr(sub, "id", "")
                    if isinstance(wid, str) and wid.startswith("$$ID-"):
                        self.ids[wid.rsplit("-", 1)[-1]] = wid
                elif kind == "script_finished":
                    if fm.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                        return out

    def check(self, where: str, out: dict, page_kind: str = "design") -> bool:
        if out["errors"]:
            self.stats.error(self.sid, "error element", f"{where}: {out['errors'][0]}")
            return False
        self.stats.checks += 1
        problems = []
        shown = dict(parse_qsl(self.qs))
        want = self.exp.query(self.cfg, self.preset)
        if shown != want:
            problems.append(f"URL {shown} != {want}")
        if page_kind == "design":
            if out["metrics"] != self.exp.metrics(self.cfg):
                problems.append(f"metrics {out['metrics']} != {self.exp.metrics(self.cfg)}")
        else:
            head, tail = self.exp.diagram_info(self.cfg)
            if not any(head in t and tail in t for t in out["text"]):
                problems.append(f"no Diagram caption with {head + tail!r}")
            if not (out["graphviz"] or out["html"]):
                problems.append("no diagram drawn")
        problems += self.sidebar_problems("\n".join(out["text"]))
        if problems:
            self.crosstalk(where, problems, shown)
            return False
        return True

    async def open(self) -> bool:
        t = time.perf_counter()
        try:
            await self.connect()
            out = await self.rerun(page="", timeout=self.args.open_timeout)
        except Exception as exc:  # noqa: BLE001
            self.stats.error(self.sid, "open timeout", repr(exc))
            return False
        self.record("load", time.perf_counter() - t)
        self.stats.sessions_opened[self.kind] += 1
        self.check("open", out)
        return True

    async def recover(self) -> None:
        try:
            await self.connect()
            await self.rerun(page="")
        except Exception as exc:  # noqa: BLE001
            self.stats.error(self.sid, "recover failed", repr(exc))

    async def turn_knob(self) -> None:
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        pick = self.pick_knob()
        if pick is None or f"knob_{pick[0]}" not in self.ids:
            return
        name, value, new = pick
        w = WidgetState(id=self.ids[f"knob_{name}"])
        if name == "input_size":
            w.int_value = int(value)       # number_input with an int value
        elif name == "split_ratio":
            w.double_value = float(value)  # number_input with a float value
        else:
            w.string_value = str(value)    # text_input
        self.set_design(new)
        t = time.perf_counter()
        try:
            out = await self.rerun([w])
        except Exception as exc:  # noqa: BLE001
            self.stats.error(self.sid, "knob timeout", f"{name}={value}: {exc!r}")
            await self.recover()
            return
        self.record("update", time.perf_counter() - t)
        self.stats.knob_changes += 1
        self.check(f"{name}={value}", out)

    async def live_trace(self) -> None:
        """Toggle 'Verify with a live trace' on (the server builds the real model and runs fvcore),
        wait for the verdict, toggle it off."""
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        if "verify_trace" not in self.ids:
            return
        try:
            t = time.perf_counter()
            out = await self.rerun([WidgetState(id=self.ids["verify_trace"], bool_value=True)],
                                   timeout=max(self.args.step_timeout, 120))
            self.record("trace", time.perf_counter() - t)
            self.stats.traces += 1
            if not any(lb.startswith("Live trace agrees") for lb in out["labels"]):
                self.stats.error(self.sid, "live trace", f"no verdict: {out['labels']} {out['errors'][:1]}")
            self.check("live trace", out)
            out = await self.rerun([WidgetState(id=self.ids["verify_trace"], bool_value=False)])
            self.check("live trace off", out)
        except Exception as exc:  # noqa: BLE001
            self.stats.error(self.sid, "trace timeout", repr(exc))
            await self.recover()

    async def visit_diagram(self) -> None:
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        try:
            t = time.perf_counter()
            out = await self.rerun(page=self.pages.get("Diagram", ""))
            self.record("switch", time.perf_counter() - t)
            self.stats.diagram_visits += 1
            self.check("Diagram page", out, page_kind="diagram")
            if HAS_DOT and "diagram_layout" in self.ids and self.rng.random() < self.args.layout_prob:
                lr = bool(out["graphviz"])  # now top to bottom: switch to left to right
                t = time.perf_counter()
                label = "left to right" if lr else "top to bottom"  # a radio's value is its option's label
                out = await self.rerun([WidgetState(id=self.ids["diagram_layout"], string_value=label)])
                self.record("diagram_update", time.perf_counter() - t)
                if bool(out["html"]) != lr:
                    self.crosstalk("Diagram layout", [f"layout {'LR' if lr else 'TB'} asked, other drawn"],
                                   dict(parse_qsl(self.qs)))
                self.check(f"Diagram layout {'LR' if lr else 'TB'}", out, page_kind="diagram")
            main = next((h for n, h in self.pages.items() if n not in ("Diagram", "Tradeoff", "Latency", "Sweep",
                                                                       "Learn", "Paper")), "")
            t = time.perf_counter()
            out = await self.rerun(page=main)
            self.record("switch", time.perf_counter() - t)
            self.check("back on Design", out)
        except Exception as exc:  # noqa: BLE001
            self.stats.error(self.sid, "diagram timeout", repr(exc))
            await self.recover()


# ----------------------------------------------------------------------------- run
class Phase:
    """Sessions open all at once; the timed knob phase starts when the last one is open."""

    def __init__(self, n: int, duration: float):
        self.n, self.duration, self.count = n, duration, 0
        self.event = asyncio.Event()
        self.start: float | None = None

    async def opened(self) -> float:
        self.count += 1
        if self.count >= self.n:
            self.start = time.monotonic()
            self.event.set()
        await self.event.wait()
        return self.start + self.duration


def pct(xs: list, q: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    i = min(len(xs) - 1, max(0, int(round(q / 100 * (len(xs) - 1)))))
    return xs[i]


def summarize_times(xs: list) -> dict:
    return {"n": len(xs), "p50_s": pct(xs, 50), "p95_s": pct(xs, 95), "max_s": max(xs) if xs else None,
            "mean_s": statistics.fmean(xs) if xs else None}


async def run_load(args) -> dict:
    from contextlib import AsyncExitStack

    chromium = shutil.which("chromium")
    if args.browsers and chromium is None:
        raise SystemExit("chromium not found (apt-get install chromium)")
    exp = Expected()
    proc = None
    if args.url:
        base = args.url.rstrip("/")
        server_pid = args.server_pid
        wait_healthy(base, None, timeout=10)
    else:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = Path(args.server_log) if args.server_log else None
        proc = start_server(port, log)
        server_pid = proc.pid
    # last resort: whatever hangs, the server is stopped and the process ends
    hard = args.duration + 3 * args.step_timeout + args.open_timeout + 120

    def watchdog():
        if proc is not None:
            proc.kill()
        print(f"load_test: hard time limit of {hard:.0f} s reached; stopped", file=sys.stderr, flush=True)
        os._exit(3)
    dog = threading.Timer(hard + 60, watchdog)
    dog.daemon = True
    dog.start()
    stats = Stats()
    sampler = Sampler(server_pid)
    stop = asyncio.Event()
    try:
        t0 = time.perf_counter()
        wait_healthy(base, proc)
        healthy_s = time.perf_counter() - t0
        idle = sampler.sample()
        sampler_task = asyncio.create_task(sampler.run(stop))
        async with AsyncExitStack() as stack:
            registry: dict = {}
            sessions: list = []
            if args.browsers:
                from playwright.async_api import async_playwright

                pw = await stack.enter_async_context(async_playwright())
                browser = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                stack.push_async_callback(browser.close)
                for i in range(args.browsers):
                    ctx = await browser.new_context(viewport={"width": 1440, "height": 1000})
                    sessions.append(BrowserSession(i, ctx, base, exp, stats, args, registry))
            for i in range(args.browsers, args.sessions):
                sessions.append(WsSession(i, base, exp, stats, args, registry))
            t_open = time.monotonic()
            phase = Phase(args.sessions, args.duration)
            tasks = [asyncio.create_task(s.run(phase)) for s in sessions]
            done, pending = await asyncio.wait(tasks, timeout=hard)
            for t in pending:
                t.cancel()
                stats.error(-1, "session hard timeout", "cancelled at the hard time limit")
            for t in done:
                if t.exception() is not None:
                    stats.error(-1, "session crashed", repr(t.exception()))
            t_end = time.monotonic()
            ran_s = t_end - (phase.start or t_end)
            open_s = (phase.start or t_end) - t_open
            peak_during = max(s[1] for s in sampler.samples)
            for s in sessions:
                try:
                    await s.close()
                except Exception:  # noqa: BLE001 - closing only
                    pass
            await asyncio.sleep(3)  # the server notices the closed sockets and drops the sessions
            after_close = sampler.sample()
        stop.set()
        await sampler_task
        alive = proc.poll() is None if proc else True
    finally:
        stop.set()
        if proc is not None:
            stop_server(proc)
        dog.cancel()
    s0, s1 = sampler.samples[0], sampler.samples[-1]
    wall = max(s1[0] - s0[0], 1e-9)
    (b0, t0_), (b1, t1_) = sampler.busy
    times = {c: {k: summarize_times(v) for k, v in kinds.items()} for c, kinds in stats.times.items()}
    return {
        "sessions": args.sessions, "browser_sessions": args.browsers, "ws_sessions": args.sessions - args.browsers,
        "sessions_opened": dict(stats.sessions_opened), "duration_s": args.duration,
        "ran_s": round(ran_s, 1), "open_phase_s": round(open_s, 1), "think_s": list(args.think),
        "cpus": os.cpu_count(),
        "knob_changes": stats.knob_changes, "diagram_visits": stats.diagram_visits, "live_traces": stats.traces,
        "diagram_layout_changes": sum(len(k["diagram_update"]) for k in stats.times.values()),
        "checks": stats.checks,
        "errors": sum(stats.errors.values()), "errors_by_kind": dict(stats.errors),
        "error_samples": stats.error_samples, "crosstalk": stats.crosstalk,
        "crosstalk_samples": stats.crosstalk_samples, "console_errors": stats.console_errors,
        "offline_fetches": stats.offline_fetches, "console_samples": stats.console_samples,
        "times": times,
        "update_all": summarize_times(stats.times["browser"]["update"] + stats.times["ws"]["update"]),
        "knob_changes_per_s": round(stats.knob_changes / max(ran_s, 1e-9), 2),
        "server_healthy_s": round(healthy_s, 2),
        "server_rss_idle_mib": round(idle[1] / 2**20, 1),
        "server_rss_peak_mib": round(max(s[1] for s in sampler.samples) / 2**20, 1),
        "server_rss_peak_during_mib": round(peak_during / 2**20, 1),
        "server_rss_after_close_mib": round(after_close[1] / 2**20, 1),
        "client_rss_sum_peak_mib": round(max(s[2] for s in sampler.samples) / 2**20, 1),
        "machine_used_idle_mib": round(idle[3] / 2**20, 1),
        "machine_used_peak_mib": round(max(s[3] for s in sampler.samples) / 2**20, 1),
        "server_cpu_pct": round(100 * sampler.cpu["server"] / wall, 1) if server_pid else None,
        "client_cpu_pct": round(100 * sampler.cpu["client"] / wall, 1),
        "machine_busy_pct": round(100 * (b1 - b0) / max(t1_ - t0_, 1), 1),
        "server_alive_at_end": alive,
        "rss_samples": len(sampler.samples),
        "server_rss_timeline_mib": [[round(x[0] - s0[0], 1), round(x[1] / 2**20, 1), x[4]] for x in sampler.samples],
    }


def report(r: dict) -> str:
    def f(x):
        return "n/a" if x is None else f"{x:.3f}"

    def line(label, t, extra=""):
        return (f"{label:<31}p50 {f(t['p50_s'])} s, p95 {f(t['p95_s'])} s, max {f(t['max_s'])} s "
                f"(n={t['n']}){extra}")

    opened = sum(r["sessions_opened"].values())
    lines = [
        f"sessions                       {opened}/{r['sessions']} opened ({r['browser_sessions']} in chromium, "
        f"{r['ws_sessions']} over the websocket protocol)\n"
        f"                               in {r['open_phase_s']} s, then turned knobs for "
        f"{r['ran_s']} s (think {r['think_s'][0]:g}-{r['think_s'][1]:g} s; {r['cpus']} CPUs)",
        f"knob changes                   {r['knob_changes']} ({r['knob_changes_per_s']}/s), Diagram visits "
        f"{r['diagram_visits']}, layout changes {r['diagram_layout_changes']}, checks {r['checks']}",
        f"errors                         {r['errors']} {r['errors_by_kind'] or ''}",
        f"cross-talk violations          {r['crosstalk']}",
        line("knob -> numbers, all", r["update_all"]),
    ]
    for c, what in (("browser", "in chromium"), ("ws", "protocol")):
        t = r["times"][c]
        if not t["load"]["n"]:
            continue
        lines += [line(f"  knob, {what}", t["update"]),
                  line(f"  layout redraw, {what}", t["diagram_update"]),
                  line(f"  page switch, {what}", t["switch"]),
                  line(f"  first load, {what}", t["load"], " (all at once)")]
        if t["trace"]["n"]:
            lines.append(line(f"  live trace, {what}", t["trace"]))
    lines += [
        f"server RSS                     idle {r['server_rss_idle_mib']} MiB, peak {r['server_rss_peak_mib']} MiB, "
        f"after the sessions closed {r['server_rss_after_close_mib']} MiB",
        f"CPU                            server {r['server_cpu_pct']} %, load generator (chromium, this script) "
        f"{r['client_cpu_pct']} % of one core; machine busy {r['machine_busy_pct']} % of {r['cpus']} cores",
        f"machine memory in use          {r['machine_used_idle_mib']} MiB before, "
        f"peak {r['machine_used_peak_mib']} MiB",
    ]
    for s in r["error_samples"][:8]:
        lines.append(f"  error: {' | '.join(s.splitlines()[:2])[:300]}")
    for s in r["crosstalk_samples"][:8]:
        lines.append(f"  cross-talk: {s}")
    for s in r["console_samples"][:3]:
        lines.append(f"  console: {s}")
    return "\n".join(lines)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=30, help="users in all (default 30)")
    ap.add_argument("--browsers", type=int, default=None,
                    help="how many of them are chromium contexts (default: all); the rest speak the "
                         "websocket protocol, so the server gets the full load and the load generator "
                         "does not need a core per browser")
    ap.add_argument("--duration", type=float, default=300, help="seconds of knob turning (default 300)")
    ap.add_argument("--think", default="1,3", help="think time between steps: min,max seconds (default 1,3)")
    ap.add_argument("--diagram-prob", type=float, default=0.2, help="share of steps that visit the Diagram page")
    ap.add_argument("--trace-prob", type=float, default=0.0,
                    help="share of steps that turn the live trace on and off (protocol sessions only; "
                         "each builds the real model)")
    ap.add_argument("--layout-prob", type=float, default=0.5, help="share of Diagram visits that change layout")
    ap.add_argument("--ramp", type=float, default=0.0, help="spread the session starts over this many seconds")
    ap.add_argument("--step-timeout", type=float, default=30.0, help="time limit of one step (s)")
    ap.add_argument("--open-timeout", type=float, default=120.0, help="time limit of the first page load (s)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--url", help="attach to a running app instead of starting one (loopback only)")
    ap.add_argument("--server-pid", type=int, help="with --url: the server's pid, for its RSS")
    ap.add_argument("--server-log", help="write the server's output here")
    ap.add_argument("--shots", help="screenshot a page whose step failed into this folder")
    ap.add_argument("--json", help="also write the figures here as JSON")
    args = ap.parse_args(argv)
    lo, hi = (float(x) for x in args.think.split(","))
    if not 0 <= lo <= hi:
        ap.error("--think: min,max with 0 <= min <= max")
    args.think = (lo, hi)
    if args.url and urlsplit(args.url).hostname not in ("127.0.0.1", "localhost", "::1"):
        ap.error("--url: loopback only (127.0.0.1)")
    if not 1 <= args.sessions <= 200 or not 1 <= args.duration <= 3600:
        ap.error("--sessions 1..200, --duration 1..3600")
    args.browsers = args.sessions if args.browsers is None else args.browsers
    if not 0 <= args.browsers <= args.sessions:
        ap.error("--browsers: 0..sessions")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    r = asyncio.run(run_load(args))
    print(report(r), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=2))
    return 0 if (r["errors"] == 0 and r["crosstalk"] == 0) else 1


if __name__ == "__main__":
    raise SystemExit(main())
