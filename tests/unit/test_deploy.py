"""deploy/ and the Docker files hold together with the code: the alerting rules and the
Grafana dashboard are valid and name only series `/metrics` exports (checked by Debian's
`promtool`, which `.ci/promtool` installs: in CI its absence fails, elsewhere it skips), and
compose.yaml and the Dockerfile agree with the README's commands, the settings and the routes."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path
from typing import Any, cast

import pytest
import yaml
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.parser import text_string_to_metric_families

from services.entrypoints.cli.main import app as cli
from services.entrypoints.http.api import build_api
from services.entrypoints.http.metrics import GAUGES, HISTOGRAMS
from services.entrypoints.http.probe import PROBES
from services.platform.settings import Settings
from services.tracker.metrics import prometheus_text

ROOT = Path(__file__).parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
README = (ROOT / "README.md").read_text()
DOCKERFILE = (ROOT / "Dockerfile").read_text()
DASHBOARD = json.loads((DEPLOY / "grafana" / "followup.json").read_text())
PROBE_MODULE = "services.entrypoints.http.probe"


# --- the series ---------------------------------------------------------------------------


def exported() -> set[str]:
    """Every sample name /metrics can show: the status's, a value in each histogram, and
    each gauge read from the database."""
    status = {
        "lag": 0,
        "dead_letters": 0,
        "conflicts": 0,
        "streams": {"followup:events": {"group": "g", "lag": 0, "pending": 0,
                                        "oldest_pending_age_seconds": 0.0}},
        "metrics": {"events_applied": 0, "duplicates": 0, "conflicts": 0, "batches": 0,
                    "failed_deliveries": 0, "reclaimed": 0, "dead_letters": 0,
                    "batch_seconds_sum": 0.0, "last_batch_seconds": 0.0,
                    "events_applied_by_consumer": {"host-1": 0}},
    }  # fmt: skip
    histograms = [
        h.family({"\t".join((h.name, *("x" for _ in h.labels), "+Inf")): "1"}) for h in HISTOGRAMS
    ]
    gauges = [GaugeMetricFamily(name, text, value=0) for name, text in GAUGES.items()]
    text = prometheus_text(status, extra=[*histograms, *gauges]).decode()
    return {
        sample.name for family in text_string_to_metric_families(text) for sample in family.samples
    }


def named_series(expression: str) -> set[str]:
    return set(re.findall(r"\bfollowup_[a-z_]+\b", expression))


def dashboard_expressions() -> list[str]:
    found = []
    for panel in DASHBOARD["panels"]:
        found += [target["expr"] for target in panel.get("targets", [])]
    return found


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_the_alerting_rules_name_only_exported_series() -> None:
    series = exported()
    for rule in alert_rules():
        assert named_series(rule["expr"]) <= series, rule["alert"]


def test_each_alert_the_issue_asks_for_is_there() -> None:
    watched = " ".join(rule["expr"] for rule in alert_rules())
    for series in (
        "followup_lag",  # stream lag
        "followup_dead_letters_total",  # dead letters
        "followup_alert_delivery_oldest_pending_seconds",  # delivery backlog
        "followup_lapse_clock_behind_seconds",  # lapse clock behind
        "followup_weekly_summaries_overdue",  # summary not sent
    ):
        assert series in watched, series


def test_the_dashboard_is_grafana_json_over_exported_series_only() -> None:
    assert DASHBOARD["uid"] == "followup"
    assert {"datasource"} == {v["name"] for v in DASHBOARD["templating"]["list"]}
    expressions = dashboard_expressions()
    assert expressions
    series = exported()
    for expression in expressions:
        assert named_series(expression), expression
        assert named_series(expression) <= series, expression
    ids = [panel["id"] for panel in DASHBOARD["panels"]]
    assert len(ids) == len(set(ids))
    shown = set().union(*(named_series(e) for e in expressions))
    for histogram in HISTOGRAMS:
        assert f"{histogram.name}_bucket" in shown, histogram.name
    assert set(GAUGES) <= shown


# --- promtool -----------------------------------------------------------------------------


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool is missing: .ci/promtool installs it (Debian's prometheus)")
        pytest.skip("promtool is not installed: `make promtool` (Debian's prometheus)")
    return found


def run_promtool(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        [promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, f"promtool {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_promtool_checks_the_rules() -> None:
    said = run_promtool("check", "rules", "alerts.yml", cwd=DEPLOY / "prometheus")
    assert f"SUCCESS: {len(alert_rules())} rules found" in said


def test_promtool_unit_tests_of_the_alerts_pass() -> None:
    said = run_promtool("test", "rules", "alerts.test.yml", cwd=DEPLOY / "prometheus")
    assert "SUCCESS" in said


def test_every_alert_has_a_promtool_case() -> None:
    cases = (DEPLOY / "prometheus" / "alerts.test.yml").read_text()
    untested = [r["alert"] for r in alert_rules() if f"alertname: {r['alert']}\n" not in cases]
    # The latency alerts beyond these two share their form with FollowupHttpSlow.
    assert set(untested) <= {"FollowupStreamLagGrowing", "FollowupEntryStuck",
                             "FollowupDeadLettersUnresolved", "FollowupBatchesSlow"}  # fmt: skip


def test_promtool_checks_the_scrape_config_and_its_rule_files(tmp_path: Path) -> None:
    # As compose.yaml mounts it, with the token file it expects in place.
    config = (DEPLOY / "prometheus" / "prometheus.yml").read_text()
    assert "credentials_file: /etc/prometheus/followup.token" in config
    (tmp_path / "followup.token").write_text("token\n")
    shutil.copy(DEPLOY / "prometheus" / "alerts.yml", tmp_path)
    here = config.replace("/etc/prometheus/", f"{tmp_path}/")
    (tmp_path / "prometheus.yml").write_text(here)
    said = run_promtool("check", "config", "prometheus.yml", cwd=tmp_path)
    assert "SUCCESS" in said and "rules found" in said


def test_promtool_parses_every_dashboard_query(tmp_path: Path) -> None:
    # Each query as a recording rule: promtool parses its PromQL.
    rules = [
        {"record": f"followup_dashboard:query_{n}", "expr": e.replace("$__rate_interval", "5m")}
        for n, e in enumerate(dashboard_expressions())
    ]
    (tmp_path / "queries.yml").write_text(
        yaml.safe_dump({"groups": [{"name": "q", "rules": rules}]})
    )
    said = run_promtool("check", "rules", "queries.yml", cwd=tmp_path)
    assert f"SUCCESS: {len(rules)} rules found" in said


# --- compose.yaml, the Dockerfile and the README --------------------------------------------


def compose_section() -> str:
    start = README.index("## Running with Docker Compose")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def readme_compose_commands() -> list[str]:
    return [
        line.split("#", 1)[0].strip()
        for line in compose_section().splitlines()
        if line.startswith("docker compose")
    ]


def test_the_services_the_readme_names_are_in_compose() -> None:
    commands = readme_compose_commands()
    assert any(c.startswith("docker compose up") for c in commands)
    for command in commands:
        words = command.split()
        profiles = [words[i + 1] for i, w in enumerate(words) if w == "--profile"]
        for profile in profiles:
            assert any(profile in s.get("profiles", []) for s in SERVICES.values()), command
        for verb in ("exec", "run", "logs", "restart", "stop", "start"):
            if verb in words:
                rest = [w for w in words[words.index(verb) + 1 :] if not w.startswith("-")]
                assert rest and rest[0] in SERVICES, command


def test_the_followup_commands_the_readme_runs_in_compose_exist() -> None:
    known = {c.name or (c.callback.__name__ if c.callback else "") for c in cli.registered_commands}
    known |= {g.name for g in cli.registered_groups if g.name}
    for command in readme_compose_commands():
        words = command.split()
        for i, word in enumerate(words[:-1]):
            if word == "followup" and i > 0 and words[i - 1] == "followup":
                assert words[i + 1] in known, command


def test_the_ports_published_are_the_settings_defaults_and_the_readme_addresses() -> None:
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    followup = SERVICES["followup"]
    assert f"127.0.0.1:{defaults.http_port}:{defaults.http_port}" in followup["ports"]
    assert followup["environment"]["FOLLOWUP_HTTP_PORT"] == str(defaults.http_port)
    published = {
        int(port.split(":")[-2])
        for service in SERVICES.values()
        for port in service.get("ports", [])
    }
    addresses = {int(p) for p in re.findall(r"http://localhost:(\d+)", compose_section())}
    assert addresses, "the README names no address to open"
    assert addresses <= published
    assert {defaults.http_port, 8025} <= addresses  # the service, and Mailpit's web page
    public = followup["environment"]["FOLLOWUP_PUBLIC_URL"]
    assert public == f"http://localhost:{defaults.http_port}"


def test_every_followup_variable_in_compose_is_a_setting() -> None:
    fields = {f"FOLLOWUP_{name.upper()}" for name in Settings.model_fields}
    for name, service in SERVICES.items():
        for variable in service.get("environment", {}):
            if variable.startswith("FOLLOWUP_"):
                assert variable in fields, f"{name}: {variable} is no setting"
    for variable in re.findall(r"\b(FOLLOWUP_[A-Z_]+)=", DOCKERFILE):
        assert variable in fields, f"Dockerfile: {variable} is no setting"
    environment = {k: str(v) for k, v in SERVICES["followup"]["environment"].items()}
    settings = Settings(_env_file=None, **{  # type: ignore[arg-type]
        k.removeprefix("FOLLOWUP_").lower(): v for k, v in environment.items()
    })  # fmt: skip
    assert settings.smtp_host == "mailpit"
    assert settings.smtp_port in _container_ports(SERVICES["mailpit"]) | {1025}


def _container_ports(service: dict[str, Any]) -> set[int]:
    return {int(str(p).split(":")[-1]) for p in service.get("ports", [])}


def routes() -> set[str]:
    api = build_api(
        runtime=cast(Any, None),
        redis=cast(Any, None),
        today=date.today,
        settings=Settings(_env_file=None),  # type: ignore[call-arg]
    )
    return {route.path for route in api.routes if hasattr(route, "path")}


def test_the_health_checks_ask_real_probe_routes() -> None:
    known = routes()
    assert set(PROBES) <= known
    test = SERVICES["followup"]["healthcheck"]["test"]
    assert test[:4] == ["CMD", "python", "-m", PROBE_MODULE]
    assert test[4] in PROBES
    healthcheck = re.search(r"HEALTHCHECK .*?CMD (\[.*?\])", DOCKERFILE, re.S)
    assert healthcheck is not None
    command = json.loads(healthcheck.group(1))
    assert command[:3] == ["python", "-m", PROBE_MODULE] and command[3] in PROBES


def test_every_service_restarts_but_the_migrations_which_go_first() -> None:
    for name, service in SERVICES.items():
        expected = "no" if name == "migrate" else "unless-stopped"
        assert service.get("restart") == expected, name
        if name not in ("migrate", "prometheus", "grafana"):
            assert "healthcheck" in service, name
    assert SERVICES["migrate"]["command"] == ["migrate"]
    needs = SERVICES["followup"]["depends_on"]
    assert needs["migrate"] == {"condition": "service_completed_successfully"}
    assert {needs[s]["condition"] for s in ("redis", "postgres", "mailpit")} == {"service_healthy"}
    assert (
        SERVICES["migrate"]["environment"]["FOLLOWUP_DATABASE_URL"]
        == (SERVICES["followup"]["environment"]["FOLLOWUP_DATABASE_URL"])
    )


def test_every_volume_is_named_and_declared() -> None:
    declared = set(COMPOSE["volumes"])
    used = set()
    for service in SERVICES.values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith("."):
                used.add(source)
            else:
                assert (ROOT / source).exists(), volume  # a file of the checkout mounted
    assert used == declared


def test_the_image_runs_as_its_own_user_with_pinned_versions_and_its_data() -> None:
    users = re.findall(r"^USER (\S+)", DOCKERFILE, re.M)
    assert users and users[-1] not in ("root", "0")
    assert "-c /tmp/constraints.txt" in DOCKERFILE
    assert "COPY constraints.txt" in DOCKERFILE
    assert "ENV" in DOCKERFILE and "FOLLOWUP_DATA_DIR=/data" in DOCKERFILE
    # Installed from the wheel, whose package data (seed inspections among it) is checked by
    # tests/unit/test_package_data.py and tests/e2e/test_wheel.py.
    assert "pip wheel" in DOCKERFILE
