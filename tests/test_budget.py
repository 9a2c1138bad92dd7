"""Real builds (live trace, ONNX, CPU benchmarks) are checked against a memory budget before anything
is allocated: explorer/budget.py.  The estimate against measured peaks: benchmarks/memory_estimate.py."""
from __future__ import annotations

import pytest

import explorer.real.latency as latency
from cspnet import ConfigError, get_preset, plan_network
from cspnet.plan import numel
from explorer.real import budget
from explorer.real.latency import BenchmarkError, BenchRequest


@pytest.mark.parametrize("name", ["densenet121", "cspdensenet_walkthrough", "cspresnet50", "cspdarknet53", "peleenet"])
def test_traced_activation_peak_lies_between_the_largest_tensor_and_the_sum_of_all(name):
    cfg = get_preset(name).replace(input_size=128)
    plan = plan_network(cfg)
    peak = budget.activation_peak(cfg)
    largest = max(numel(op.out_shape) for op in plan.ops) * 4  # alive when it is made
    everything = (plan.activation_elements + numel(plan.input_shape)) * 4  # nothing ever freed
    assert largest <= peak < everything, (largest, peak, everything)


def test_estimate_is_weights_plus_batch_times_the_scaled_peak_plus_slack():
    dn = get_preset("densenet121")
    assert budget.activation_peak(dn.replace(input_size=448)) > 3.5 * budget.activation_peak(dn)  # ~ pixels
    est = budget.estimate(dn, 64)
    assert est.total == est.weights + 64 * est.per_image + budget.SLACK
    assert est.per_image == int(budget.activation_peak(dn) * budget.SAFETY)


def test_twin_weights_are_added_and_bf16_counts_half_precision_copies():
    cfg = get_preset("cspresnet50")
    one, both = budget.estimate(cfg, 8), budget.estimate([cfg, cfg.twin()], 8)
    assert both.weights == (plan_network(cfg).params + plan_network(cfg.twin()).params) * 4
    assert both.weights > one.weights
    assert budget.estimate(cfg, 8, "bf16").weights == plan_network(cfg).params * 6


def test_check_build_names_the_estimate_and_the_bound():
    cfg = get_preset("darknet53")
    with pytest.raises(ConfigError) as e:
        budget.check_build(cfg, budget=1 * 2**30)
    assert e.value.field == "design"
    assert "needs about 1.2 GiB" in str(e.value) and "up to 1.0 GiB" in str(e.value)
    assert budget.check_build(cfg, budget=8 * 2**30).total < 8 * 2**30


def test_cpu_benchmark_over_the_budget_is_refused_before_any_build(monkeypatch):
    monkeypatch.setattr(latency, "build_model", lambda *a, **k: pytest.fail("a model was built"))
    monkeypatch.setattr(latency, "BENCH_BUDGET", 2 * 2**30)
    cfg = get_preset("cspdarknet53")
    fits = budget.largest_batch([cfg, cfg.twin()], 2 * 2**30)
    assert 1 <= fits < 256
    with pytest.raises(BenchmarkError) as e:
        latency.compare_latency(cfg, BenchRequest(batch_sizes=(1, 256), runs=1, warmup=0))
    msg = str(e.value)
    assert msg.startswith("batch: 256") and "limited to 2.0 GiB" in msg and f"batches up to {fits} fit" in msg
    with pytest.raises(BenchmarkError):
        latency.benchmark(cfg, BenchRequest(batch_sizes=(256,), runs=1, warmup=0))
    assert latency.DEVICE_QUEUE.waiting("cpu") == 0  # refused before queueing


def test_budgets_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("CSPNET_BENCH_BUDGET_GIB", "1.5")
    assert budget._env_gib("CSPNET_BENCH_BUDGET_GIB", 9) == int(1.5 * 2**30)
    monkeypatch.setenv("CSPNET_BENCH_BUDGET_GIB", "lots")
    assert budget._env_gib("CSPNET_BENCH_BUDGET_GIB", 9) == 9 * 2**30
