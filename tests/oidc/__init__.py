"""A real OpenID provider for the tests: node-oidc-provider run by Node.js (provider.mjs).

``.ci/run`` installs it (``npm ci`` in this folder); without Node.js or the
package the OpenID Connect tests are skipped with a message saying so.
"""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

HERE = Path(__file__).parent
# Generous: only reached when the provider does not start at all.
START_TIMEOUT = 60

# The académie staff the test provider knows, as the federation would describe them.
ACCOUNTS = {
    "jdupont": {
        "email": "jeanne.dupont@ac-orleans-tours.fr",
        "email_verified": True,
        "given_name": "Jeanne",
        "family_name": "Dupont",
        "groups": ["ENSEIGNANTS", "IMAGIN-DEC2"],
        "fr_edu_rne": ["0450782F$UAJ$PU$N$T3$LYC$340", "0451067R$UAJ$PU$N$T3$CLG$340"],
        "fr_edu_rne_resp": [],
        "fr_edu_fonct_adm": "ENS",
        "codaca": "18",
    },
    "cmartin": {
        "email": "claire.martin@example.fr",
        "email_verified": True,
        "given_name": "Claire",
        "family_name": "Martin",
        "groups": ["ENSEIGNANTS"],
        "fr_edu_rne": "0180777C$UAJ$PU$N$T3$CLG$340",
        "fr_edu_fonct_adm": "ENS",
        "codaca": "18",
    },
    "rchef": {
        "email": "robert.chef@ac-orleans-tours.fr",
        "email_verified": True,
        "given_name": "Robert",
        "family_name": "Chef",
        "groups": [],
        "fr_edu_rne": ["0450782F$UAJ$PU$N$T3$LYC$340"],
        "fr_edu_rne_resp": ["0450782F$UAJ$PU$N$T3$LYC$340"],
        "fr_edu_fonct_adm": "DIR",
        "codaca": "18",
    },
    "nonverifie": {
        "email": "paul.durand@example.fr",
        "email_verified": False,
        "given_name": "Paul",
        "family_name": "Durand",
    },
}


@cache
def missing() -> str | None:
    """Why the provider cannot run here, or None."""
    node = shutil.which("node")
    if node is None:
        return "Node.js not found: install Node.js 20+ (the OpenID Connect tests need it)"
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout
    major = version.strip().lstrip("v").split(".")[0]
    if not major.isdigit() or int(major) < 20:
        return f"Node.js {version.strip()} is too old: the test OpenID provider needs 20+"
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        return "oidc-provider not installed: run `npm ci --prefix tests/oidc` (.ci/run does)"
    return None


@dataclass(frozen=True)
class Client:
    client_id: str
    redirect_uri: str
    post_logout_redirect_uri: str
    misbehave: str | None = None
    client_secret: str = "secret-du-client-de-test-imagin"

    def registration(self) -> dict:
        registration = {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "redirect_uris": [self.redirect_uri],
            "post_logout_redirect_uris": [self.post_logout_redirect_uri],
        }
        if self.misbehave:
            registration["misbehave"] = self.misbehave
        return registration


@contextmanager
def running_provider(folder: Path, clients: list[Client]) -> Iterator[str]:
    """Start the provider with these clients; yield its issuer URL; stop it afterwards."""
    config = folder / "provider.json"
    config.write_text(
        json.dumps({"clients": [c.registration() for c in clients], "accounts": ACCOUNTS})
    )
    log = (folder / "provider.log").open("w")
    process = subprocess.Popen(
        ["node", str(HERE / "provider.mjs"), str(config)],
        cwd=HERE,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(process.stdout.readline()), daemon=True).start()
    try:
        try:
            first = lines.get(timeout=START_TIMEOUT)
        except queue.Empty:
            first = ""
        if not first:
            process.kill()
            raise RuntimeError(
                "the test OpenID provider did not start:\n" + (folder / "provider.log").read_text()
            )
        yield json.loads(first)["issuer"]
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stdout.close()
        log.close()
