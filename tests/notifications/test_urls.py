"""The callout URL guard on its own: schemes, ports, addresses, resolution, relaxations."""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import pytest

from asyncgate.config import Settings
from asyncgate.notifications.urls import (
    CalloutHostUnresolved,
    CalloutUrlRefused,
    CalloutUrlRules,
    vet_callout_url,
)

STRICT = CalloutUrlRules()
PUBLIC_V4 = "93.184.215.14"
PUBLIC_V6 = "2606:2800:21f:cb07:6820:80da:af6b:8b2c"


def resolving_to(*addresses: str):
    async def resolve(host: str, port: int):
        return [ipaddress.ip_address(address) for address in addresses]

    return resolve


async def refusal(url: str, rules: CalloutUrlRules = STRICT, resolve=None) -> str:
    with pytest.raises(CalloutUrlRefused) as refused:
        await vet_callout_url(url, rules, resolve)
    return str(refused.value)


class TestAllowed:
    async def test_a_public_ipv4_literal_needs_no_resolution(self):
        async def no_resolver(host: str, port: int):
            raise AssertionError("a literal is not resolved")

        vetted = await vet_callout_url(f"https://{PUBLIC_V4}/hook", STRICT, no_resolver)

        assert vetted.addresses == (ipaddress.ip_address(PUBLIC_V4),)
        assert vetted.port == 443

    async def test_a_public_ipv6_literal(self):
        vetted = await vet_callout_url(f"https://[{PUBLIC_V6}]/hook", STRICT)

        assert vetted.addresses == (ipaddress.ip_address(PUBLIC_V6),)

    async def test_a_name_answers_with_every_address_it_resolves_to(self):
        resolve = resolving_to(PUBLIC_V4, PUBLIC_V6)

        vetted = await vet_callout_url("https://hooks.example.com/in?x=1", STRICT, resolve)

        assert [str(a) for a in vetted.addresses] == [PUBLIC_V4, PUBLIC_V6]
        assert vetted.url.host == "hooks.example.com"

    async def test_the_default_port_written_out_is_no_port(self):
        vetted = await vet_callout_url(f"https://{PUBLIC_V4}:443/hook", STRICT)

        assert vetted.port == 443

    async def test_an_international_name_is_resolved_in_its_ascii_form(self):
        asked = []

        async def resolve(host: str, port: int):
            asked.append(host)
            return [ipaddress.ip_address(PUBLIC_V4)]

        await vet_callout_url("https://bücher.example/hook", STRICT, resolve)

        assert asked == ["xn--bcher-kva.example"]


class TestRefusedByRule:
    @pytest.mark.parametrize(
        "url",
        [f"http://{PUBLIC_V4}/hook", f"ftp://{PUBLIC_V4}/hook", f"{PUBLIC_V4}/hook", "hook"],
        ids=["http", "ftp", "no scheme", "a word"],
    )
    async def test_only_https(self, url):
        assert "must start with https://" in await refusal(url)

    @pytest.mark.parametrize("url", ["https:///hook", "https://"], ids=["empty host", "bare"])
    async def test_a_host_is_needed(self, url):
        assert "no host" in await refusal(url)

    async def test_no_port(self):
        assert "must not name a port" in await refusal(f"https://{PUBLIC_V4}:8443/hook")

    async def test_no_credentials_in_the_url(self):
        message = await refusal(f"https://user:secret@{PUBLIC_V4}/hook")

        assert "use calloutAuth" in message

    async def test_not_a_url(self):
        assert "not a valid URL" in await refusal("https://exa mple.com/\x00")


NON_PUBLIC = [
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback range"),
    ("10.1.2.3", "private 10/8"),
    ("172.16.0.1", "private 172.16/12"),
    ("192.168.1.1", "private 192.168/16"),
    ("169.254.169.254", "link-local (cloud metadata)"),
    ("100.64.0.1", "shared address space"),
    ("0.0.0.0", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "broadcast"),
    ("192.0.2.1", "documentation"),
    ("::1", "IPv6 loopback"),
    ("::", "IPv6 unspecified"),
    ("fe80::1", "IPv6 link-local"),
    ("fc00::1", "IPv6 unique local"),
    ("fec0::1", "IPv6 site-local"),
    ("ff02::1", "IPv6 multicast"),
    ("::ffff:127.0.0.1", "IPv4-mapped loopback"),
    ("::ffff:10.0.0.1", "IPv4-mapped private"),
    ("::ffff:169.254.169.254", "IPv4-mapped link-local"),
    ("2002:7f00:1::1", "6to4 of loopback"),
]


class TestRefusedAddresses:
    @pytest.mark.parametrize(("address", "kind"), NON_PUBLIC, ids=[k for _, k in NON_PUBLIC])
    async def test_a_non_public_literal_is_refused(self, address, kind):
        host = f"[{address}]" if ":" in address else address

        assert "not a public address" in await refusal(f"https://{host}/hook")

    @pytest.mark.parametrize(("address", "kind"), NON_PUBLIC, ids=[k for _, k in NON_PUBLIC])
    async def test_a_name_resolving_to_it_is_refused(self, address, kind):
        message = await refusal("https://hooks.example.com/", resolve=resolving_to(address))

        assert str(ipaddress.ip_address(address)) in message

    async def test_one_non_public_address_among_public_ones_is_enough(self):
        resolve = resolving_to(PUBLIC_V4, "10.0.0.7", PUBLIC_V6)

        assert "10.0.0.7" in await refusal("https://hooks.example.com/", resolve=resolve)

    @pytest.mark.parametrize(
        "host", ["localhost", "2130706433", "0x7f.1", "127.1"], ids=lambda host: host
    )
    async def test_names_and_numeric_forms_the_system_resolver_reads_as_loopback(self, host):
        assert "127.0.0.1" in await refusal(f"https://{host}/hook")


class TestResolution:
    async def test_a_name_that_does_not_resolve_is_refused(self):
        async def fails(host: str, port: int):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

        with pytest.raises(CalloutHostUnresolved, match="does not resolve"):
            await vet_callout_url("https://nowhere.example/", STRICT, fails)

    async def test_a_name_with_no_address_is_refused(self):
        with pytest.raises(CalloutHostUnresolved):
            await vet_callout_url("https://nowhere.example/", STRICT, resolving_to())

    async def test_resolution_is_bounded_in_time(self):
        async def hangs(host: str, port: int):
            await asyncio.sleep(10)

        rules = CalloutUrlRules(resolve_timeout=0.05)
        with pytest.raises(CalloutHostUnresolved, match="within 0.05 s"):
            await asyncio.wait_for(vet_callout_url("https://slow.example/", rules, hangs), 2)

    async def test_the_port_asked_for_is_the_urls(self):
        asked = []

        async def resolve(host: str, port: int):
            asked.append(port)
            return [ipaddress.ip_address(PUBLIC_V4)]

        await vet_callout_url("https://a.example/", STRICT, resolve)
        await vet_callout_url("http://a.example:8080/", CalloutUrlRules(True, False, True), resolve)

        assert asked == [443, 8080]


class TestRelaxations:
    async def test_allow_http_allows_http_only(self):
        rules = CalloutUrlRules(allow_http=True)

        await vet_callout_url(f"http://{PUBLIC_V4}/hook", rules)
        assert "not a public address" in await refusal("http://127.0.0.1/hook", rules)
        assert "port" in await refusal(f"http://{PUBLIC_V4}:8080/hook", rules)
        assert "https:// or http://" in await refusal(f"ftp://{PUBLIC_V4}/hook", rules)

    async def test_allow_ports_allows_ports_only(self):
        rules = CalloutUrlRules(allow_ports=True)

        vetted = await vet_callout_url(f"https://{PUBLIC_V4}:8443/hook", rules)
        assert vetted.port == 8443
        assert "https://" in await refusal(f"http://{PUBLIC_V4}/hook", rules)

    async def test_allow_private_addresses_allows_them_only(self):
        rules = CalloutUrlRules(allow_private_addresses=True)

        vetted = await vet_callout_url("https://localhost/hook", rules)
        assert ipaddress.ip_address("127.0.0.1") in vetted.addresses
        assert "port" in await refusal("https://127.0.0.1:8443/hook", rules)

    def test_dev_mode_turns_every_relaxation_on(self):
        rules = CalloutUrlRules.from_settings(Settings(dev=True, _env_file=None))

        assert (rules.allow_http, rules.allow_private_addresses, rules.allow_ports) == (
            True,
            True,
            True,
        )
        assert rules.relaxations == ["http://", "private addresses", "explicit ports"]

    def test_each_setting_turns_its_relaxation_on(self):
        settings = Settings(callout_allow_ports=True, callout_connect_timeout=3, _env_file=None)

        rules = CalloutUrlRules.from_settings(settings)

        assert rules == CalloutUrlRules(allow_ports=True, resolve_timeout=3.0)
        assert rules.relaxations == ["explicit ports"]

    def test_the_defaults_are_strict(self):
        assert CalloutUrlRules.from_settings(Settings(_env_file=None)).relaxations == []
