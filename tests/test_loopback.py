"""Traffic only to loopback: target URLs naming any other host are refused before a request is made."""

import pytest

from tier7.errors import Tier7Error
from tier7.targets.loopback import is_loopback_host, require_loopback_url


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "LOCALHOST"])
def test_loopback_hosts_pass(host):
    assert is_loopback_host(host)


@pytest.mark.parametrize("host", ["10.0.0.1", "192.0.2.7", "0.0.0.0", "::", "example.com", "127.0.0.1.nip.io",
                                  "localhost.example.com", ""])
def test_other_hosts_are_refused(host):
    assert not is_loopback_host(host)


def test_urls_are_checked_with_a_one_line_reason():
    assert require_loopback_url("http://127.0.0.1:8001", "node n1") == "http://127.0.0.1:8001"
    assert require_loopback_url("http://[::1]:8001/x", "node n1")
    with pytest.raises(Tier7Error, match="node n1: 203.0.113.5 is not a loopback address"):
        require_loopback_url("http://203.0.113.5:8001", "node n1")
    with pytest.raises(Tier7Error, match="must look like http://"):
        require_loopback_url("https://127.0.0.1:8001", "node n1")
    with pytest.raises(Tier7Error, match="must look like http://"):
        require_loopback_url("127.0.0.1:8001", "node n1")
