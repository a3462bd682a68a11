#!/usr/bin/env bash
# Installs what Courier's tests and demo need on Debian: MediaWiki 1.39
# with SQLite, and PHP's command line with the extensions MediaWiki uses.
# It does nothing when everything is there already.
set -euo pipefail

packages=(mediawiki php-sqlite3 php-cli php-intl php-mbstring php-xml php-apcu)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
