"""The whole-app bench's measuring side (bench/bench_app.py runs it): which widget owns each
Qt event's time, per event-loop iteration, and the figures and compositions made of them.

Every Qt event delivery goes through ProfiledApplication.notify; EventProfiler charges its
exclusive time (nested deliveries subtracted) to the owner of the receiver (the nearest
registered market view, dock, the table flusher, a market window, the main window's chrome;
anything else, qasync's timers running the engine, is "loop"); `commit`, called at each
QAbstractEventDispatcher.awake, closes an iteration.
"""
from __future__ import annotations

import time

import numpy as np
import shiboken6
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication

from bench.app_markets import EXTRA_OWNERS

VIEWS = ("candles", "depth", "ladder", "tape", "heatmap", "header")
OWNERS = VIEWS + (
    "botsDock", "accountsDock", "ordersDock", "fillsDock", "balancesDock", "performanceDock",
    "backtestDock", "logDock", "healthDock", "ladderDock", "tradesDock", "depthDock", "heatmapDock",
    "ticketDock", "sweepDock", "botHistoryDock", "table_flush", "window", *EXTRA_OWNERS, "loop",
)
GUI = frozenset(range(OWNERS.index("loop")))  # every owner but the engine's loop
LOOP = OWNERS.index("loop")


class Samples:
    """A preallocated float buffer (pages touched up front: measuring never grows RSS)."""

    def __init__(self, capacity: int) -> None:
        self.data = np.full(max(16, capacity), -1.0)
        self.n = 0
        self.dropped = 0

    def add(self, value: float) -> None:
        if self.n < len(self.data):
            self.data[self.n] = value
            self.n += 1
        else:
            self.dropped += 1

    def values(self) -> np.ndarray:
        return self.data[: self.n]

    def summary_ms(self) -> dict:
        v = self.values() * 1e3
        if not len(v):
            return {"n": 0, "median_ms": None, "p99_ms": None, "max_ms": None}
        return {"n": int(len(v)), "median_ms": round(float(np.median(v)), 3),
                "p99_ms": round(float(np.percentile(v, 99)), 3), "max_ms": round(float(v.max()), 3)}


class Phase:
    """Frame samples of one measured phase: one buffer per owner, whole window, loop."""

    def __init__(self, name: str, seconds: float) -> None:
        self.name = name
        cap = int(seconds * 400) + 1_000  # iterations with GUI work: ~20-100/s, ~250/s with 3 markets
        self.per_owner = [Samples(cap) for _ in OWNERS]
        self.window = Samples(cap)
        self.window_cpu = Samples(cap)  # the same frames in GUI-thread CPU time
        self.per_owner_cpu = [Samples(cap) for _ in OWNERS]
        self.ctx0 = _ctx_switches()
        self.ctx1 = self.ctx0
        self.busy = [0.0] * len(OWNERS)  # total exclusive seconds per owner
        self.started = time.perf_counter()
        self.ended = self.started
        self.cpu0 = time.process_time()
        self.cpu1 = self.cpu0

    def close(self) -> None:
        self.ctx1 = _ctx_switches()
        self.ended = time.perf_counter()
        self.cpu1 = time.process_time()

    @property
    def wall(self) -> float:
        return max(1e-9, self.ended - self.started)

    @property
    def cpu_pct(self) -> float:
        return 100.0 * (self.cpu1 - self.cpu0) / self.wall


class EventProfiler:
    """Exclusive time per owner of every Qt event delivery, summed per loop iteration."""

    def __init__(self) -> None:
        self.roots: dict[int, int] = {}
        self.cache: dict[int, int] = {}
        self.stack: list[list] = []  # [owner, start, child_seconds, cpu_start, child_cpu]
        self.current = [0.0] * len(OWNERS)
        self.current_cpu = [0.0] * len(OWNERS)
        self.phase: Phase | None = None
        self.drop_iteration = False
        self.events = 0
        self.iterations = 0
        self.current_paint = [0.0] * len(OWNERS)  # exclusive wall time in Paint events
        self.refreshed = [0] * len(VIEWS)  # refresh() calls that did work, this iteration
        self.update_requests = 0  # UpdateRequest deliveries (window repaints), this iteration
        self.layout_requests = 0
        self.gc_s = 0.0  # time in Python's cyclic garbage collector, this iteration
        self.gc_gen = -1  # oldest generation collected, this iteration
        self._gc_start = 0.0
        self.record: IterationRecord | None = None

    def register(self, obj, owner: str) -> None:  # noqa: ANN001 - any QObject
        self.roots[shiboken6.getCppPointer(obj)[0]] = OWNERS.index(owner)
        self.cache.clear()

    def owner_of(self, obj) -> int:  # noqa: ANN001
        ptr = shiboken6.getCppPointer(obj)[0]
        owner = self.cache.get(ptr)
        if owner is not None:
            return owner
        owner = LOOP
        node = obj
        for _ in range(64):
            p = shiboken6.getCppPointer(node)[0]
            if p in self.roots:
                owner = self.roots[p]
                break
            node = node.parent()
            if node is None:
                break
        if len(self.cache) > 20_000:
            self.cache.clear()
        self.cache[ptr] = owner
        return owner

    def on_gc(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._gc_start = time.perf_counter()
        else:
            self.gc_s += time.perf_counter() - self._gc_start
            self.gc_gen = max(self.gc_gen, info.get("generation", 0))

    def enter(self, owner: int, paint: bool = False) -> None:
        self.stack.append([owner, time.perf_counter(), 0.0, time.thread_time(), 0.0, paint])

    def exit(self) -> None:
        cpu_end = time.thread_time()
        owner, start, child, cpu_start, child_cpu, paint = self.stack.pop()
        elapsed = time.perf_counter() - start
        cpu = cpu_end - cpu_start
        self.current[owner] += elapsed - child
        self.current_cpu[owner] += cpu - child_cpu
        if paint:
            self.current_paint[owner] += elapsed - child
        if self.stack:
            parent = self.stack[-1]
            parent[2] += elapsed
            parent[4] += cpu

    def commit(self) -> None:
        """Closes the iteration that just ended (connected to the dispatcher's `awake`)."""
        self.iterations += 1
        cur, cur_cpu = self.current, self.current_cpu
        phase = self.phase
        if phase is not None and not self.drop_iteration:
            gui = gui_cpu = 0.0
            for i in GUI:
                t = cur[i]
                if t > 0.0:
                    phase.per_owner[i].add(t)
                    phase.per_owner_cpu[i].add(cur_cpu[i])
                    phase.busy[i] += t
                    gui += t
                    gui_cpu += cur_cpu[i]
            if gui > 0.0:
                phase.window.add(gui)
                phase.window_cpu.add(gui_cpu)
                if self.record is not None:
                    self.record.add(cur, self.current_paint, self.refreshed, self.update_requests,
                                    self.gc_s, self.gc_gen, self.layout_requests)
            if cur[LOOP] > 0.0:
                phase.per_owner[LOOP].add(cur[LOOP])
                phase.busy[LOOP] += cur[LOOP]
        self.drop_iteration = False
        paint = self.current_paint
        for i in range(len(cur)):
            cur[i] = 0.0
            cur_cpu[i] = 0.0
            paint[i] = 0.0
        for i in range(len(self.refreshed)):
            self.refreshed[i] = 0
        self.update_requests = 0
        self.layout_requests = 0
        self.gc_s = 0.0
        self.gc_gen = -1


class IterationRecord:
    """Composition of every iteration with GUI work (preallocated): per owner wall time and
    its Paint share, which views refreshed, how many window UpdateRequests ran, when."""

    def __init__(self, capacity: int) -> None:
        self.wall = np.full((capacity, len(OWNERS)), 0.0, np.float32)
        self.paint = np.full((capacity, len(OWNERS)), 0.0, np.float32)
        self.refreshed = np.full((capacity, len(VIEWS)), 0, np.int8)
        self.update_requests = np.full(capacity, 0, np.int16)
        self.t = np.full(capacity, 0.0)
        self.gc = np.full(capacity, 0.0)
        self.gc_gen = np.full(capacity, -1, np.int8)
        self.layout_requests = np.full(capacity, 0, np.int16)
        self.n = 0

    def add(self, wall, paint, refreshed, update_requests: int, gc_s: float, gc_gen: int,
            layout_requests: int) -> None:  # noqa: ANN001
        n = self.n
        if n >= len(self.t):
            return
        self.wall[n] = wall
        self.paint[n] = paint
        self.refreshed[n] = refreshed
        self.update_requests[n] = update_requests
        self.t[n] = time.perf_counter()
        self.gc[n] = gc_s
        self.gc_gen[n] = gc_gen
        self.layout_requests[n] = layout_requests
        self.n = n + 1


_PAINT = QEvent.Type.Paint
_UPDATE_REQUEST = QEvent.Type.UpdateRequest
_LAYOUT_REQUEST = QEvent.Type.LayoutRequest


class ProfiledApplication(QApplication):
    profiler: EventProfiler | None = None

    def notify(self, receiver, event) -> bool:  # noqa: ANN001
        prof = self.profiler
        if prof is None:
            return super().notify(receiver, event)
        prof.events += 1
        etype = event.type()
        if etype == _UPDATE_REQUEST:
            prof.update_requests += 1
        elif etype == _LAYOUT_REQUEST:
            prof.layout_requests += 1
        prof.enter(prof.owner_of(receiver), etype == _PAINT)
        try:
            return super().notify(receiver, event)
        finally:
            prof.exit()


def _ctx_switches() -> int:
    """Involuntary context switches of the process: how often another process took the CPU."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_nivcsw


def attribute_refresh(prof: EventProfiler, view, name: str, k: int | None = None) -> None:  # noqa: ANN001
    """Times `view.refresh()` as owner `name`'s span wherever it is called from (its own
    timer, or a scheduler object outside the view) and counts refreshes that did work as
    view `k`'s (None: a view of a market window, timed as its window)."""
    original = view.refresh
    owner = OWNERS.index(name)

    def refresh() -> bool:
        prof.enter(owner)
        try:
            did = original()
        finally:
            prof.exit()
        if did and k is not None:
            prof.refreshed[k] += 1
        return did

    view.refresh = refresh


def composition(rec: IterationRecord, share: float = 0.01) -> dict:
    """What the slowest `share` of iterations (by whole-window time) are made of."""
    n = rec.n
    if n < 100:
        return {}
    wall = rec.wall[:n].astype(np.float64) * 1e3
    paint = rec.paint[:n].astype(np.float64) * 1e3
    gui_cols = sorted(GUI)
    gui = wall[:, gui_cols].sum(axis=1)
    k = max(1, int(n * share))
    worst = np.argsort(gui)[-k:][::-1]
    views = [OWNERS.index(v) for v in VIEWS]
    refreshed = rec.refreshed[:n].astype(np.int64)
    n_refresh = refreshed.sum(axis=1)
    views_refreshing = (refreshed > 0).sum(axis=1)
    views_painting = (paint[:, views] > 0.05).sum(axis=1)
    owners = {}
    for i, name in enumerate(OWNERS):
        w = wall[worst, i]
        present = w > 0.2
        if present.any():
            owners[name] = {"in_pct": round(100.0 * present.mean(), 1), "mean_ms": round(float(w.mean()), 2),
                            "paint_ms": round(float(paint[worst, i].mean()), 2),
                            "all_mean_ms": round(float(wall[:, i].mean()), 2)}
    with_refresh = views_refreshing > 0
    # Bunching: after a long iteration (GUI + loop > 10 ms), how often do 2+ views refresh?
    busy = gui + wall[:, LOOP]
    after_long = np.zeros(n, bool)
    after_long[1:] = busy[:-1] > 10.0
    def frac(mask) -> float | None:  # noqa: ANN001
        m = mask & with_refresh
        return round(100.0 * float((views_refreshing[m] >= 2).mean()), 1) if m.any() else None
    # Phases of each view's refreshes modulo 50 ms: are they still 10 ms apart?
    phases = {}
    for j, name in enumerate(VIEWS):
        t = rec.t[:n][refreshed[:, j] > 0]
        if len(t) > 10:
            ph = (t % 0.05) / 0.05 * 2 * np.pi
            mean_angle = np.angle(np.exp(1j * ph).mean())
            r = float(np.abs(np.exp(1j * ph).mean()))
            phases[name] = {"phase_ms": round(float(mean_angle % (2 * np.pi)) / (2 * np.pi) * 50, 1),
                            "concentration": round(r, 2)}
    rows = []
    for idx in worst[:12]:
        parts = {OWNERS[i]: round(float(wall[idx, i]), 1) for i in np.argsort(wall[idx])[::-1] if wall[idx, i] > 0.3}
        rows.append({"gui_ms": round(float(gui[idx]), 1), "owners": parts,
                     "gc_ms": round(float(rec.gc[idx] * 1e3), 1), "gc_gen": int(rec.gc_gen[idx]),
                     "painting": [OWNERS[i] for i in views if paint[idx, i] > 0.05],
                     "refreshed": [VIEWS[j] for j in range(len(VIEWS)) if refreshed[idx, j]],
                     "update_requests": int(rec.update_requests[idx]),
                     "layout_requests": int(rec.layout_requests[idx])})
    return {
        "iterations": int(n), "worst_n": int(k), "worst_min_ms": round(float(gui[worst[-1]]), 2),
        "owners": owners,
        "views_refreshing_hist_worst": np.bincount(views_refreshing[worst], minlength=4).tolist(),
        "views_painting_hist_worst": np.bincount(views_painting[worst], minlength=4).tolist(),
        "views_painting_hist_all": np.bincount(views_painting, minlength=4).tolist(),
        "update_requests_hist_worst": np.bincount(rec.update_requests[:n][worst], minlength=3).tolist(),
        "layout_requests_mean_worst": round(float(rec.layout_requests[:n][worst].mean()), 2),
        "layout_requests_per_s": round(float(rec.layout_requests[:n].sum()) / max(1e-9, rec.t[n - 1] - rec.t[0]), 1),
        "refresh_calls_in_worst": int(n_refresh[worst].sum()),
        "gc_in_worst_pct": round(100.0 * float((rec.gc[:n][worst] > 0.001).mean()), 1),
        "gc2_in_worst": int((rec.gc_gen[:n][worst] == 2).sum()),
        "gc_ms_mean_worst": round(float(rec.gc[:n][worst].mean() * 1e3), 2),
        "gc2_iterations_all": int((rec.gc_gen[:n] == 2).sum()),
        "pct_2plus_views_refreshing": frac(np.ones(n, bool)),
        "pct_2plus_views_refreshing_after_long": frac(after_long),
        "pct_2plus_views_refreshing_worst": frac(np.isin(np.arange(n), worst)),
        "refresh_phase_mod_50ms": phases,
        "worst_iterations": rows,
    }


def print_composition(c: dict) -> None:
    if not c:
        return
    print(f"\nslowest 1% of {c['iterations']} GUI iterations ({c['worst_n']}, >= {c['worst_min_ms']} ms): "
          "owner: share of them it is in (>0.2 ms), mean ms there (of it paint), mean ms over all")
    for name, o in c["owners"].items():
        print(f"  {name:<16} {o['in_pct']:6.1f} %  {o['mean_ms']:7.2f} ms (paint {o['paint_ms']:.2f})  "
              f"all {o['all_mean_ms']:.2f}")
    print(f"  views refreshing per worst iteration (0,1,2,..): {c['views_refreshing_hist_worst']}; "
          f"views painting: worst {c['views_painting_hist_worst']}, all {c['views_painting_hist_all']}; "
          f"UpdateRequests per worst iteration: {c['update_requests_hist_worst']}; LayoutRequests: "
          f"{c['layout_requests_mean_worst']} per worst iteration, {c['layout_requests_per_s']}/s overall")
    print(f"  2+ views refreshing in one iteration: {c['pct_2plus_views_refreshing']} % of iterations with a refresh, "
          f"{c['pct_2plus_views_refreshing_after_long']} % right after a >10 ms iteration, "
          f"{c['pct_2plus_views_refreshing_worst']} % in the worst")
    print(f"  cyclic GC > 1 ms in {c['gc_in_worst_pct']} % of the worst (gen-2 in {c['gc2_in_worst']}; "
          f"{c['gc2_iterations_all']} gen-2 collections in all), mean GC {c['gc_ms_mean_worst']} ms there")
    print(f"  refresh phase mod 50 ms (mean, concentration 1 = fixed): {c['refresh_phase_mod_50ms']}")
    for row in c["worst_iterations"]:
        print(f"  {row['gui_ms']:6.1f} ms  gc {row['gc_ms']} (gen {row['gc_gen']})  {row['owners']}  refreshed {row['refreshed']}  "
              f"painting {row['painting']}  updreq {row['update_requests']} layoutreq {row['layout_requests']}")


def phase_figures(phase: Phase) -> dict:
    out = {}
    for i, name in enumerate(OWNERS):
        s = phase.per_owner[i]
        if s.n:
            cpu = phase.per_owner_cpu[i].summary_ms() if i != LOOP else {}
            out[name] = {**s.summary_ms(), "busy_pct": round(100.0 * phase.busy[i] / phase.wall, 2),
                         "cpu_median_ms": cpu.get("median_ms"), "cpu_p99_ms": cpu.get("p99_ms")}
    cpu = phase.window_cpu.summary_ms()
    out["whole_window"] = {**phase.window.summary_ms(),
                           "busy_pct": round(100.0 * sum(phase.busy[i] for i in GUI) / phase.wall, 2),
                           "cpu_median_ms": cpu["median_ms"], "cpu_p99_ms": cpu["p99_ms"]}
    out["involuntary_ctx_switches_per_s"] = round((phase.ctx1 - phase.ctx0) / phase.wall, 1)
    return out


def lag_figures(samples: Samples) -> dict:
    v = samples.values() * 1e3
    if not len(v):
        return {}
    return {"n": int(len(v)), "p50": round(float(np.median(v)), 3), "p99": round(float(np.percentile(v, 99)), 3),
            "max": round(float(v.max()), 3), "over_10ms": int((v > 10.0).sum())}
