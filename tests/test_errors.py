"""User errors name the field, what was expected and what was given; unknown keys suggest the nearest ones."""

import pytest

from tokenfab.core.errors import TokenfabError, UnknownKeyError, require_int, require_positive, require_range


def test_message_names_field_expected_and_got():
    e = TokenfabError("bad value", field="utilization", expected="in (0, 1]", got=1.5)
    s = str(e)
    assert "utilization" in s and "(0, 1]" in s and "1.5" in s


def test_unknown_key_suggests_the_nearest():
    e = UnknownKeyError("hardware", "h100", ["h100-sxm", "h100-pcie", "b200"])
    assert "h100-sxm" in str(e) and "h100-pcie" in str(e)


@pytest.mark.parametrize(
    "call, field",
    [
        (lambda: require_positive("gpus", 0), "gpus"),
        (lambda: require_positive("gpus", -1, allow_zero=True), "gpus"),
        (lambda: require_range("utilization", 1.2, 0, 1), "utilization"),
        (lambda: require_range("prefix_hit_rate", 1.0, 0, 1, hi_open=True), "prefix_hit_rate"),
        (lambda: require_int("tp", 2.5), "tp"),
    ],
)
def test_validators_reject_with_the_field(call, field):
    with pytest.raises(TokenfabError) as e:
        call()
    assert e.value.field == field


def test_validators_accept_valid_values():
    require_positive("gpus", 8)
    require_range("utilization", 1.0, 0, 1)
    require_int("tp", 4)
