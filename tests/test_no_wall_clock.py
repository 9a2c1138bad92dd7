"""No test asserts wall-clock time: a bound on elapsed time fails on a slow or busy machine and passes on a
fast one whatever the code does.  What such a bound stood for is checked functionally (a call counter, a
fake clock, counted work) and the speed itself by ``benchmarks/timing_bounds.py``.

The check parses every test file: an ``assert`` whose expression reads a clock (``time.perf_counter``,
``time.time``, ``time.monotonic`` and their ``_ns`` forms, ``timeit``), a name assigned, in the same
function, from an expression that does (``t0 = perf_counter()``, ``el = perf_counter() - t0``), or a key
that a dict literal of the file fills from one (``{"slowest": el}`` ... ``r["slowest"]``) fails;
so does a Hypothesis ``deadline`` other than None (the suite's profile, in conftest.py, has none).
"""
from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
CLOCKS = {"perf_counter", "perf_counter_ns", "time", "time_ns", "monotonic", "monotonic_ns", "process_time",
          "default_timer", "timeit"}
ALLOWED: dict = {}   # "file.py:function" -> why; none needed so far


def _reads_clock(node: ast.AST, tainted: set, keys: frozenset = frozenset()) -> bool:
    for n in ast.walk(node):
        if isinstance(n, ast.Call):
            f = n.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            # time.time() / time.perf_counter() / perf_counter() / timeit.default_timer(); not e.g. dt.time()
            if name in CLOCKS and (name != "time" or (isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name)
                                                       and f.value.id == "time")):
                return True
        elif isinstance(n, ast.Name) and n.id in tainted:
            return True
        elif isinstance(n, ast.Subscript) and isinstance(n.slice, ast.Constant) and n.slice.value in keys:
            return True   # r["slowest"], where some dict literal of the file holds a clock reading there
    return False


def _targets(node: ast.AST) -> list:
    if isinstance(node, ast.Assign):
        nodes = node.targets
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        nodes = [node.target]
    else:
        return []
    return [n.id for t in nodes for n in ast.walk(t) if isinstance(n, ast.Name)]


def _walk_scope(scope: ast.AST):
    """The nodes of one scope: a module or function body, without the functions defined in it."""
    todo = list(ast.iter_child_nodes(scope))
    while todo:
        n = todo.pop()
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        yield n
        todo.extend(ast.iter_child_nodes(n))


def wall_clock_asserts(source: str, filename: str = "<test>") -> list:
    """(line, function) of every assert on elapsed time, and of every Hypothesis deadline but None."""
    tree = ast.parse(source, filename=filename)
    scopes = [tree] + [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    tainted_in: dict = {}
    keys: set = set()
    for scope in scopes:
        body = list(_walk_scope(scope))
        tainted: set = set()
        while True:   # names assigned from a clock reading, or from such names, to a fixed point
            new = {name for n in body for name in _targets(n)
                   if n.value is not None and _reads_clock(n.value, tainted)} - tainted
            if not new:
                break
            tainted |= new
        tainted_in[id(scope)] = (body, tainted)
        keys |= {k.value for n in body if isinstance(n, ast.Dict) for k, v in zip(n.keys, n.values)
                 if isinstance(k, ast.Constant) and _reads_clock(v, tainted)}
    out = []
    for scope in scopes:
        body, tainted = tainted_in[id(scope)]
        out += [(n.lineno, getattr(scope, "name", "<module>")) for n in body
                if isinstance(n, ast.Assert) and _reads_clock(n.test, tainted, frozenset(keys))]
    for n in ast.walk(tree):
        if isinstance(n, ast.keyword) and n.arg == "deadline" and not (
                isinstance(n.value, ast.Constant) and n.value.value is None):
            out.append((n.value.lineno, "hypothesis deadline"))
    return sorted(set(out))


def test_no_test_asserts_wall_clock_time():
    found = []
    for path in sorted(TESTS.glob("*.py")):
        for line, where in wall_clock_asserts(path.read_text(encoding="utf-8"), str(path)):
            if f"{path.name}:{where}" not in ALLOWED:
                found.append(f"{path.name}:{line} ({where})")
    assert not found, "assertions on elapsed time (check it functionally; time it in benchmarks/):\n" + \
        "\n".join(found)


def test_hypothesis_has_no_deadline_in_this_suite():
    from hypothesis import settings

    assert settings().deadline is None


def test_the_check_finds_each_form():
    src = '''
import time
from time import perf_counter
from hypothesis import settings

def a():
    t = time.perf_counter()
    work()
    assert time.perf_counter() - t < 2.0

def b():
    t0 = time.monotonic()
    el = time.monotonic() - t0
    slow = max(0.0, el)
    assert slow < 10, slow

def c():
    assert perf_counter() > 0

def d():
    t = time.perf_counter()
    assert t == t  # a clock reading asserted is still a clock reading
    when = obj.time()
    assert when

S = settings(deadline=2000)
OK = settings(deadline=None)

def e():
    calls = []
    assert len(calls) == 0

async def f():
    t = time.perf_counter()
    return {"other_open": time.perf_counter() - t, "shown": []}

def g(r):
    assert r["other_open"] < 10 and not r["shown"]
'''
    assert wall_clock_asserts(src) == [(9, "a"), (15, "b"), (18, "c"), (22, "d"), (26, "hypothesis deadline"),
                                       (38, "g")]
