#!/usr/bin/env bash
# Installs what the tests, the demo and docs/runbook.md need besides npm packages: a PostgreSQL server
# and client, GnuPG, zstd, jq, openssl and the distribution's aws CLI (`awscli`, /usr/bin/aws: the
# runbook's test runs that one, not whichever `aws` comes first on PATH). Debian/Ubuntu; installs only
# what is missing. Run it as root, or as a user who may sudo (apt-get then runs through sudo). Also checks that Node.js is 20 or newer, which `npm ci` needs.
set -euo pipefail

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "prerequisites: Node.js 20 or newer is needed (found: $(node --version 2>/dev/null || echo none))." >&2
  echo "  Install it from https://nodejs.org/en/download (or your distribution's nodejs 20+ package, nvm, fnm)," >&2
  echo "  then run this script again." >&2
  exit 1
fi

missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
command -v gpg >/dev/null 2>&1 || missing+=(gnupg)
command -v zstd >/dev/null 2>&1 || missing+=(zstd)
command -v jq >/dev/null 2>&1 || missing+=(jq)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
[ -x /usr/bin/aws ] || missing+=(awscli)
if [ ${#missing[@]} -eq 0 ]; then
  echo "prerequisites: all present (Node.js $(node --version))"
  exit 0
fi

# root needs no sudo (a root Debian box often has none); anyone else needs it to run apt-get.
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "prerequisites: missing ${missing[*]}, and installing them needs root: run this script as root," >&2
  echo "  or install sudo, or install the packages yourself: apt-get install ${missing[*]}" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "prerequisites: missing ${missing[*]}, and this is not a Debian/Ubuntu system (no apt-get):" >&2
  echo "  install a PostgreSQL server and client, GnuPG, zstd, jq, openssl and the aws CLI with your package manager." >&2
  exit 1
fi
echo "prerequisites: installing ${missing[*]}"
${as_root[@]+"${as_root[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# Ubuntu 24.04 and later no longer package awscli: say where to get it instead of failing the rest.
if [[ " ${missing[*]} " == *" awscli "* ]] && ! apt-cache show awscli >/dev/null 2>&1; then
  echo "prerequisites: this distribution has no awscli package: install the aws CLI v2 from" >&2
  echo "  https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html (runbook test only)" >&2
  missing=("${missing[@]/awscli/}")
  read -r -a missing <<< "${missing[*]}"
  if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
fi
${as_root[@]+"${as_root[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
