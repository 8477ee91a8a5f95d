"""Real directory servers for the sign-in tests, started here and stopped at the end of the run:

- OpenLDAP's slapd (Debian's package), as a child process on loopback ports, from a config directory made in
  a temp dir: plain LDAP (for StartTLS) and LDAPS, with a certificate signed by a CA made for the run; its
  content is tests/ldap/directory.ldif (people, groups, one account the directory has locked), loaded anew
  for each test.
- A real OpenID provider (panva/oidc-provider, pinned in tests/oidc/package.json and installed by
  scripts/test.sh), run with Node on a loopback port: a test client and users with group claims.

A server that cannot start fails the tests that need it, saying why: never a skip."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
LDIF = HERE / "ldap" / "directory.ldif"
OIDC_DIR = HERE / "oidc"
SLAPD = os.environ.get("SLAPD", "/usr/sbin/slapd")
SUFFIX = "dc=hospital,dc=test"
ROOT_DN, ROOT_PASSWORD = f"cn=admin,{SUFFIX}", "admin-pass-1"
SERVICE_DN, SERVICE_PASSWORD = f"cn=svc-dispatch,ou=people,{SUFFIX}", "service-pass-1"
OIDC_CLIENT_ID, OIDC_CLIENT_SECRET = "dispatch", "dispatch-test-secret"
# The Flask test client's own address: where the provider sends the browser back.
OIDC_REDIRECT_URI = "http://localhost/login/oidc/callback"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, what: str, log: Path, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{what} exited at start (code {process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    process.kill()
    pytest.fail(f"{what} did not listen on 127.0.0.1:{port} within {seconds:g} s:\n{log.read_text()[-3000:]}")


def _run(*command: str, cwd: Path | None = None) -> None:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed ({done.returncode}): {done.stderr or done.stdout}")


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA made for this run, and the directory server's certificate signed by it (127.0.0.1 and localhost)."""
    ca_key, ca_cert = folder / "ca.key", folder / "ca.pem"
    key, request, cert = folder / "server.key", folder / "server.csr", folder / "server.pem"
    _run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Dispatch test CA",
         "-keyout", str(ca_key), "-out", str(ca_cert))
    _run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", str(key),
         "-out", str(request))
    extensions = folder / "san.cnf"
    extensions.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    _run("openssl", "x509", "-req", "-in", str(request), "-CA", str(ca_cert), "-CAkey", str(ca_key),
         "-CAcreateserial", "-days", "2", "-extfile", str(extensions), "-out", str(cert))
    key.chmod(0o600)
    return ca_cert, cert, key


@dataclass
class Slapd:
    port: int  # plain LDAP: StartTLS, or in clear where allowed
    tls_port: int  # LDAPS
    ca_file: Path
    folder: Path

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.tls_port}"

    def settings(self, **overrides) -> dict:
        """The app's settings for this directory, by StartTLS unless overridden."""
        return {"LDAP_URL": self.url, "LDAP_START_TLS": True, "LDAP_CA_FILE": str(self.ca_file),
                "LDAP_BIND_DN": SERVICE_DN, "LDAP_BIND_PASSWORD": SERVICE_PASSWORD,
                "LDAP_USER_BASE": f"ou=people,{SUFFIX}", "LDAP_GROUP_BASE": f"ou=groups,{SUFFIX}",
                # OpenLDAP's ppolicy lock, where Active Directory would use its userAccountControl bit.
                "LDAP_DISABLED_FILTER": "(pwdAccountLockedTime=*)", **overrides}

    def admin(self, *arguments: str, stdin: str | None = None) -> None:
        """ldapmodify / ldapdelete as the directory's root, as the hospital's IT would change the directory."""
        command = [arguments[0], "-x", "-H", self.url, "-D", ROOT_DN, "-w", ROOT_PASSWORD, *arguments[1:]]
        done = subprocess.run(command, input=stdin, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr

    def reset(self) -> None:
        found = subprocess.run(["ldapsearch", "-x", "-H", self.url, "-D", ROOT_DN, "-w", ROOT_PASSWORD, "-s", "base",
                                "-b", SUFFIX, "1.1"], capture_output=True, text=True)
        if found.returncode == 0:  # (slapd 2.5's memberof overlay falls over deleting what is not there)
            self.admin("ldapdelete", "-r", SUFFIX)
        self.admin("ldapadd", "-f", str(LDIF))

    def disable(self, uid: str) -> None:
        self.admin("ldapmodify", stdin=f"dn: uid={uid},ou=people,{SUFFIX}\nchangetype: modify\n"
                                       "add: pwdAccountLockedTime\npwdAccountLockedTime: 000001010000Z\n")

    def remove(self, uid: str) -> None:
        self.admin("ldapdelete", f"uid={uid},ou=people,{SUFFIX}")

    def move_to_group(self, uid: str, old: str, new: str) -> None:
        dn = f"uid={uid},ou=people,{SUFFIX}"
        self.admin("ldapmodify", stdin=(
            f"dn: cn={old},ou=groups,{SUFFIX}\nchangetype: modify\ndelete: member\nmember: {dn}\n\n"
            f"dn: cn={new},ou=groups,{SUFFIX}\nchangetype: modify\nadd: member\nmember: {dn}\n"))


SLAPD_CONF = """\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
moduleload ppolicy
pidfile {folder}/slapd.pid
TLSCACertificateFile {ca}
TLSCertificateFile {cert}
TLSCertificateKeyFile {key}
# Only the service account and people themselves read the directory; passwords only serve to bind.
access to attrs=userPassword by self auth by anonymous auth by * none
access to * by users read by * none
database mdb
suffix "{suffix}"
rootdn "{root_dn}"
rootpw {root_password}
directory {folder}/data
overlay memberof
"""


@pytest.fixture(scope="session")
def slapd_server(tmp_path_factory):
    if not os.path.exists(SLAPD) or not shutil.which("ldapadd"):
        pytest.fail("OpenLDAP is not installed (slapd, ldap-utils): `make test` installs them with apt-get; "
                    "or run `apt-get install slapd ldap-utils`.")
    folder = tmp_path_factory.mktemp("slapd")
    (folder / "data").mkdir()
    ca, cert, key = make_certificates(folder)
    (folder / "slapd.conf").write_text(SLAPD_CONF.format(folder=folder, ca=ca, cert=cert, key=key, suffix=SUFFIX,
                                                         root_dn=ROOT_DN, root_password=ROOT_PASSWORD))
    port, tls_port = free_port(), free_port()
    log = folder / "slapd.log"
    with open(log, "w") as out:
        # -d 0: stays in the foreground as our child, and stops with us.
        process = subprocess.Popen([SLAPD, "-d", "0", "-f", str(folder / "slapd.conf"),
                                    "-h", f"ldap://127.0.0.1:{port}/ ldaps://127.0.0.1:{tls_port}/"],
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, process, "slapd", log)
        _wait_for_port(tls_port, process, "slapd (LDAPS)", log)
        yield Slapd(port=port, tls_port=tls_port, ca_file=ca, folder=folder)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def directory(slapd_server):
    """The test directory as tests/ldap/directory.ldif has it, whatever the last test changed."""
    slapd_server.reset()
    return slapd_server


@dataclass
class OidcProvider:
    issuer: str

    def settings(self, **overrides) -> dict:
        return {"OIDC_ISSUER": self.issuer, "OIDC_CLIENT_ID": OIDC_CLIENT_ID, "OIDC_CLIENT_SECRET": OIDC_CLIENT_SECRET,
                "OIDC_REDIRECT_URI": OIDC_REDIRECT_URI, **overrides}


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory):
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is not installed: the OpenID provider of the tests runs on it "
                    "(apt-get install nodejs npm).")
    if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("The test OpenID provider is not installed: `make test` runs `npm ci` in tests/oidc; "
                    "or run it yourself.")
    port = free_port()
    log = tmp_path_factory.mktemp("oidc") / "provider.log"
    with open(log, "w") as out:
        process = subprocess.Popen([node, str(OIDC_DIR / "provider.mjs"), str(port), OIDC_REDIRECT_URI],
                                   cwd=OIDC_DIR, stdout=out, stderr=subprocess.STDOUT,
                                   env={**os.environ, "OIDC_TEST_CLIENT_ID": OIDC_CLIENT_ID,
                                        "OIDC_TEST_CLIENT_SECRET": OIDC_CLIENT_SECRET})
    try:
        _wait_for_port(port, process, "the OpenID provider (node tests/oidc/provider.mjs)", log)
        yield OidcProvider(issuer=f"http://127.0.0.1:{port}")
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
