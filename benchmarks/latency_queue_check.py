"""Two users, one device: the second sees its queue position, and the first leaving frees the device.

    python benchmarks/latency_queue_check.py

Starts `streamlit run app.py` on 127.0.0.1 and plays two users over Streamlit's websocket protocol
(what a browser sends): A presses Measure on the Latency page (densenet201 at 320 px, 200 timed
runs: minutes of work), B presses it
4 s later and is told it waits in the queue; A then closes its tab.  Prints B's queue messages, how
long after A left B's benchmark started, and the server's CPU once B is done (nothing left
running).  Exit status 0 when B saw its queue position, started within 5 s of A leaving, and the
server was idle afterwards.
"""
from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import load_test as lt  # its websocket helpers and /proc sampler
from app_ui.launch import free_port, start_server, stop_server, wait_healthy

T0 = time.perf_counter()


def clock() -> float:
    return time.perf_counter() - T0


class User:
    def __init__(self, name: str, host: str, qs: str):
        self.name, self.host, self.qs = name, host, qs
        self.ids: dict = {}
        self.pages: dict = {}
        self.events: list = []  # (t, kind, text)

    async def connect(self) -> None:
        import websockets

        self.ws = await websockets.connect(f"ws://{self.host}/_stcore/stream", subprotocols=["streamlit"],
                                           max_size=None)

    async def send(self, widgets=(), page: str = "") -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        bm = BackMsg()
        bm.rerun_script.query_string = self.qs
        bm.rerun_script.page_script_hash = page
        for w in widgets:
            bm.rerun_script.widget_states.widgets.append(w)
        await self.ws.send(bm.SerializeToString())

    async def until_finished(self) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        while True:
            fm = ForwardMsg()
            fm.ParseFromString(await self.ws.recv())
            kind = fm.WhichOneof("type")
            if lt.note_pages(self.pages, fm):
                pass
            elif kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
                el = fm.delta.new_element
                sub = getattr(el, el.WhichOneof("type"))
                wid = getattr(sub, "id", "")
                if isinstance(wid, str) and wid.startswith("$$ID-"):
                    self.ids[wid.rsplit("-", 1)[-1]] = wid
                if el.WhichOneof("type") == "progress":
                    self.events.append((clock(), "progress", sub.text))
                elif el.WhichOneof("type") == "alert":
                    self.events.append((clock(), "alert", sub.body))
            elif kind == "delta" and fm.delta.WhichOneof("type") == "add_block":
                blk = fm.delta.add_block
                if blk.WhichOneof("type") == "expandable":
                    self.events.append((clock(), "status", blk.expandable.label))
            elif kind == "script_finished":
                return


async def main() -> int:
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    port = free_port()
    host = f"127.0.0.1:{port}"
    proc = start_server(port)
    wait_healthy(f"http://{host}", proc)
    sampler = lt.Sampler(proc.pid)
    ok = True
    try:
        a = User("A", host, "preset=densenet201&input_size=320")
        b = User("B", host, "preset=cspdensenet121")
        for u in (a, b):
            await u.connect()
            await u.send()
            await u.until_finished()
            await u.send(page=u.pages["Latency"])
            await u.until_finished()
        # A asks for a long measurement (200 timed runs per batch size and model: minutes here)
        await a.send([WidgetState(id=a.ids["lat_runs"], int_value=200)], page=a.pages["Latency"])
        await a.until_finished()
        await a.send([WidgetState(id=a.ids["lat_start"], trigger_value=True)], page=a.pages["Latency"])
        ta = asyncio.create_task(a.until_finished())
        await asyncio.sleep(4)
        await b.send([WidgetState(id=b.ids["lat_start"], trigger_value=True)], page=b.pages["Latency"])
        tb = asyncio.create_task(b.until_finished())
        await asyncio.sleep(6)
        a_progress = [e for e in a.events if e[1] == "progress"]
        print(f"A measuring: {a_progress[-1][2] if a_progress else 'no progress'}")
        queued = [e for e in b.events if e[1] == "alert" and "ahead of you" in e[2]]
        print(f"B waiting: {queued[-1][2] if queued else 'NO QUEUE MESSAGE'}")
        ok &= bool(queued)
        t_leave = clock()
        print(f"{t_leave:5.1f} s  A closes its tab")
        ta.cancel()
        await a.ws.close()
        await asyncio.wait_for(tb, 300)
        started = [e for e in b.events if e[1] == "progress" and "waiting" not in e[2] and e[0] > t_leave]
        delay = started[0][0] - t_leave if started else None
        done = [e for e in b.events if e[1] == "status"]
        print(f"{clock():5.1f} s  B: {done[-1][2] if done else '?'}; its benchmark started "
              + (f"{delay:.1f} s after A left" if delay is not None else "NEVER"))
        ok &= delay is not None and delay < 5
        sampler.sample()
        c0 = sampler.cpu["server"]
        await asyncio.sleep(5)
        sampler.sample()
        idle = sampler.cpu["server"] - c0
        print(f"server CPU in the 5 s after B finished: {idle:.2f} s (nothing left running)")
        ok &= idle < 1.0
        await b.ws.close()
    finally:
        stop_server(proc)
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(asyncio.wait_for(main(), 400)))
