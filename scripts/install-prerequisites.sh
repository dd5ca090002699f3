#!/usr/bin/env bash
# Installs what the tests and the demo need besides npm packages: a PostgreSQL server and client,
# GnuPG and zstd. Debian/Ubuntu; installs only what is missing. Run as root (or with sudo).
set -euo pipefail
missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
command -v gpg >/dev/null 2>&1 || missing+=(gnupg)
command -v zstd >/dev/null 2>&1 || missing+=(zstd)
if [ ${#missing[@]} -eq 0 ]; then
  echo "prerequisites: all present"
  exit 0
fi
echo "prerequisites: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
