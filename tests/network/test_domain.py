"""Ranges and addresses as the network check reads them (pure domain)."""

from __future__ import annotations

import pytest

from shared.domain.network import RangeMatcher, normalise_range, parse_address


@pytest.mark.parametrize(
    "address,admitted",
    [
        ("192.0.2.77", True),
        ("::ffff:192.0.2.77", True),  # a dual-stack socket's IPv4 peer
        ("[2001:db8:10::5]", True),
        ("[2001:db8:10::5]:50123", True),
        ("192.0.2.77:50123", True),
        ("2001:db8:10::5%eth0", True),
        ("2001:db8:11::5", False),
        ("198.51.100.1", False),
        ("", False),
        (None, False),
        ("testclient", False),
    ],
)
def test_an_address_is_matched_as_the_network_gives_it(address, admitted):
    assert RangeMatcher(["192.0.2.0/24", "2001:db8:10::/48"]).admits(address) is admitted


def test_no_ranges_admit_every_address_even_one_not_known():
    assert RangeMatcher([]).admits(None) is True


@pytest.mark.parametrize(
    "text,error",
    [
        ("  ", "an empty range"),
        ("192.0.2.9/24", "write 192.0.2.0/24"),
        ("192.0.2.0/33", "not an IPv4 or IPv6 range"),
        ("::ffff:192.0.2.0/120", "IPv4-mapped"),
    ],
)
def test_a_range_is_refused_naming_what_is_wrong(text, error):
    with pytest.raises(ValueError, match=error):
        normalise_range(text)


def test_an_address_alone_is_a_range_of_one():
    assert normalise_range("2001:DB8::1") == "2001:db8::1/128"
    assert parse_address("::ffff:10.0.0.1") is not None and str(parse_address("::ffff:10.0.0.1")) == "10.0.0.1"
