"""environment.yml (conda users) installs exactly what uv.lock pins."""

import re
import tomllib

import yaml

from credit_scoring import paths

PIN = re.compile(r"^(?P<name>[A-Za-z0-9_.\-]+)==(?P<version>[^ ;]+)")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _locked() -> dict[str, str]:
    lock = tomllib.loads((paths.ROOT / "uv.lock").read_text(encoding="utf-8"))
    return {
        _normalise(p["name"]): p["version"]
        for p in lock["package"]
        if p.get("source", {}).get("editable") != "."
    }


def _conda_pip_pins() -> dict[str, str]:
    env = yaml.safe_load((paths.ROOT / "environment.yml").read_text(encoding="utf-8"))
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    pins = {}
    for line in pip_section:
        match = PIN.match(line)
        if match:
            pins[_normalise(match["name"])] = match["version"]
    return pins


def test_environment_yml_pins_the_same_packages_as_the_lock():
    assert _conda_pip_pins() == _locked()


def test_environment_yml_brings_python_311_and_quarto():
    env = yaml.safe_load((paths.ROOT / "environment.yml").read_text(encoding="utf-8"))
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    assert "python=3.11" in conda
    assert "quarto" in conda
