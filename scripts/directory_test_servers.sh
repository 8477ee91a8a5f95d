#!/usr/bin/env bash
# `make test`, directory sign-in: what the LDAP and OpenID Connect tests need to start their own real servers
# (tests/directory_servers.py starts and stops them): OpenLDAP's slapd and ldap-utils from Debian, and the
# OpenID provider pinned in tests/oidc/package.json, installed with Node.js and npm. Anything that cannot be
# installed fails the run here, saying so: those tests are never skipped.
set -uo pipefail
cd "$(dirname "$0")/.."

fail() { echo "make test (directory sign-in): $*" >&2; exit 2; }

if [ ! -x /usr/sbin/slapd ] || ! command -v ldapadd >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "Installing Debian's slapd and ldap-utils for the LDAP sign-in tests..."
    # Non-interactive, and without the packaged daemon: the tests run their own slapd on a loopback port.
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq slapd ldap-utils >/dev/null) \
      || fail "could not install slapd and ldap-utils with apt-get; install them and rerun."
  else
    fail "OpenLDAP is not installed: run 'sudo apt-get install slapd ldap-utils' and rerun."
  fi
fi

command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 \
  || fail "Node.js and npm are needed for the test OpenID provider: install them (apt-get install nodejs npm) and rerun."
if [ ! -d tests/oidc/node_modules/oidc-provider ] || [ tests/oidc/package-lock.json -nt tests/oidc/node_modules/.package-lock.json ]; then
  echo "Installing the test OpenID provider (tests/oidc, npm ci)..."
  (cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error >/dev/null) \
    || fail "npm ci in tests/oidc failed: the OpenID Connect tests need the provider it installs."
fi
