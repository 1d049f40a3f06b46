"""E-mail addresses and mobile numbers are checked before anything is stored."""
import pytest

from engine.errors import InvalidInput
from notifications.contacts import normalize_channels, normalize_email, normalize_phone


@pytest.mark.parametrize("raw, phone", [("13800138000", "13800138000"), ("+86 138-0013-8000", "13800138000"),
                                        ("0086 19912345678", "19912345678"), ("(86)15012345678", "15012345678")])
def test_mainland_mobile_numbers_are_accepted_and_normalised(raw, phone):
    assert normalize_phone(raw) == phone


@pytest.mark.parametrize("raw", ["12800138000", "1380013800", "138001380001", "010-12345678", "phone", ""])
def test_other_numbers_are_refused(raw):
    with pytest.raises(InvalidInput) as refused:
        normalize_phone(raw)
    assert "phone" in refused.value.fields


@pytest.mark.parametrize("raw", ["zhang.san@qinghe.gov.cn", "a+b@x.example", " padded@x.example "])
def test_addresses_are_accepted(raw):
    assert normalize_email(raw) == raw.strip()


@pytest.mark.parametrize("raw", ["no-at.example", "a@b", "a@@b.example", "a..b@x.example", "a b@x.example", ""])
def test_bad_addresses_are_refused(raw):
    with pytest.raises(InvalidInput):
        normalize_email(raw)


def test_channels_are_one_or_more_of_the_three():
    assert normalize_channels("inapp, email,email") == ["inapp", "email"]
    with pytest.raises(InvalidInput):
        normalize_channels([])
    with pytest.raises(InvalidInput):
        normalize_channels(["wechat"])
