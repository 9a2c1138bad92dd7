"""Field checks are memoized by value (sweeps build 1,000s of configs): the memo must never accept a
value the check refuses, however equal it is to an accepted one (1 == 1.0 == True in Python)."""
from __future__ import annotations

import pytest

from cspnet import ConfigError, CSPConfig, get_preset
from cspnet.config import _CHECKED


@pytest.mark.parametrize("good, bad, field", [
    (dict(growth_rate=(32, 32, 32, 32)), dict(growth_rate=(32.0, 32.0, 32.0, 32.0)), "growth_rate"),
    (dict(input_size=224), dict(input_size=224.0), "input_size"),
    (dict(stem_norm=True), dict(stem_norm=1), "stem_norm"),
])
def test_a_refused_value_equal_to_an_accepted_one_is_still_refused(good, bad, field):
    CSPConfig(**good)                      # fills the memo
    with pytest.raises(ConfigError) as err:
        CSPConfig(**bad)
    assert err.value.field == field


def test_bool_per_stage_values_are_not_confused_with_ints():
    v8 = get_preset("yolov8n_cls")
    assert v8.replace(residual=(True,) * 4).residual == (True,) * 4
    with pytest.raises(ConfigError) as err:
        v8.replace(residual=(1, 1, 1, 1))
    assert err.value.field == "residual"


def test_memo_is_bounded_and_unhashable_values_bypass_it():
    for g in range(1, 160):
        CSPConfig(growth_rate=g, input_size=64)
    assert len(_CHECKED) <= 4096
    assert CSPConfig.from_dict({"growth_rate": [16, 16, 16, 16]}).growth_rate == (16, 16, 16, 16)
