"""``python -m explorer``: everything the app shows, as tables, JSON or CSV.

Bad input exits with code 2 and one line on stderr naming the field; never a traceback.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import sys

from cspnet import ConfigError, all_presets, count_params

EXIT_USAGE = 2


class CLIError(Exception):
    """A usage error: reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not argparse's usage block
        raise CLIError(f"{self.prog}: {message}")


def _design(args):
    from .design import apply_overrides, load_design, with_changes

    cfg = load_design(args.design)
    cfg = apply_overrides(cfg, args.set)
    if getattr(args, "input_size", None) is not None:
        cfg = with_changes(cfg, {"input_size": args.input_size})
    return cfg


def _add_design_args(p):
    p.add_argument("design", help="a preset name (see `presets`) or a config .json file")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="change a config field, e.g. --set split_ratio=0.5 --set repeats=6,12,24,16")
    p.add_argument("--input-size", type=int, default=None, help="input resolution (square)")


def _print_json(obj):
    print(json.dumps(obj, indent=2, allow_nan=False))


def _print_csv(rows):
    if not rows:
        return
    buf = io.StringIO()
    keys = list(dict.fromkeys(k for r in rows for k in r))
    w = csv.DictWriter(buf, fieldnames=keys)
    w.writeheader()
    w.writerows(rows)
    sys.stdout.write(buf.getvalue())


def _print_table(rows):
    import pandas as pd

    if rows:
        print(pd.DataFrame(rows).to_string(index=False))


# --------------------------------------------------------------------------- commands
def cmd_presets(args):
    from cspnet import plan_network
    from .counting import count

    rows = []
    for name, p in all_presets().items():
        from cspnet import get_preset

        cfg = get_preset(name)
        plan = plan_network(cfg)
        rows.append({"name": name, "family": cfg.family, "fusion": cfg.fusion,
                     "input_size": cfg.input_size, "params": plan.params,
                     "reference_params": p.reference_params, "macs": count(plan, "macs"),
                     "reference": p.reference, "description": p.description})
    if args.json:
        _print_json(rows)
    elif args.csv:
        _print_csv(rows)
    else:
        _print_table([{k: r[k] for k in ("name", "family", "fusion", "input_size", "params",
                                         "reference_params", "macs", "reference")} for r in rows])


def cmd_summary(args):
    from .analysis import compare_with_twin, stage_table

    cfg = _design(args)
    cmp = compare_with_twin(cfg, batch=args.batch)
    s = cmp["design"]
    if args.trace:
        from .trace import live_trace

        s["trace"] = live_trace(cfg)
    if args.json:
        out = dict(s)
        out["twin"] = {"config": cmp["twin_config"], "deltas": cmp["deltas"]}
        _print_json(out)
        return
    rows = stage_table(s, args.convention)
    if args.csv:
        _print_csv(rows)
        return
    print(f"{s['name']}  family={s['family']}  fusion={s['fusion']}  input={s['input_size']}x{s['input_size']}")
    print(f"params {s['params']:,}   MACs (conv+linear) {s['macs']:,}   fvcore/timm MACs {s['fvcore_macs']:,}"
          f"   CIO {s['cio']:,}")
    if cfg.is_csp:
        d = cmp["deltas"]
        print("vs plain twin (fusion=none): " + "   ".join(
            f"{v['label']} {v['delta_pct']:+.1f}%" for v in d.values() if v["delta_pct"] is not None))
    _print_table(rows)
    if args.trace:
        t = s["trace"]
        print(f"live trace: params {t['params']:,}, fvcore {t['fvcore']['total']:,} "
              f"({t['seconds']['total']:.2f} s)")


def cmd_reconcile(args):
    from .trace import reconcile

    cfg = _design(args)
    _print_json(reconcile(cfg)) if args.json else _print_reconcile(reconcile(cfg))


def _print_reconcile(r):
    for k, v in r["counters"].items():
        print(f"{k:28s} {v:>16,}")
    print(f"fvcore - FlopCounterMode/2 = {r['difference']:,}; explained by:")
    for reason in r["reasons"]:
        print(f"  {reason['op']:22s} {reason['macs']:>14,}  ({reason['rule']})")
    if r["not_counted_by_either"]:
        print("ops neither counts: " + ", ".join(f"{k} x{v}" for k, v in r["not_counted_by_either"].items()))


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m explorer", description="CSPNet Explorer command line")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    sp = sub.add_parser("presets", help="list the presets with their parameter counts")
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--json", action="store_true")
    g.add_argument("--csv", action="store_true")
    sp.set_defaults(func=cmd_presets)

    sp = sub.add_parser("summary", help="per-stage shapes, params, MACs, CIO, memory, deltas vs the plain twin")
    _add_design_args(sp)
    sp.add_argument("--batch", type=int, default=1, help="batch size for activation memory")
    sp.add_argument("--convention", default="macs", choices=["macs", "fvcore", "flops", "bflops"])
    sp.add_argument("--trace", action="store_true", help="also build the model and check with hooks + fvcore")
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--json", action="store_true")
    g.add_argument("--csv", action="store_true")
    sp.set_defaults(func=cmd_summary)

    sp = sub.add_parser("reconcile", help="fvcore vs FlopCounterMode vs analytic, and why they differ")
    _add_design_args(sp)
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_reconcile)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "command", None):
            raise CLIError("python -m explorer: a command is required (try --help)")
        if getattr(args, "batch", 1) is not None and not 1 <= getattr(args, "batch", 1) <= 4096:
            raise ConfigError("batch", f"{args.batch} is not allowed; allowed integers 1 to 4096")
        args.func(args)
        return 0
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
    except CLIError as exc:
        print(f"error: {exc}", file=sys.stderr)
    except BrokenPipeError:
        return 0
    return EXIT_USAGE


__all__ = ["main", "build_parser", "count_params"]
