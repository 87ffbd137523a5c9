"""Security monitoring settings: typed from the environment, validated at start-up, the allow-list parsed."""

import ipaddress

import pytest

from project.config import ConfigError, environment_settings
from tests.settings import load_settings as load


def test_defaults_block_five_failures_in_ten_minutes_for_fifteen_minutes_up_to_a_day():
    config = load()
    assert (config["SECURITY_BLOCK_THRESHOLD"], config["SECURITY_BLOCK_WINDOW_SECONDS"]) == (5, 600)
    assert (config["SECURITY_BLOCK_SECONDS"], config["SECURITY_BLOCK_MAX_SECONDS"]) == (900, 86400)
    assert config["SECURITY_ALLOWLIST_NETWORKS"] == ()


def test_numbers_come_from_the_environment_as_integers():
    settings = environment_settings({"SECURITY_BLOCK_SECONDS": "30", "SECURITY_SCAN_THRESHOLD": "7"})
    assert (settings["SECURITY_BLOCK_SECONDS"], settings["SECURITY_SCAN_THRESHOLD"]) == (30, 7)


def test_a_non_number_in_the_environment_names_the_variable():
    with pytest.raises(ConfigError, match="SECURITY_LOCK_SECONDS"):
        environment_settings({"SECURITY_LOCK_SECONDS": "soon"})


@pytest.mark.parametrize("name", ["SECURITY_BLOCK_THRESHOLD", "SECURITY_BLOCK_WINDOW_SECONDS",
                                  "SECURITY_LOCK_THRESHOLD", "SECURITY_SCAN_WINDOW_SECONDS"])
@pytest.mark.parametrize("value", [0, -5, 1.5, True, "3"])
def test_counts_and_durations_must_be_whole_numbers_of_at_least_one(name, value):
    with pytest.raises(ConfigError, match=name):
        load(**{name: value})


def test_the_maximum_block_cannot_be_shorter_than_the_first():
    with pytest.raises(ConfigError, match="SECURITY_BLOCK_MAX_SECONDS"):
        load(SECURITY_BLOCK_SECONDS=600, SECURITY_BLOCK_MAX_SECONDS=60)


def test_the_allow_list_is_parsed_into_networks():
    config = load(SECURITY_ALLOWLIST=" 10.0.0.0/8, 192.168.1.5 ,2001:db8::/32,,")
    assert config["SECURITY_ALLOWLIST_NETWORKS"] == (
        ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("192.168.1.5/32"),
        ipaddress.ip_network("2001:db8::/32"))


@pytest.mark.parametrize("value", ["10.0.0.0/33", "office", "10.0.0.0/8;192.168.0.0/16", "300.1.1.1"])
def test_a_bad_allow_list_entry_stops_start_up_naming_the_variable(value):
    with pytest.raises(ConfigError, match="SECURITY_ALLOWLIST"):
        load(SECURITY_ALLOWLIST=value)


@pytest.mark.parametrize(("ip", "listed"), [
    ("10.0.0.7", True), ("::ffff:10.0.0.7", True), ("192.168.1.5", True), ("192.168.1.6", False),
    ("2001:db8::1", True), ("127.0.0.1", False), ("unknown", False),
])
def test_allow_listed_addresses(ip, listed):
    from flask import Flask

    from project.security.blocking import allowlisted

    app = Flask(__name__)
    app.config.update(load(SECURITY_ALLOWLIST="10.0.0.0/8,192.168.1.5,2001:db8::/32"))
    with app.app_context():
        assert allowlisted(ip) is listed
