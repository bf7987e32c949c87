"""Where a webhook may go (``domain.webhook_target_refusal``), on plain URLs and resolved addresses."""

import ipaddress

import pytest

from services.notify.domain import ip_literal, webhook_target_refusal
from shared.config import NotifySettings

LOCAL = (ipaddress.ip_network("127.0.0.0/8"),)
PUBLIC = "93.184.215.14"


def _kind(reason: str | None) -> str | None:
    """The part of a refusal that says what kind of address it was."""
    if reason is None:
        return None
    assert reason.endswith(
        "drx sends webhooks to public addresses only (an operator may allow a network with "
        "DRX_NOTIFY_WEBHOOK_ALLOW_NETWORKS)"
    ), reason
    return reason.split(", ", 1)[1].split(";", 1)[0]


@pytest.mark.parametrize(
    ("url", "resolved", "address", "kind"),
    [
        ("http://127.0.0.1:9100/metrics", [], "127.0.0.1", "a loopback address"),
        ("http://localhost/hook", ["127.0.0.1", "::1"], "127.0.0.1", "a loopback address"),
        ("http://[::1]/", [], "::1", "a loopback address"),
        ("http://[::ffff:127.0.0.1]/", [], "::ffff:7f00:1", "a loopback address"),
        ("http://2130706433/", [], "127.0.0.1", "a loopback address"),
        ("http://0x7f.1/", [], "127.0.0.1", "a loopback address"),
        ("http://0177.0.0.1/", [], "127.0.0.1", "a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", [], "169.254.169.254", "a cloud metadata address"),
        ("http://[fd00:ec2::254]/", [], "fd00:ec2::254", "a cloud metadata address"),
        ("http://[::ffff:169.254.169.254]/", [], "::ffff:a9fe:a9fe", "a cloud metadata address"),
        ("http://169.254.1.1/", [], "169.254.1.1", "a link-local address"),
        ("http://[fe80::1%25eth0]/", [], "fe80::1", "a link-local address"),
        ("http://10.1.2.3/", [], "10.1.2.3", "a private address"),
        ("http://172.16.0.1/", [], "172.16.0.1", "a private address"),
        ("http://192.168.1.1/", [], "192.168.1.1", "a private address"),
        ("http://[fc00::1]/", [], "fc00::1", "a private address"),
        ("http://[::ffff:10.0.0.1]/", [], "::ffff:a00:1", "a private address"),
        ("http://224.0.0.1/", [], "224.0.0.1", "a multicast address"),
        ("http://[ff02::1]/", [], "ff02::1", "a multicast address"),
        ("http://0.0.0.0/", [], "0.0.0.0", "an unspecified address"),
        ("http://0/", [], "0.0.0.0", "an unspecified address"),
        ("http://[::]/", [], "::", "an unspecified address"),
        ("http://255.255.255.255/", [], "255.255.255.255", "the broadcast address"),
        ("http://240.0.0.1/", [], "240.0.0.1", "a reserved or broadcast address"),
        ("http://100.64.0.1/", [], "100.64.0.1", "not a globally routable address"),  # carrier-grade NAT
        ("http://[2002:7f00:1::]/", [], "2002:7f00:1::", "a loopback address"),  # 6to4 of 127.0.0.1
        ("http://[64:ff9b::a9fe:a9fe]/", [], "64:ff9b::a9fe:a9fe", "a cloud metadata address"),  # NAT64
        ("https://hooks.example.org/x", ["192.168.0.7"], "192.168.0.7", "a private address"),
        ("https://hooks.example.org/x", [PUBLIC, "10.0.0.5"], "10.0.0.5", "a private address"),
    ],
)
def test_internal_addresses_are_refused_in_every_spelling(url, resolved, address, kind):
    reason = webhook_target_refusal(url, resolved)
    assert reason is not None
    assert reason.startswith(f"the webhook host resolves to {address}, ")
    assert _kind(reason) == kind


@pytest.mark.parametrize(
    ("url", "resolved"),
    [
        ("https://hooks.example.org/drx", [PUBLIC]),
        ("https://hooks.example.org/drx", [PUBLIC, "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]),
        ("http://8.8.8.8/hook", []),
        ("http://[2001:4860:4860::8888]/hook", []),
    ],
)
def test_public_addresses_are_accepted(url, resolved):
    assert webhook_target_refusal(url, resolved) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hooks",
        "http://localhost:8080/hooks",
        "http://[::ffff:127.0.0.1]:8080/",
        "http://2130706433/",
    ],
)
def test_an_allowed_network_may_be_reached(url):
    resolved = ["127.0.0.1"] if "localhost" in url else []
    assert webhook_target_refusal(url, resolved, LOCAL) is None


def test_an_allowance_covers_its_network_only():
    assert _kind(webhook_target_refusal("http://10.0.0.1/", [], LOCAL)) == "a private address"
    assert _kind(webhook_target_refusal("http://[::1]/", [], LOCAL)) == "a loopback address"
    mixed = webhook_target_refusal("http://both.example/", ["127.0.0.1", "169.254.169.254"], LOCAL)
    assert _kind(mixed) == "a cloud metadata address"


def test_a_name_that_resolves_to_nothing_is_refused():
    reason = webhook_target_refusal("https://nowhere.example/hook", [])
    assert reason == "the webhook host does not resolve to any address"


@pytest.mark.parametrize("url", ["ftp://example.org/x", "http://", "mailto:x@y.org", "http://[::1/"])
def test_what_is_no_http_url_with_a_host_is_refused(url):
    reason = webhook_target_refusal(url, [PUBLIC])
    assert reason in {
        "the webhook address needs http:// or https:// and a host",
        "the webhook address is not a URL",
    }


def test_the_reason_never_holds_the_url_which_may_hold_a_token():
    reason = webhook_target_refusal("http://user:hunter2@10.0.0.1/hook?token=s3cret", [])
    assert reason is not None
    assert "hunter2" not in reason
    assert "s3cret" not in reason
    assert "/hook" not in reason


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("0177.0.0.01", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.65535", "10.0.255.255"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
        ("[::1]", "::1"),
        ("hooks.example.org", None),
        ("256.1.1.1", None),
        ("1.2.3.4.5", None),
        ("0x", "0.0.0.0"),  # inet_aton reads a bare 0x as 0
        ("08.1.1.1", None),  # not octal, not decimal: a name
    ],
)
def test_ip_literals_are_read_as_a_resolver_reads_them(host, address):
    literal = ip_literal(host)
    assert (None if literal is None else str(literal)) == address


def test_the_allow_setting_is_a_comma_separated_cidr_list_and_empty_by_default(monkeypatch):
    monkeypatch.delenv("DRX_NOTIFY_WEBHOOK_ALLOW_NETWORKS", raising=False)
    assert NotifySettings().webhook_allow_networks == ()
    monkeypatch.setenv("DRX_NOTIFY_WEBHOOK_ALLOW_NETWORKS", "127.0.0.0/8, fd12:3456::/32,10.1.2.3/8")
    assert [str(n) for n in NotifySettings().webhook_allow_networks] == [
        "127.0.0.0/8",
        "fd12:3456::/32",
        "10.0.0.0/8",
    ]
    monkeypatch.setenv("DRX_NOTIFY_WEBHOOK_ALLOW_NETWORKS", "localhost")
    with pytest.raises(ValueError, match="'localhost' is not a network in CIDR notation"):
        NotifySettings()
